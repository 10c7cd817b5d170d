import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { uniqueName } from '../helpers/ids.js';
import { groupLag, testKafka, waitFor, withAdmin } from '../helpers/kafka-helpers.js';
import { etlChildEnv } from '../helpers/etl-child.js';
import { findFreePort } from '../../lib/runtime/ports.js';
import { dropDatabase, testDatabaseUrl, testPostgresServer } from '../helpers/postgres.js';
import { exited, queryChdbDir, spawnTs } from '../helpers/processes.js';
import { produceSteadily } from '../helpers/progress-messages.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { testEnv } from '../helpers/test-env.js';

/**
 * The ETL process runs the resume projection beside its loader (ADR 0011, 0014). The loader
 * must not depend on PostgreSQL: an ETL started while PostgreSQL is unreachable stores
 * every event in ClickHouse, and its projection catches up once PostgreSQL is back.
 */
describe('ETL process while PostgreSQL is unreachable', function () {
  this.timeout(240_000);

  it('loads ClickHouse at once, and the resume projection catches up once PostgreSQL is back', async () => {
    const env = testEnv();
    const topic = uniqueName('progress');
    const groupId = uniqueName('etl');
    const resumeGroup = uniqueName('resume');
    const database = uniqueName('nopg');
    const dataDir = join(env.workDir, uniqueName('etl-chdb'));
    const logFile = join(env.workDir, `${groupId}.log`);
    const server = testPostgresServer();
    // PostgreSQL behind a proxy that refuses connections until the test restores it.
    const proxy = new TcpProxy(server.hostname, Number(server.port || 5432));
    const port = await proxy.start();
    await proxy.cut();
    const direct = testDatabaseUrl(uniqueName('sa_nopg'));
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${port}`;
    await withAdmin(env.brokers, (admin) =>
      admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
        waitForLeaders: true,
      }),
    );
    const metricsPort = await findFreePort();
    /** The ETL's resume_projection_running, as Prometheus scrapes it (undefined: no series). */
    const running = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('resume_projection_running{'));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    const etl = spawnTs(
      'cli/etl.ts',
      etlChildEnv(
        { brokers: env.brokers, topic, groupId, database },
        {
          CLICKHOUSE_DATA_DIR: dataDir,
          RESUME_PROJECTION_ENABLED: 'true',
          RESUME_PROJECTION_GROUP_ID: resumeGroup,
          RESUME_PROJECTION_RETRY_INITIAL_MS: '100',
          RESUME_PROJECTION_RETRY_MAX_MS: '500',
          POSTGRES_URL: viaProxy.toString(),
          ETL_METRICS_PORT: String(metricsPort),
        },
      ),
      logFile,
    );
    try {
      const produced = await produceSteadily(testKafka(env.brokers), topic, 600, 100, 50);
      await waitFor(
        'the loader committed every event',
        () => groupLag(env.brokers, groupId, topic),
        (n) => n === 0,
        90_000,
        200,
      );
      expect(readFileSync(logFile, 'utf8'), 'the projection kept trying').to.include(
        'resume_projection_start_failed',
      );
      expect(
        await groupLag(env.brokers, resumeGroup, topic).catch(() => -1),
        'nothing projected yet',
      ).to.not.equal(0);
      expect(await running(), 'what ResumeProjectionNotRunning reads').to.equal(0);

      await proxy.restore();
      await waitFor(
        'the projection caught up',
        () => groupLag(env.brokers, resumeGroup, topic),
        (n) => n === 0,
        90_000,
        200,
      );
      expect(await running()).to.equal(1);
      const db = new pg.Client({ connectionString: direct });
      await db.connect();
      try {
        const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM progress_resume');
        expect(Number(rows[0]!.n), 'one position per event (each its own viewer and film)').to.equal(
          produced.length,
        );
      } finally {
        await db.end();
      }
      etl.kill('SIGTERM');
      expect(await exited(etl), 'graceful exit code').to.equal(0);
      const [stats] = queryChdbDir<{ rows: string }>(
        dataDir,
        `SELECT count() AS rows FROM ${database}.progress_events`,
      );
      expect(Number(stats!.rows), 'every event stored once').to.equal(produced.length);
    } finally {
      if (etl.exitCode === null) {
        etl.kill('SIGKILL');
        await exited(etl);
      }
      await proxy.stop();
      await dropDatabase(direct);
    }
  });
});
