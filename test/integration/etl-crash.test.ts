import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { uniqueName } from '../helpers/ids.js';
import { groupLag, testKafka, waitFor, withAdmin } from '../helpers/kafka-helpers.js';
import { etlChildEnv } from '../helpers/etl-child.js';
import { exited, queryChdbDir, spawnTs } from '../helpers/processes.js';
import { produceSteadily } from '../helpers/progress-messages.js';
import { testEnv } from '../helpers/test-env.js';

async function committedTotal(brokers: string[], groupId: string, topic: string): Promise<number> {
  return withAdmin(brokers, async (admin) => {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (res?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  });
}

/** Whether the ETL process with this pid logged that its progress consumer started. */
function started(logFile: string, pid: number): boolean {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .some(
      (l) =>
        l.includes(`"pid":${pid},`) && l.includes('"service":"consumer:') && l.includes('"service_started"'),
    );
}

describe('ETL crash recovery', function () {
  this.timeout(240_000);

  it('loses no event when the ETL process is SIGKILLed three times mid-stream and restarted', async () => {
    const env = testEnv();
    const topic = uniqueName('progress');
    const groupId = uniqueName('etl');
    const database = uniqueName('crash');
    const dataDir = join(env.workDir, uniqueName('etl-chdb'));
    const logFile = join(env.workDir, `${groupId}.log`);
    await withAdmin(env.brokers, (admin) =>
      admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
        waitForLeaders: true,
      }),
    );
    const childEnv = etlChildEnv(
      { brokers: env.brokers, topic, groupId, database },
      { CLICKHOUSE_DATA_DIR: dataDir },
    );
    const total = 20_000;
    // ~1,000 events/s for ~20 s: production must outlast three ETL restarts (each loads the
    // engine and rejoins the group), or the third kill point (1,000 rows past the second)
    // may never come. At 6,000/s the stream once ended between the second and third kill.
    const producing = produceSteadily(testKafka(env.brokers), topic, total, 100, 100);

    let etl = spawnTs('cli/etl.ts', childEnv, logFile);
    let lastCommitted = 0;
    for (let kill = 1; kill <= 3; kill++) {
      // Let it make progress, then kill it without warning: no batch finishing, no commit.
      lastCommitted = await waitFor(
        `ETL progress before kill ${kill}`,
        () => committedTotal(env.brokers, groupId, topic),
        (n) => n > lastCommitted + 1000,
        90_000,
        100,
      );
      etl.kill('SIGKILL');
      await exited(etl);
      etl = spawnTs('cli/etl.ts', childEnv, logFile);
    }
    const produced = await producing;
    await waitFor(
      'lag 0',
      () => groupLag(env.brokers, groupId, topic),
      (n) => n === 0,
      120_000,
      250,
    );
    // The last ETL may have restarted after the work was done: stop it only once it runs
    // (a SIGTERM during module loading, before its handlers exist, is not a graceful stop).
    await waitFor(
      'the last ETL running',
      async () => started(logFile, etl.pid!),
      (ok) => ok,
      60_000,
      100,
    );
    etl.kill('SIGTERM');
    expect(await exited(etl), 'graceful exit code').to.equal(0);

    const [stats] = queryChdbDir<{ rows: string; distinct_ids: string }>(
      dataDir,
      `SELECT count() AS rows, uniqExact(event_id) AS distinct_ids FROM ${database}.progress_events`,
    );
    const rows = Number(stats!.rows);
    const distinct = Number(stats!.distinct_ids);
    console.log(
      `      produced ${produced.length}, rows ${rows}, distinct ${distinct}, duplicates ${rows - distinct}`,
    );
    expect(distinct, 'every produced event is stored').to.equal(produced.length);
    expect(rows, 'and stored once (plain count, no FINAL)').to.equal(produced.length);
  });
});
