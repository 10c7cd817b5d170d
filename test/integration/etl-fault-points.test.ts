import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { readDeadLetters } from '../../etl/src/dead-letter-reader.js';
import { ensureTopics } from '../../lib/kafka/topics.js';
import { FAULT_POINTS, type FaultPoint } from '../../lib/runtime/fault-point.js';
import { ClickHouseServer } from '../helpers/clickhouse-server.js';
import { uniqueName } from '../helpers/ids.js';
import { groupLag, testKafka, waitFor, withAdmin } from '../helpers/kafka-helpers.js';
import { createOldServerTables, etlChildEnv, oldServerEnv, storedCounts } from '../helpers/etl-child.js';
import { exited, queryChdbDir, spawnTs } from '../helpers/processes.js';
import { progressMessage } from '../helpers/progress-messages.js';
import { testEnv } from '../helpers/test-env.js';

/**
 * Exactly once across a crash at each named point of the commit protocol, deterministically:
 * the ETL kills itself there (SA_FAULT_POINT, lib/runtime/fault-point.ts) instead of a kill
 * from outside that may or may not land in the window. One partition, blocks of BLOCK rows,
 * the first block holding a bad message, so the first block reaches every point. After the
 * restart: plain count() == the good events, and the DLQ holds each bad message once.
 * Against the embedded engine (dedup tokens on) and the 18.16 server (no tokens: the
 * reconcile path).
 */
const GOOD = 45;
const BLOCK = 20;
/** Positions of the bad messages among all produced; the first falls in the first block. */
const BAD_AT = [2, 30, GOOD + 1];

function messages(): { good: string[]; bad: string[]; values: { key: string; value: string }[] } {
  const good: string[] = [];
  const bad: string[] = [];
  const values: { key: string; value: string }[] = [];
  for (let i = 0; good.length < GOOD || bad.length < BAD_AT.length; i++) {
    if (BAD_AT.includes(i)) {
      const value = `not json ${uniqueName('bad')}`;
      bad.push(value);
      values.push({ key: 'k', value });
    } else {
      const m = progressMessage();
      good.push(m.event_id);
      values.push({ key: m.viewer_id, value: JSON.stringify(m) });
    }
  }
  return { good, bad, values };
}

async function committed(brokers: string[], groupId: string, topic: string): Promise<number> {
  return withAdmin(brokers, async (admin) => {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (res?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  });
}

/** The DLQ's committed letters (read-committed, from the start). */
async function letters(brokers: string[], dlq: string): Promise<string[]> {
  const values: string[] = [];
  await readDeadLetters(testKafka(brokers), dlq, uniqueName('dlq-reader'), async (ls) => {
    values.push(...ls.map((l) => l.value!.toString()));
  });
  return values;
}

function exitedWithin(proc: ChildProcess, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
    void exited(proc).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Offsets committed when the ETL died at the point: none before the commit, the first block's after. */
function expectCommittedAt(point: FaultPoint, offsets: number, total: number): void {
  if (point === 'etl-after-commit') {
    expect(offsets, 'the first block committed, not the rest').to.be.within(BLOCK, total - 1);
  } else {
    expect(offsets, `nothing committed at ${point}`).to.equal(0);
  }
}

for (const engine of ['embedded', 'server'] as const)
  describe(`ETL killed at each point of the commit protocol (${engine} ClickHouse)`, function () {
    this.timeout(180_000);
    let server: ClickHouseServer | undefined;
    let etl: ChildProcess | undefined;

    before(async function () {
      if (engine !== 'server') return;
      server = new ClickHouseServer(join(testEnv().workDir, uniqueName('ch-points')));
      await server.start();
    });
    // A failed assertion leaves the ETL child running: it would keep the test run alive.
    afterEach(async () => {
      if (etl !== undefined && etl.exitCode === null && etl.signalCode === null) {
        etl.kill('SIGKILL');
        await exited(etl);
      }
    });
    after(async () => {
      await server?.kill('SIGTERM', 20_000);
    });

    for (const point of FAULT_POINTS)
      it(`stores every event once and dead-letters every bad message once after a kill at ${point}`, async () => {
        const env = testEnv();
        const topic = uniqueName('points');
        const groupId = uniqueName('etl');
        const database = uniqueName('points');
        const dataDir = join(env.workDir, uniqueName('points-chdb'));
        const logFile = join(env.workDir, `${groupId}.log`);
        const { good, bad, values } = messages();
        await withAdmin(env.brokers, (admin) =>
          ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]),
        );
        const producer = testKafka(env.brokers).producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        await producer.send({ topic, acks: -1, messages: values });
        await producer.disconnect();
        if (server !== undefined) await createOldServerTables(server, database);
        const childEnv = etlChildEnv(
          { brokers: env.brokers, topic, groupId, database },
          {
            ...(server === undefined ? { CLICKHOUSE_DATA_DIR: dataDir } : oldServerEnv(server)),
            KAFKA_TOPIC_PARTITIONS: '1',
            KAFKA_TOPIC_EXPOSURES: `${topic}-exposures`,
            ETL_EXPOSURES_GROUP_ID: `${groupId}-exposures`,
            ETL_BATCH_MAX_ROWS: String(BLOCK),
            // The transaction a kill leaves open is aborted within seconds, not the default minute.
            KAFKA_DLQ_TRANSACTION_TIMEOUT_MS: '2000',
          },
        );

        etl = spawnTs('cli/etl.ts', { ...childEnv, SA_FAULT_POINT: point }, logFile);
        await exitedWithin(etl, 90_000, `ETL reaching ${point}`);
        expect(etl.signalCode, `the ETL killed itself at ${point}`).to.equal('SIGKILL');
        expectCommittedAt(point, await committed(env.brokers, groupId, topic), values.length);

        etl = spawnTs('cli/etl.ts', childEnv, logFile);
        await waitFor(
          'lag 0',
          () => groupLag(env.brokers, groupId, topic),
          (n) => n === 0,
          90_000,
          250,
        );
        // Letters the restarted ETL wrote become readable once the killed one's transaction is aborted.
        await waitFor(
          'DLQ letters',
          () => letters(env.brokers, `${topic}-dlq`),
          (l) => l.length >= bad.length,
          60_000,
          500,
        );
        etl.kill('SIGTERM');
        expect(await exited(etl), 'graceful exit code').to.equal(0);

        const table = `${database}.progress_events`;
        const { rows, distinct } =
          server === undefined
            ? (([r]) => ({ rows: Number(r!.rows), distinct: Number(r!.distinct_ids) }))(
                queryChdbDir<{ rows: string; distinct_ids: string }>(
                  dataDir,
                  `SELECT count() AS rows, uniqExact(event_id) AS distinct_ids FROM ${table}`,
                ),
              )
            : await storedCounts(server, table);
        expect(distinct, 'every good event stored').to.equal(good.length);
        expect(rows, 'and stored once (plain count, no FINAL)').to.equal(good.length);
        const dlq = await letters(env.brokers, `${topic}-dlq`);
        expect(dlq.length, 'each bad message dead-lettered once').to.equal(bad.length);
        expect(new Set(dlq)).to.deep.equal(new Set(bad));
      });
  });
