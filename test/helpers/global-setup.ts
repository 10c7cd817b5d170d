import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse } from '../../lib/clickhouse/client.js';
import { LocalKafka } from '../../lib/runtime/local-kafka.js';
import { findFreePortBlock } from '../../lib/runtime/ports.js';
import { setTestEnv, testEnv } from './test-env.js';

/**
 * Mocha root hooks for the integration tier: one real Kafka broker (KRaft, from the Maven
 * jars) and one embedded ClickHouse engine per run. Tests isolate themselves with random
 * topic, group and database names.
 */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(180_000);
    // Every broker a test starts (here, in its own cluster, or under `npm start` as a child)
    // lives for seconds to minutes under little load: the JVM's quick compiler alone starts
    // it with a fraction of the CPU, which the parallel shards share.
    process.env.KAFKA_JVM_OPTS ??= '-XX:TieredStopAtLevel=1';
    const workDir = mkdtempSync(join(tmpdir(), 'sa-it-'));
    const kafka = new LocalKafka({
      dir: join(workDir, 'kafka'),
      nodes: 1,
      basePort: await findFreePortBlock(1),
    });
    process.on('exit', () => kafka.killAllSync());
    await kafka.start();
    const chdbDir = join(workDir, 'chdb');
    const clickhouse = await createClickHouse({
      url: undefined,
      user: 'default',
      password: undefined,
      dataDir: chdbDir,
      requestTimeoutMs: 30_000,
    });
    setTestEnv({ kafka, brokers: kafka.brokers, clickhouse, chdbDir, workDir });
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    const env = testEnv();
    await env.clickhouse.close();
    await env.kafka.stop();
    setTestEnv(undefined);
    if (process.env.KEEP_TEST_DATA === undefined) rmSync(env.workDir, { recursive: true, force: true });
  },
};
