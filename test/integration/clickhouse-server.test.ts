import { join } from 'node:path';
import { expect } from 'chai';
import { ClickHouseServer } from '../helpers/clickhouse-server.js';
import { uniqueName } from '../helpers/ids.js';
import { groupLag, testKafka, waitFor, withAdmin } from '../helpers/kafka-helpers.js';
import {
  createOldServerTables,
  etlChildEnv,
  failedClickHouseSteps,
  oldServerEnv,
  storedCounts,
} from '../helpers/etl-child.js';
import { exited, spawnTs } from '../helpers/processes.js';
import { produceSteadily } from '../helpers/progress-messages.js';
import { testEnv } from '../helpers/test-env.js';
import { readFileSync } from 'node:fs';

/**
 * The @clickhouse/client path against a real server process. Debian ships only
 * clickhouse-server 18.16, far older than production, so this test creates its own table
 * in types 18.16 understands (times as String, no insert_deduplication_token); the
 * production schema is verified on the embedded engine.
 */
describe('ETL against a real ClickHouse server process', function () {
  this.timeout(240_000);
  let server: ClickHouseServer;

  before(async () => {
    server = new ClickHouseServer(join(testEnv().workDir, uniqueName('ch-server')));
    await server.start();
  });
  after(async () => {
    await server.kill('SIGTERM');
  });

  it('loses nothing when the server is killed and restarted during ingestion', async () => {
    const env = testEnv();
    const topic = uniqueName('progress');
    const groupId = uniqueName('etl');
    const database = uniqueName('srv');
    const logFile = join(env.workDir, `${groupId}.log`);
    await createOldServerTables(server, database);
    await withAdmin(env.brokers, (admin) =>
      admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
        waitForLeaders: true,
      }),
    );
    const etl = spawnTs(
      'cli/etl.ts',
      etlChildEnv({ brokers: env.brokers, topic, groupId, database }, oldServerEnv(server)),
      logFile,
    );
    // A failure must not leave the ETL child running: it would hold mocha open until the
    // CI's own time limit.
    try {
      // ~1,000 events/s for ~15 s: the stream must still be flowing when the server dies, or
      // no insert fails during the outage (a CI run drained all 15,000 before the kill).
      const producing = produceSteadily(testKafka(env.brokers), topic, 15_000, 100, 100);
      const count = async () => Number(await server.query(`SELECT count() FROM ${database}.progress_events`));
      await waitFor('first rows', count, (n) => n >= 2000, 60_000);

      await server.kill('SIGKILL');
      const lagBefore = await groupLag(env.brokers, groupId, topic);
      // Any ClickHouse call the ETL makes: the outage may catch a reload of the erased list or
      // a dedup window, whose retries can outlast it before any insert runs (a CI run waited
      // 60 s for an insert that never came).
      const failedCalls = () =>
        [...failedClickHouseSteps(readFileSync(logFile, 'utf8')).values()].reduce((a, b) => a + b, 0);
      // The server stays down until the ETL has really hit it: calls fail and are retried.
      await waitFor(
        'a failed ClickHouse call during the outage',
        async () => failedCalls(),
        (n) => n > 0,
        60_000,
        100,
      );
      // The ETL keeps failing and retrying (two more attempts), and meanwhile offsets must
      // not move while the server is down.
      const failedBefore = failedCalls();
      await waitFor(
        'two more failed ClickHouse calls during the outage',
        async () => failedCalls(),
        (n) => n >= failedBefore + 2,
        60_000,
        100,
      );
      const lagDuring = await groupLag(env.brokers, groupId, topic);
      expect(lagDuring, 'lag grows while ClickHouse is down').to.be.greaterThan(lagBefore);
      expect(etl.exitCode, 'ETL still running').to.equal(null);
      await server.start();

      const produced = await producing;
      await waitFor(
        'lag 0',
        () => groupLag(env.brokers, groupId, topic),
        (n) => n === 0,
        120_000,
        250,
      );
      etl.kill('SIGTERM');
      expect(await exited(etl)).to.equal(0);

      const { rows, distinct } = await storedCounts(server, `${database}.progress_events`);
      console.log(`      produced ${produced.length}, rows ${rows}, distinct ${distinct}`);
      expect(distinct, 'every produced event is stored').to.equal(produced.length);
      expect(rows, 'and stored once (plain count)').to.equal(produced.length);
      expect(failedCalls(), 'ClickHouse calls failed and were retried during the outage').to.be.greaterThan(
        0,
      );
    } finally {
      if (etl.exitCode === null && etl.signalCode === null) {
        etl.kill('SIGKILL');
        await exited(etl);
      }
    }
  });
});
