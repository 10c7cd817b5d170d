import type { ClickHouseClient } from '@clickhouse/client';
import type Koa from 'koa';
import { routesOf } from './http/routes-of.js';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../lib/config/config.js';
import { warnOnUnboundSecret } from '../../lib/config/jwt-binding.js';
import { kafkaClientOptions } from '../../lib/kafka/client.js';
import type { Logger } from '../../lib/log.js';
import { DeviceRetention } from './experiments/device-retention.js';
import { DeviceSeenWriter } from './experiments/device-seen.js';
import { createApp } from './app.js';
import { createJwtVerifier } from './auth/jwt-verifier.js';
import { cachedVerifier } from './auth/verified-token-cache.js';
import { healthRoutes } from './health/health.routes.js';
import { HttpServer } from './http-server.js';
import { KafkaPublisher } from './ingest/kafka-publisher.js';
import { KafkajsTransport } from './ingest/kafkajs-transport.js';
import { PlatformaticTransport } from './ingest/platformatic-transport.js';
import { ClickHouseProgressReader } from './progress/progress-reader.js';
import { progressRoutes } from './progress/progress.routes.js';
import { metricsRoutes } from './health/metrics.routes.js';
import { buildOpenApi } from './openapi/document.js';
import { openApiRoutes } from './openapi/openapi.routes.js';
import type { Metrics } from '../../lib/metrics/registry.js';
import { eventsRoutes } from './events/events.routes.js';
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
  /** Start order: producer, users replica, HTTP; stopped in reverse. */
  services: Service[];
}

/** Wires the API from config and its clients. Start publisher before http; stop in reverse. */
export function buildApi(config: Config, deps: ApiDeps): Api {
  const log = deps.log.child({ module: 'api' });
  warnOnUnboundSecret(config, log);
  const verify = cachedVerifier(
    createJwtVerifier({
      secret: config.jwtSecret,
      jwksUrl: config.jwtJwksUrl,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      clockToleranceSec: config.jwtClockToleranceSec,
      jwksCacheMaxAgeMs: config.jwtJwksCacheMaxAgeMs,
    }),
    {
      maxEntries: config.jwtVerifyCacheMaxEntries,
      ttlMs: config.jwtVerifyCacheTtlMs,
      clockToleranceSec: config.jwtClockToleranceSec,
    },
  );
  const publisher = new KafkaPublisher(
    config.kafkaProducerClient === 'platformatic'
      ? new PlatformaticTransport(kafkaClientOptions(config, 'api'))
      : new KafkajsTransport(deps.kafka),
    {
      lingerMs: config.kafkaLingerMs,
      maxBatchMessages: config.kafkaBatchMaxMessages,
      sendTimeoutMs: config.kafkaSendTimeoutMs,
      lingerMsByTopic: { [config.kafkaTopicExposures]: config.exposuresLingerMs },
    },
    log.child({ module: 'publisher' }),
    deps.metrics,
  );
  const reader = new ClickHouseProgressReader(
    deps.clickhouse,
    config.clickhouseDatabase,
    config.readTimeoutMs,
  );
  const users = new UserStore(deps.pool);
  const usersReplica = config.usersReplicaEnabled
    ? new UsersReplica(
        {
          kafka: deps.kafka,
          users,
          deadLetters: new DeadLetterPublisher(
            deps.kafka,
            config.kafkaTopicDlq,
            `${config.kafkaClientId}-api`,
          ),
          log,
          metrics: deps.metrics,
        },
        {
          topic: config.kafkaTopicUsers,
          groupId: config.usersReplicaGroupId,
          partitionsConcurrency: config.usersReplicaConcurrency,
          sessionTimeoutMs: config.etlSessionTimeoutMs,
          retryInitialMs: config.etlRetryInitialMs,
          retryMaxMs: config.etlRetryMaxMs,
          commitEvery: 500,
        },
      )
    : undefined;
  const observeBatch: BatchObserver = {
    keys: (statement, keys) => deps.metrics.pgBatchKeys.observe({ statement }, keys),
    wait: (statement, seconds) => deps.metrics.pgBatchWait.observe({ statement }, seconds),
  };
  const segments = new SegmentStore(deps.pool, config.segmentRolloutTimeoutMs, observeBatch);
  const store = new ExperimentStore(deps.pool);
  const running = new RunningExperiments(store, config.experimentsCacheMs);
  const stats = new StatsService(
    deps.pool,
    store,
    new ClickHouseCompletionReader(deps.clickhouse, config.clickhouseDatabase, config.readTimeoutMs),
    log.child({ module: 'experiment-stats' }),
  );
  // Signs report links and, derived from it, the stats page's sessions.
  const reportKey = linkKey(config, log);
  const app = createApp({
    log,
    corsAllowedOrigins: config.corsAllowedOrigins,
    metrics: deps.metrics,
    routers: [
      metricsRoutes(deps.metrics.registry),
      openApiRoutes(
        buildOpenApi({
          time: { maxPastMs: config.eventMaxPastMs, maxFutureMs: config.eventMaxFutureMs },
          properties: {
            maxBytes: config.eventPropertiesMaxBytes,
            maxDepth: config.eventPropertiesMaxDepth,
            maxKeys: config.eventPropertiesMaxKeys,
          },
          batchMaxEvents: config.batchMaxEvents,
        }),
      ),
      healthRoutes([
        { name: 'kafka', check: () => Promise.resolve(publisher.isReady()) },
        { name: 'clickhouse', check: async () => (await deps.clickhouse.ping()).success },
        { name: 'postgres', check: async () => (await deps.pool.query('SELECT 1')).rowCount === 1 },
      ]),
      progressRoutes({
        verify,
        publisher,
        reader,
        topic: config.kafkaTopicProgress,
        bodyLimitBytes: config.bodyLimitBytes,
        batchMaxEvents: config.batchMaxEvents,
        eventMaxPastMs: config.eventMaxPastMs,
        eventMaxFutureMs: config.eventMaxFutureMs,
      }),
      eventsRoutes({
        verify,
        publisher,
        topic: config.kafkaTopicEvents,
        bodyLimitBytes: config.bodyLimitBytes,
        batchMaxEvents: config.batchMaxEvents,
        eventMaxPastMs: config.eventMaxPastMs,
        eventMaxFutureMs: config.eventMaxFutureMs,
        properties: {
          maxBytes: config.eventPropertiesMaxBytes,
          maxDepth: config.eventPropertiesMaxDepth,
          maxKeys: config.eventPropertiesMaxKeys,
        },
      }),
      deviceExperimentRoutes({
        verify,
        assignments: new AssignmentService(
          deps.pool,
          running,
          {
            cacheSize: config.experimentsDeviceCacheSize,
            registerLingerMs: config.experimentsRegisterLingerMs,
            deviceLoad: config.experimentsDeviceLoad,
            queueMax: config.experimentsDeviceQueueMax,
            seen:
              config.experimentsDeviceRetentionDays > 0
                ? new DeviceSeenWriter(
                    deps.pool,
                    (err) => log.warn({ err }, 'devices_seen_not_recorded'),
                    config.experimentsDeviceQueueMax,
                  )
                : undefined,
          },
          (viewer) => segments.activeSlugs(viewer),
          observeBatch,
        ),
        exposures: new ExposureEmitter(
          publisher,
          config.kafkaTopicExposures,
          deps.metrics,
          log.child({ module: 'exposures' }),
        ),
        metrics: deps.metrics,
      }),
      adminExperimentRoutes({
        verify,
        adminRole: config.adminRole,
        store,
        running,
        bodyLimitBytes: config.bodyLimitBytes,
      }),
      statsRoutes({
        verify,
        adminRole: config.adminRole,
        adminCookie: config.adminCookie,
        sessions: new StatsSessions(reportKey, config.statsSessionTtlSeconds),
        stats,
      }),
      historyRoutes({
        verify,
        adminRole: config.adminRole,
        links: new HistoryLinks(reportKey, config.reportLinkTtlSeconds),
        exporter: new SegmentHistoryExport(
          {
            postgres: postgresOptions(config, 'segment-history-export'),
            statementTimeoutMs: config.reportStatementTimeoutMs,
            maxConcurrent: config.reportMaxConcurrent,
          },
          log.child({ module: 'segment-history' }),
        ),
        publicBaseUrl: config.publicBaseUrl,
      }),
      segmentRoutes({
        verify,
        adminRole: config.adminRole,
        segments,
        users,
        bodyLimitBytes: config.bodyLimitBytes,
        devRoutes: config.devRoutes,
      }),
    ],
  });
  const http = new HttpServer(app, config.host, config.port, log);
  const retention =
    config.experimentsDeviceRetentionDays > 0
      ? [
          new DeviceRetention(
            deps.pool,
            config.experimentsDeviceRetentionDays,
            log.child({ module: 'device-retention' }),
          ),
        ]
      : [];
  const services: Service[] = [
    publisher,
    ...(usersReplica === undefined ? [] : [usersReplica]),
    ...retention,
    http,
  ];
  return { app, routes: routesOf(app), publisher, http, usersReplica, services };
}
