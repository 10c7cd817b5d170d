import type { ClickHouseClient } from '@clickhouse/client';
import type Koa from 'koa';
import { routesOf } from './http/routes-of.js';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../lib/config/config.js';
import { warnOnUnboundSecret } from '../../lib/config/jwt-binding.js';
import { kafkaClientOptions } from '../../lib/kafka/client.js';
import type { Logger } from '../../lib/log.js';
import { deviceRetention } from './experiments/device-retention.js';
import { DeviceSeenWriter } from './experiments/device-seen.js';
import { createApp } from './app.js';
import type { Route } from './http/route.js';
import { createJwtVerifier } from './auth/jwt-verifier.js';
import { cachedVerifier } from './auth/verified-token-cache.js';
import { healthRoutes } from './health/health.routes.js';
import { HttpServer } from './http-server.js';
import { KafkaPublisher } from './ingest/kafka-publisher.js';
import { KafkajsTransport } from './ingest/kafkajs-transport.js';
import { PlatformaticTransport } from './ingest/platformatic-transport.js';
import { resumeRetention } from './progress/resume-retention.js';
import { ResumeStore } from './progress/resume-store.js';
import { progressRoutes } from './progress/progress.routes.js';
import { metricsRoutes } from './health/metrics.routes.js';
import { openApiRoutes } from './openapi/openapi.routes.js';
import type { Metrics } from '../../lib/metrics/registry.js';
import { eventsRoutes } from './events/events.routes.js';
import { EventStatusService } from './events/event-status.js';
import { KafkaTail } from './events/kafka-tail.js';
import { statusRoutes } from './events/status.routes.js';
import { ClickHouseEraser } from './erasure/clickhouse-eraser.js';
import { ErasureBacklog } from './erasure/erasure-backlog.js';
import { ErasedViewers, erasuresTable } from './erasure/erased-viewers.js';
import { periodicService } from '../../lib/runtime/periodic.js';
import { ErasureRunner } from './erasure/erasure-runner.js';
import { ErasureStore } from './erasure/erasure-store.js';
import { erasureRoutes } from './erasure/erasure.routes.js';
import { viewerTables } from '../../lib/contracts/tables.js';
import { progressStream } from '../../lib/contracts/progress.js';
import { userEventStream } from '../../lib/contracts/user-event.js';
import type { Pool } from 'pg';
import { adminExperimentRoutes } from './experiments/admin.routes.js';
import { AssignmentService } from './experiments/assignment-service.js';
import { ClickHouseCompletionReader } from './experiments/completion-reader.js';
import { deviceExperimentRoutes } from './experiments/device.routes.js';
import { ExperimentStore } from './experiments/experiment-store.js';
import { ExposureEmitter } from './experiments/exposures.js';
import { RunningExperiments } from './experiments/running-experiments.js';
import { StatsService } from './experiments/stats-service.js';
import { statsRoutes } from './experiments/stats.routes.js';
import { StatsSessions } from './experiments/stats-session.js';
import { SegmentStore } from './segments/segment-store.js';
import { segmentRoutes } from './segments/segments.routes.js';
import { UserStore } from './segments/user-store.js';
import { UsersReplica } from './segments/users-replica.js';
import { SegmentHistoryExport } from './segments/history-export.js';
import { HistoryLinks, linkKey } from './segments/history-links.js';
import { historyRoutes } from './segments/history.routes.js';
import type { BatchObserver } from './db/batch-loader.js';
import { postgresOptions } from '../../lib/db/postgres.js';
import { DeadLetterPublisher } from '../../lib/kafka/dead-letters.js';
import type { Service } from '../../lib/lifecycle.js';

export interface ApiDeps {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  log: Logger;
  metrics: Metrics;
  /** PostgreSQL: experiments and segments. */
  pool: Pool;
}

export interface Api {
  app: Koa;
  /** Every route the app serves, e.g. `POST /api/v1/events` (for the OpenAPI check). */
  routes: string[];
  publisher: KafkaPublisher;
  http: HttpServer;
  /** The users topic consumer, when USERS_REPLICA_ENABLED. */
  usersReplica: UsersReplica | undefined;
  /** Runs erasure jobs, when ERASURE_JOBS_ENABLED. */
  erasures: ErasureRunner | undefined;
  /** Start order: producer, HTTP, users replica, erasures; stopped in reverse. */
  services: Service[];
}

/** The API's acks=all producer as config sets it up (the benchmark measures it alone too). */
export function createPublisher(config: Config, kafka: Kafka, log: Logger, metrics: Metrics): KafkaPublisher {
  return new KafkaPublisher(
    config.producer.client === 'platformatic'
      ? new PlatformaticTransport(kafkaClientOptions(config, 'api'))
      : new KafkajsTransport(kafka),
    {
      lingerMs: config.producer.lingerMs,
      maxBatchMessages: config.producer.batchMaxMessages,
      sendTimeoutMs: config.producer.sendTimeoutMs,
      lingerMsByTopic: { [config.topics.exposures]: config.producer.exposuresLingerMs },
    },
    log.child({ module: 'publisher' }),
    metrics,
  );
}

/** Wires the API from config and its clients. Start publisher before http; stop in reverse. */
export function buildApi(config: Config, deps: ApiDeps): Api {
  // `component`, not `module`: the modules below bind their own `module`, and pino writes a
  // key a child binds again twice in one line, which log shippers read differently.
  const log = deps.log.child({ component: 'api' });
  warnOnUnboundSecret(config.auth, log);
  const verify = cachedVerifier(createJwtVerifier(config.auth), {
    maxEntries: config.auth.verifyCacheMaxEntries,
    ttlMs: config.auth.verifyCacheTtlMs,
    clockToleranceSec: config.auth.clockToleranceSec,
  });
  const publisher = createPublisher(config, deps.kafka, log, deps.metrics);
  const observeBatch: BatchObserver = {
    keys: (statement, keys) => deps.metrics.pgBatchKeys.observe({ statement }, keys),
    wait: (statement, seconds) => deps.metrics.pgBatchWait.observe({ statement }, seconds),
  };
  const reader = new ResumeStore(deps.pool, config.resume, observeBatch);
  const tail = new KafkaTail(deps.kafka, kafkaClientOptions(config, 'api-status'), config.eventStatus);
  const statuses = new EventStatusService({
    clickhouse: deps.clickhouse,
    database: config.clickhouse.database,
    sources: [
      { stream: progressStream, topic: config.topics.progress, groupId: config.etl.groupId },
      { stream: userEventStream, topic: config.topics.events, groupId: config.etl.eventsGroupId },
    ],
    tail,
    timeoutMs: config.http.readTimeoutMs,
  });
  const erasureStore = new ErasureStore(deps.pool, config.erasure.leaseMs);
  const erasures = config.erasure.jobsEnabled
    ? new ErasureRunner(
        erasureStore,
        new ClickHouseEraser(
          deps.clickhouse,
          { database: config.clickhouse.database, cluster: config.clickhouse.cluster, ttlDays: 0 },
          viewerTables(),
          config.http.readTimeoutMs,
        ),
        config.erasure,
        log.child({ module: 'erasure' }),
      )
    : undefined;
  const erasureBacklog = new ErasureBacklog(
    erasureStore,
    deps.metrics.erasureBacklog,
    log.child({ module: 'erasure-backlog' }),
  );
  const erased = new ErasedViewers(erasuresTable(deps.pool), log.child({ module: 'erased-viewers' }));
  const users = new UserStore(deps.pool);
  deps.metrics.pgPool.watch(deps.pool);
  const usersReplica = config.usersReplica.enabled
    ? new UsersReplica(
        {
          kafka: deps.kafka,
          users,
          deadLetters: new DeadLetterPublisher(
            deps.kafka,
            config.topics.deadLetters,
            `${config.kafka.clientId}-api`,
          ),
          log,
          metrics: deps.metrics,
        },
        {
          topic: config.topics.users,
          groupId: config.usersReplica.groupId,
          partitionsConcurrency: config.usersReplica.concurrency,
          sessionTimeoutMs: config.usersReplica.sessionTimeoutMs,
          retryInitialMs: config.usersReplica.retryInitialMs,
          retryMaxMs: config.usersReplica.retryMaxMs,
          commitEvery: 500,
        },
      )
    : undefined;
  const segments = new SegmentStore(deps.pool, config.segments.rolloutTimeoutMs, observeBatch);
  const store = new ExperimentStore(deps.pool);
  const running = new RunningExperiments(store, config.experiments.cacheMs);
  const stats = new StatsService(
    deps.pool,
    store,
    new ClickHouseCompletionReader(deps.clickhouse, config.clickhouse.database, config.http.readTimeoutMs),
    log.child({ module: 'experiment-stats' }),
  );
  // Signs report links and, derived from it, the stats page's sessions.
  const reportKey = linkKey(
    { reportLinkSecret: config.reports.linkSecret, jwtSecret: config.auth.secret },
    log,
  );
  // In matching order: the first route that matches answers (the history report before /segments/{slug}).
  const routes: Route[] = [
    ...metricsRoutes(deps.metrics.registry, config.http.metricsAllowedCidrs),
    ...healthRoutes([
      {
        name: 'kafka',
        what: 'the Kafka producer is connected',
        check: () => Promise.resolve(publisher.isReady()),
      },
      {
        name: 'clickhouse',
        what: 'ClickHouse answers a ping',
        check: async () => (await deps.clickhouse.ping()).success,
      },
      {
        name: 'postgres',
        what: 'PostgreSQL answers `SELECT 1`',
        check: async () => (await deps.pool.query('SELECT 1')).rowCount === 1,
      },
    ]),
    ...progressRoutes({
      verify,
      publisher,
      reader,
      topic: config.topics.progress,
      erased,
      http: config.http,
      events: config.events,
    }),
    ...eventsRoutes({
      verify,
      publisher,
      topic: config.topics.events,
      erased,
      http: config.http,
      events: config.events,
    }),
    ...statusRoutes({ verify, admin: config.admin, statuses }),
    ...deviceExperimentRoutes({
      verify,
      assignments: new AssignmentService(
        deps.pool,
        running,
        {
          cacheSize: config.experiments.deviceCacheSize,
          registerLingerMs: config.experiments.registerLingerMs,
          deviceLoad: config.experiments.deviceLoad,
          queueMax: config.experiments.deviceQueueMax,
          seen:
            config.experiments.deviceRetentionDays > 0
              ? new DeviceSeenWriter(
                  deps.pool,
                  (err) => log.warn({ err }, 'devices_seen_not_recorded'),
                  config.experiments.deviceQueueMax,
                )
              : undefined,
        },
        (viewer) => segments.activeSlugs(viewer),
        observeBatch,
      ),
      exposures: new ExposureEmitter(
        publisher,
        config.topics.exposures,
        deps.metrics,
        log.child({ module: 'exposures' }),
      ),
      metrics: deps.metrics,
    }),
    ...adminExperimentRoutes({ verify, admin: config.admin, store, running }),
    ...erasureRoutes({
      verify,
      admin: config.admin,
      store: erasureStore,
      erased,
      ...(erasures === undefined ? {} : { poke: () => erasures.poke() }),
    }),
    ...statsRoutes({
      verify,
      admin: config.admin,
      sessions: new StatsSessions(reportKey, config.admin.statsSessionTtlSeconds),
      stats,
    }),
    ...historyRoutes({
      verify,
      admin: config.admin,
      links: new HistoryLinks(reportKey, config.reports.linkTtlSeconds),
      exporter: new SegmentHistoryExport(
        {
          postgres: postgresOptions(config, 'segment-history-export'),
          statementTimeoutMs: config.reports.statementTimeoutMs,
          maxConcurrent: config.reports.maxConcurrent,
        },
        log.child({ module: 'segment-history' }),
      ),
      reports: config.reports,
    }),
    ...segmentRoutes({ verify, admin: config.admin, segments, users, config: config.segments }),
  ];
  const app = createApp({
    log,
    http: config.http,
    metrics: deps.metrics,
    routes: [...routes, ...openApiRoutes(routes)],
  });
  const http = new HttpServer(app, config.http.host, config.http.port, log, config.http.requestTimeoutMs);
  const deleted = (table: string) => (rows: number) => deps.metrics.retentionRowsDeleted.inc({ table }, rows);
  const retention = [
    ...(config.experiments.deviceRetentionDays > 0
      ? [
          deviceRetention(
            deps.pool,
            config.experiments.deviceRetentionDays,
            log.child({ module: 'device-retention' }),
            deleted('devices'),
          ),
        ]
      : []),
    ...(config.resume.retentionDays > 0
      ? [
          resumeRetention(
            postgresOptions(config, 'resume-retention'),
            config.resume.retentionDays,
            log.child({ module: 'resume-retention' }),
            deleted('progress_resume'),
          ),
        ]
      : []),
  ];
  // HTTP does not wait for the users replica: after a crash its consumer waits out its dead
  // member's session before it rejoins; what it replicated is already in PostgreSQL. The
  // resume projection runs with the ETL, not here (cli/compose.ts).
  const services: Service[] = [
    tail,
    publisher,
    ...retention,
    http,
    ...(usersReplica === undefined ? [] : [usersReplica]),
    periodicService('erasure-backlog', () => erasureBacklog.read(), config.erasure.backlogPollMs),
    periodicService('erased-viewers', () => erased.read(), config.erasure.erasedPollMs),
    ...(erasures === undefined ? [] : [erasures]),
  ];
  return { app, routes: routesOf(app), publisher, http, usersReplica, erasures, services };
}
