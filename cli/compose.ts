import type { Pool } from 'pg';
import { buildApi, type Api } from '../api/src/build-api.js';
import { ResumeProjection } from '../api/src/progress/resume-projection.js';
import { ResumeStore } from '../api/src/progress/resume-store.js';
import { buildEtl, type Etl } from '../etl/src/build-etl.js';
import { createPostgres } from '../lib/db/postgres-services.js';
import { allTopicSpecs } from '../lib/kafka/topic-specs.js';
import { runServices, type Service } from '../lib/lifecycle.js';
import { MetricsServer } from '../lib/metrics/metrics-server.js';
import { createProcessBase, exitOnFatal, exitWhenStopped, type ProcessBase } from '../lib/runtime/process.js';
import { clickhouseService, migrationsStep, topicsStep } from '../lib/runtime/services.js';
import { sqlHttpPlan, sqlHttpService, type SqlHttp } from '../lib/sql-http/service.js';

/**
 * What a process runs: `api` (HTTP → Kafka, reads from a ClickHouse server), `etl`
 * (Kafka → ClickHouse, and the resume projection Kafka → PostgreSQL) or `standalone` (both
 * in one process: the embedded engine binds its data directory to one process, so this is
 * how they share it). The API runs no consumer of the event topics: its CPU goes to
 * accepting events (architecture/adr/0014).
 */
export type ProcessShape = 'api' | 'etl' | 'standalone';

export interface ComposeOptions {
  /** Names the PostgreSQL connections (`application_name`); default: the shape. */
  name?: string;
  /** Run ClickHouse migrations at start. Default: standalone yes, etl ETL_MIGRATE_ON_START, api no. */
  migrate?: boolean;
  /** Close the ClickHouse client at stop. Default yes; no when the caller owns the client. */
  closeClickHouse?: boolean;
  /** Serve the analysts' SQL endpoint (standalone only). Default: as SQL_HTTP_* decide. */
  sqlHttp?: boolean;
}

export interface Composed<S extends ProcessShape = ProcessShape> {
  /** In start order; stopped in reverse. */
  services: Service[];
  api: S extends 'etl' ? undefined : Api;
  etl: S extends 'api' ? undefined : Etl;
  /** PostgreSQL (experiments, segments, the resume read model): the API's, or the projection's. */
  pool: S extends 'etl' ? Pool | undefined : Pool;
  /** The progress topic consumer feeding the resume read model, when RESUME_PROJECTION_ENABLED (etl, standalone). */
  resumeProjection: ResumeProjection | undefined;
  /** The analysts' SQL endpoint, when it runs (embedded engine with a password). */
  sql: SqlHttp | undefined;
}

/**
 * The one place that decides which services each process shape runs, in what order. Stop
 * order is the reverse of start: the consumer finishes its batch and commits, HTTP stops
 * accepting, the producer flushes, PostgreSQL and ClickHouse close last.
 */
export function composeProcess<S extends ProcessShape>(
  shape: S,
  base: ProcessBase,
  opts: ComposeOptions = {},
): Composed<S> {
  const { config, log, kafka, clickhouse, metrics } = base;
  const withApi = shape !== 'etl';
  const withEtl = shape !== 'api';
  const services: Service[] = [];
  if (opts.closeClickHouse ?? true) services.push(clickhouseService(clickhouse));
  // The ETL process has no HTTP app: its own listener serves /metrics.
  if (shape === 'etl')
    services.push(new MetricsServer(metrics.registry, config.etl.metricsHost, config.etl.metricsPort));
  const migrate = opts.migrate ?? (shape === 'standalone' || (shape === 'etl' && config.etl.migrateOnStart));
  if (migrate) services.push(migrationsStep(clickhouse, config, log));
  const withProjection = withEtl && config.resume.projectionEnabled;
  const postgres = withApi || withProjection ? createPostgres(config, opts.name ?? shape, log) : undefined;
  // The ETL shape prepares PostgreSQL inside its projection, in the background: loading
  // ClickHouse must not wait for PostgreSQL (ADR 0011). Its pool still closes last.
  if (postgres !== undefined) services.push(...(withApi ? postgres.services : [postgres.closePool]));
  services.push(topicsStep(kafka, allTopicSpecs(config)));
  // The doors (API, SQL endpoint) before the ETL: they are open as soon as the producer is
  // up. After a crash the ETL's consumer waits out its dead member's session before it
  // rejoins its group; the events the API accepts meanwhile wait in Kafka.
  const api =
    !withApi || postgres === undefined
      ? undefined
      : buildApi(config, { kafka, clickhouse, log, metrics, pool: postgres.pool });
  if (api !== undefined) services.push(...api.services);
  let sql: SqlHttp | undefined;
  if (shape === 'standalone' && (opts.sqlHttp ?? true)) {
    const plan = sqlHttpPlan(config);
    if (plan.on) {
      sql = sqlHttpService(config, plan.password, log);
      services.push(sql.service);
    } else log.info({ reason: plan.why }, 'sql_http_off');
  }
  const etl = withEtl ? buildEtl(config, { kafka, clickhouse, log, metrics }) : undefined;
  if (etl !== undefined) services.push(...etl.services);
  // Started after the ETL, so it stops first and the pool it writes through closes after it.
  let resumeProjection: ResumeProjection | undefined;
  if (withProjection && postgres !== undefined) {
    if (!withApi) metrics.pgPool.watch(postgres.pool); // the API watches its own
    resumeProjection = resumeProjectionOf(base, postgres.pool, withApi ? undefined : postgres.prepare);
  }
  if (resumeProjection !== undefined) services.push(resumeProjection);
  return { services, api, etl, pool: postgres?.pool, resumeProjection, sql } as Composed<S>;
}

/**
 * The resume projection of a consumer process: its own consumer group beside the ETL's
 * (architecture/adr/0011), writing through `pool`.
 */
export function resumeProjectionOf(
  base: ProcessBase,
  pool: Pool,
  prepare?: () => Promise<void>,
): ResumeProjection {
  const { config, kafka, log, metrics } = base;
  return new ResumeProjection(
    {
      kafka,
      store: new ResumeStore(pool, config.resume),
      log,
      metrics,
      ...(prepare === undefined ? {} : { prepare }),
    },
    { ...config.resume, topic: config.topics.progress },
  );
}

/**
 * A process entry point whole: build the base, let `check` refuse a config this shape cannot
 * run (it throws), compose, run until a stop signal, exit.
 */
export function runShape(shape: ProcessShape, check?: (base: ProcessBase) => void): void {
  const main = async () => {
    const base = await createProcessBase(shape);
    check?.(base);
    const { services } = composeProcess(shape, base);
    const { shutdownTimeoutMs, startupTimeoutMs } = base.config.process;
    await runServices(services, base.log, shutdownTimeoutMs, startupTimeoutMs);
  };
  main().then(exitWhenStopped, exitOnFatal);
}
