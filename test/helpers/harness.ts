import { Writable } from 'node:stream';
import type { Pool } from 'pg';
import type { Api } from '../../api/src/build-api.js';
import type { Etl } from '../../etl/src/build-etl.js';
import { composeProcess } from '../../cli/compose.js';
import type { ResumeProjection } from '../../api/src/progress/resume-projection.js';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { loadConfig, redactedConfig, type Config } from '../../lib/config/config.js';
import { createKafka, kafkaClientOptions } from '../../lib/kafka/client.js';
import { stopEach, type Service } from '../../lib/lifecycle.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics, type Metrics } from '../../lib/metrics/registry.js';
import { dropDatabase, testDatabaseUrl } from './postgres.js';
import { randomUUID, uniqueName } from './ids.js';
import { testEnv } from './test-env.js';

export interface Harness {
  config: Config;
  url: string;
  secret: string;
  api: Api;
  etl: Etl | undefined;
  /** The resume projection: with the ETL only (standalone), when RESUME_PROJECTION_ENABLED. */
  resumeProjection: ResumeProjection | undefined;
  metrics: Metrics;
  /** This harness's own PostgreSQL database (dropped on stop). */
  pool: Pool;
  /** Every log line the in-process services wrote, as parsed JSON. */
  logs: Record<string, unknown>[];
  rawLogs: string[];
  token(sub?: string, extra?: { ttlSec?: number; roles?: string[] }): Promise<string>;
  /**
   * Stops the services in reverse order, each within `boundMs` (30 s), then drops the
   * database; throws StopTimeoutError naming a service that hung. keepDatabase: another
   * harness shares it.
   */
  stop(opts?: { keepDatabase?: boolean; boundMs?: number }): Promise<void>;
}

/**
 * The product in-process on the shared test broker and engine, with its own random topic,
 * consumer group and database: api always, etl when asked.
 */
export async function startHarness(
  opts: { etl?: boolean; env?: Record<string, string>; brokers?: string[] } = {},
): Promise<Harness> {
  const env = testEnv();
  const secret = opts.env?.JWT_SECRET ?? `test-secret-${randomUUID()}`;
  const config = loadConfig({
    KAFKA_BROKERS: (opts.brokers ?? env.brokers).join(','),
    KAFKA_TOPIC_PROGRESS: uniqueName('progress'),
    KAFKA_TOPIC_PARTITIONS: '3',
    KAFKA_TOPIC_DLQ: uniqueName('dlq'),
    KAFKA_TOPIC_EVENTS: uniqueName('events'),
    KAFKA_TOPIC_EXPOSURES: uniqueName('exposures'),
    ETL_EXPOSURES_GROUP_ID: uniqueName('etl_exposures'),
    KAFKA_TOPIC_USERS: uniqueName('users'),
    USERS_REPLICA_GROUP_ID: uniqueName('users_replica'),
    // Off unless a suite needs it: one consumer group join less per suite.
    USERS_REPLICA_ENABLED: 'false',
    // The resume read model is fed where events are stored: with the ETL (standalone).
    RESUME_PROJECTION_ENABLED: String(opts.etl === true),
    RESUME_PROJECTION_GROUP_ID: uniqueName('resume'),
    POSTGRES_URL: testDatabaseUrl(uniqueName('sa_it')),
    ETL_EVENTS_GROUP_ID: uniqueName('etl_events'),
    ETL_GROUP_ID: uniqueName('etl'),
    ETL_BATCH_MAX_WAIT_MS: '100',
    // Suites here test features, not the send deadline (kafka-acks-all and kafka-outage set
    // their own): with three shards and the fault suite on two cores, an ack can pass 2 s.
    KAFKA_SEND_TIMEOUT_MS: '10000',
    CLICKHOUSE_DATABASE: uniqueName('it'),
    JWT_SECRET: secret,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'debug',
    ...opts.env,
  });
  const rawLogs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      rawLogs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ level: config.process.logLevel, pretty: false, name: 'test' }, sink);
  // The line every process starts with (createProcessBase), so a test sees what it would log.
  log.info({ config: redactedConfig(config) }, 'config_loaded');
  const kafka = createKafka(kafkaClientOptions(config, 'harness'), log);
  const metrics = createMetrics({ service: 'test' });
  const base = { config, log, kafka, clickhouse: env.clickhouse, metrics };
  // The global setup owns the ClickHouse client and creates the topics' broker.
  const shape = opts.etl === true ? 'standalone' : 'api';
  const { services, api, etl, pool, resumeProjection } = composeProcess(shape, base, {
    name: 'test',
    migrate: true,
    closeClickHouse: false,
    sqlHttp: false,
  });
  const started: Service[] = [];
  for (const s of services) {
    await s.start();
    started.push(s);
  }
  return {
    config,
    url: `http://127.0.0.1:${api.http.boundPort}`,
    secret,
    api,
    etl,
    resumeProjection,
    metrics,
    pool,
    rawLogs,
    get logs() {
      return rawLogs.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    token: (sub = randomUUID(), extra = {}) =>
      signHs256(secret, { sub, ttlSec: extra.ttlSec ?? 3600, roles: extra.roles }),
    async stop(stopOpts = {}) {
      try {
        await stopEach([...started].reverse(), stopOpts.boundMs ?? 30_000);
      } finally {
        if (process.env.KEEP_TEST_DATA === undefined && stopOpts.keepDatabase !== true)
          await dropDatabase(config.postgres.url);
      }
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function request(
  url: string,
  init: {
    method?: string;
    token?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.Authorization = `Bearer ${init.token}`;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(url, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: leave the text for the assertion to show
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
