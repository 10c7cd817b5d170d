import { checkKafkaSecurity } from '../kafka/security.js';
import { ConfigError } from '../errors.js';
import { checkJwksBinding } from './jwt-binding.js';
import { maskConfigValue } from './mask-url.js';
import {
  bool,
  cidrList,
  int,
  list,
  oneOf,
  optionalStr,
  secretKey,
  str,
  url,
  type Option,
} from './options.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Every option of every process. Read once at startup (loadConfig), validated, frozen.
 * Units are in the names. `npm run config:doc` regenerates docs/configuration.md.
 */
export const OPTIONS = {
  /** Every process. */
  process: {
    logLevel: oneOf(
      'LOG_LEVEL',
      'info',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'pino log level.',
    ),
    logPretty: bool('LOG_PRETTY', false, 'Human-readable logs (development only; JSON otherwise).'),
    startupTimeoutMs: int(
      'STARTUP_TIMEOUT_MS',
      120000,
      'How long a process keeps retrying to reach Kafka/ClickHouse at startup before it gives up.',
      0,
    ),
    shutdownTimeoutMs: int(
      'SHUTDOWN_TIMEOUT_MS',
      15000,
      'Longest a graceful stop may take before the process exits anyway.',
      100,
    ),
  },
  /** `npm start` only. */
  local: {
    dataDir: str(
      'LOCAL_DATA_DIR',
      '.data',
      '`npm start` only: where the local broker keeps its data and the dev JWT secret lives.',
    ),
    kafkaPort: int(
      'LOCAL_KAFKA_PORT',
      9092,
      '`npm start` only: client port of the local broker (controller: this + 100).',
      1,
      65435,
    ),
  },
  /** The API's HTTP server. */
  http: {
    host: str('HOST', '0.0.0.0', 'Interface the API listens on.'),
    port: int('PORT', 8080, 'Port the API listens on.', 0, 65535),
    bodyLimitBytes: int(
      'API_BODY_LIMIT_BYTES',
      262144,
      'Largest accepted request body; larger bodies get 413.',
      1024,
    ),
    corsAllowedOrigins: list(
      'CORS_ALLOWED_ORIGINS',
      '',
      'Comma-separated origins allowed to call the API from a browser (`*` for any). Empty: no CORS headers.',
    ),
    metricsAllowedCidrs: cidrList(
      'METRICS_ALLOWED_CIDRS',
      '127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7',
      "Client addresses `GET /metrics` on the API port answers (the socket's address, never a forwarded header): loopback and private networks, where Prometheus scrapes from; any other gets 403. nginx does not pass /metrics from the edge either. Behind a balancer that opens the connections itself (an L7 load balancer, kube-proxy with externalTrafficPolicy Cluster), every player arrives from a private address: narrow this to Prometheus' addresses there.",
    ),
    requestTimeoutMs: int(
      'HTTP_REQUEST_TIMEOUT_MS',
      30000,
      'Longest a client may take to send one request, headers and body: a slower one (a stalled upload, a connection held open on purpose) gets 408 and its connection is closed, within a second of this bound.',
      1000,
      600000,
    ),
    readTimeoutMs: int(
      'API_READ_TIMEOUT_MS',
      2000,
      'Longest a ClickHouse read of the API (experiment stats) waits before answering 503.',
      1,
    ),
  },
  /** What the API accepts in an event. */
  events: {
    batchMaxEvents: int('API_BATCH_MAX_EVENTS', 500, 'Most events in one batch request.', 1, 10000),
    maxPastMs: int(
      'EVENT_MAX_PAST_MS',
      30 * DAY_MS,
      'Oldest accepted `occurred_at`, relative to the server clock (offline buffers).',
      0,
    ),
    maxFutureMs: int(
      'EVENT_MAX_FUTURE_MS',
      5 * 60 * 1000,
      'Furthest accepted `occurred_at` in the future (client clock skew).',
      0,
    ),
    propertiesMaxBytes: int(
      'EVENT_PROPERTIES_MAX_BYTES',
      8192,
      'Largest `properties` of a user event, as UTF-8 JSON.',
      2,
    ),
    propertiesMaxDepth: int(
      'EVENT_PROPERTIES_MAX_DEPTH',
      5,
      'Deepest nesting of objects/arrays in `properties`.',
      1,
      64,
    ),
    propertiesMaxKeys: int(
      'EVENT_PROPERTIES_MAX_KEYS',
      100,
      'Most keys in `properties`, counted across all levels.',
      1,
    ),
  },
  /** JWT verification (the API). */
  auth: {
    secret: optionalStr(
      'JWT_SECRET',
      'HS256 shared secret (at least 32 bytes). One of JWT_SECRET or JWT_JWKS_URL is required; `npm start` generates a dev secret in .data/ when neither is set.',
      true,
    ),
    jwksUrl: url('JWT_JWKS_URL', 'JWKS endpoint for RS256/ES256/EdDSA tokens; keys are cached.'),
    issuer: optionalStr(
      'JWT_ISSUER',
      'Required `iss` claim. Must be set with JWT_JWKS_URL; with JWT_SECRET, not set: any issuer (warned at startup). `npm start` with no JWT key set: `streaming-analytics-dev`.',
    ),
    audience: optionalStr(
      'JWT_AUDIENCE',
      'Required `aud` claim. Must be set with JWT_JWKS_URL; with JWT_SECRET, not set: any audience (warned at startup). `npm start` with no JWT key set: `streaming-analytics`.',
    ),
    clockToleranceSec: int('JWT_CLOCK_TOLERANCE_SEC', 30, 'Clock skew tolerated on exp/nbf/iat.', 0, 600),
    maxLifetimeSec: int(
      'JWT_MAX_LIFETIME_SEC',
      86400,
      'Longest a token may be valid, `exp` minus `iat` (minus now when it has no `iat`); a longer one is refused with 401, so a token copied from a device, a log or a screenshot stops working within this bound. 0: no bound.',
      0,
      31_536_000,
    ),
    jwksCacheMaxAgeMs: int(
      'JWT_JWKS_CACHE_MAX_AGE_MS',
      600000,
      'How long fetched JWKS keys are reused before refetching.',
      0,
    ),
    verifyCacheMaxEntries: int(
      'JWT_VERIFY_CACHE_MAX_ENTRIES',
      10000,
      'Tokens whose verification is remembered (exact token text; successes only), so a player sending every few seconds pays the signature check once. 0 turns it off.',
      0,
    ),
    verifyCacheTtlMs: int(
      'JWT_VERIFY_CACHE_TTL_MS',
      60000,
      "Longest a remembered verification is reused; never past the token's exp. Bounds how long a key removed from the JWKS still admits tokens it signed.",
      0,
    ),
  },
  /** Kafka connection (every client). */
  kafka: {
    brokers: list(
      'KAFKA_BROKERS',
      '127.0.0.1:9092',
      'Comma-separated bootstrap brokers. `npm start` runs a local broker when this is not set.',
    ),
    clientId: str('KAFKA_CLIENT_ID', 'streaming-analytics', 'Kafka client id prefix.'),
    connectTimeoutMs: int('KAFKA_CONNECT_TIMEOUT_MS', 3000, 'TCP connect timeout to brokers.', 100),
    ssl: bool('KAFKA_SSL', false, 'Connect to the brokers over TLS (their SSL or SASL_SSL listener).'),
    sslCaFile: optionalStr(
      'KAFKA_SSL_CA_FILE',
      "PEM file of the CA(s) that signed the brokers' certificates. Not set: the system CAs. Needs `KAFKA_SSL`.",
    ),
    sslCertFile: optionalStr(
      'KAFKA_SSL_CERT_FILE',
      'PEM client certificate, for brokers that require mutual TLS (`ssl.client.auth=required`); set with `KAFKA_SSL_KEY_FILE`.',
    ),
    sslKeyFile: optionalStr('KAFKA_SSL_KEY_FILE', 'PEM private key (unencrypted) of `KAFKA_SSL_CERT_FILE`.'),
    sslRejectUnauthorized: bool(
      'KAFKA_SSL_REJECT_UNAUTHORIZED',
      true,
      "Refuse a broker whose certificate does not chain to a trusted CA or name the broker's host. `false` only to debug: it allows a man in the middle.",
    ),
    saslMechanism: oneOf(
      'KAFKA_SASL_MECHANISM',
      'none',
      ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const,
      'SASL authentication to the brokers. `plain` sends the password itself: only with `KAFKA_SSL`.',
    ),
    saslUsername: optionalStr('KAFKA_SASL_USERNAME', 'SASL user; required with a mechanism.'),
    saslPassword: optionalStr(
      'KAFKA_SASL_PASSWORD',
      'SASL password; required with a mechanism (never logged).',
      true,
    ),
  },
  /** Topics: names, and settings when created. */
  topics: {
    progress: str('KAFKA_TOPIC_PROGRESS', 'progress-events', 'Topic for playback progress events.'),
    events: str(
      'KAFKA_TOPIC_EVENTS',
      'user-events',
      'Topic for user-action events (clicks, searches, player controls).',
    ),
    exposures: str(
      'KAFKA_TOPIC_EXPOSURES',
      'experiment-exposures',
      'Topic for experiment exposures (one per value served).',
    ),
    users: str(
      'KAFKA_TOPIC_USERS',
      'users',
      'Users topic (contract user-change v1, published by the users service): the API keeps its local users table from it. Created compacted when missing.',
    ),
    deadLetters: str(
      'KAFKA_TOPIC_DLQ',
      'dead-letters',
      'Dead-letter topic: messages the ETL can never insert, with reason and source coordinates.',
    ),
    partitions: int(
      'KAFKA_TOPIC_PARTITIONS',
      6,
      'Partitions when the topic is created (upper bound on ETL parallelism).',
      1,
      10000,
    ),
    replicationFactor: int(
      'KAFKA_REPLICATION_FACTOR',
      1,
      'Replication factor when topics are created (3 in production).',
      1,
      10,
    ),
    minInsyncReplicas: int(
      'KAFKA_MIN_INSYNC_REPLICAS',
      1,
      'min.insync.replicas set on created topics (2 in production with RF 3).',
      1,
      10,
    ),
    retentionMs: int('KAFKA_RETENTION_MS', 7 * DAY_MS, 'retention.ms set on created topics.', 60000),
    deadLettersRetentionMs: int(
      'KAFKA_DLQ_RETENTION_MS',
      30 * DAY_MS,
      'retention.ms of the dead-letter topic.',
      60000,
    ),
  },
  /** The dead-letter producer. */
  deadLetters: {
    transactionTimeoutMs: int(
      'KAFKA_DLQ_TRANSACTION_TIMEOUT_MS',
      60000,
      'How long the broker keeps a dead-letter transaction open before aborting it: a process that died mid-transaction holds back read-committed DLQ readers (npm run dlq) that long. At most the broker transaction.max.timeout.ms.',
      1000,
    ),
  },
  /** The API's producer. */
  producer: {
    client: oneOf(
      'KAFKA_PRODUCER_CLIENT',
      'platformatic',
      ['kafkajs', 'platformatic'],
      "Kafka client behind the API's publisher (ADR 0008; consumers always use kafkajs).",
    ),
    // Transport security of every Kafka client (lib/kafka/security.ts); checked together at load.
    lingerMs: int(
      'KAFKA_LINGER_MS',
      2,
      'How long the API groups concurrent events before one produce request.',
      0,
      1000,
    ),
    batchMaxMessages: int(
      'KAFKA_BATCH_MAX_MESSAGES',
      2000,
      'Most events in one produce request from the API.',
      1,
    ),
    sendTimeoutMs: int(
      'KAFKA_SEND_TIMEOUT_MS',
      2000,
      'Longest the API waits for the broker acknowledgement before answering 503.',
      50,
    ),
    exposuresLingerMs: int(
      'EXPOSURES_LINGER_MS',
      50,
      'How long the API groups exposures before one produce request (nobody waits on them, so bigger batches cost no latency).',
      0,
      1000,
    ),
  },
  /** The ETL consumers. */
  etl: {
    groupId: str('ETL_GROUP_ID', 'progress-etl', 'Consumer group of the ETL processes.'),
    eventsGroupId: str(
      'ETL_EVENTS_GROUP_ID',
      'user-events-etl',
      'Consumer group of the ETL for user-action events.',
    ),
    exposuresGroupId: str(
      'ETL_EXPOSURES_GROUP_ID',
      'exposures-etl',
      'Consumer group of the ETL for experiment exposures.',
    ),
    batchMaxRows: int('ETL_BATCH_MAX_ROWS', 50000, 'Most rows in one ClickHouse insert.', 1),
    batchMaxWaitMs: int(
      'ETL_BATCH_MAX_WAIT_MS',
      500,
      'Longest the broker holds a fetch to fill a batch (bounds freshness).',
      0,
      60000,
    ),
    fetchMinBytes: int(
      'ETL_FETCH_MIN_BYTES',
      1048576,
      'Bytes a fetch waits for (up to ETL_BATCH_MAX_WAIT_MS) so batches are big under load.',
      1,
    ),
    fetchMaxBytesPerPartition: int(
      'ETL_FETCH_MAX_BYTES_PER_PARTITION',
      6291456,
      'Largest fetch per partition: bounds an insert block, and the ETL holds about ETL_PARTITIONS_CONCURRENCY of them at once (peak memory).',
      1024,
    ),
    partitionsConcurrency: int(
      'ETL_PARTITIONS_CONCURRENCY',
      2,
      'Partitions processed at once in one ETL process.',
      1,
      64,
    ),
    lagPollMs: int(
      'ETL_LAG_POLL_MS',
      15000,
      "How often the ETL reads each source's committed offsets and high-water marks from Kafka for its lag gauges, so they keep moving while a consumer is stuck.",
      1000,
      600000,
    ),
    metricsHost: str(
      'ETL_METRICS_HOST',
      '127.0.0.1',
      "Interface of the ETL process's /metrics and /healthz listener: loopback unless set, so a reachable host does not publish them (a Prometheus on another host or container needs 0.0.0.0 or its interface).",
    ),
    metricsPort: int(
      'ETL_METRICS_PORT',
      9464,
      "Port of the ETL process's /metrics and /healthz (0: any free port).",
      0,
      65535,
    ),
    sessionTimeoutMs: int(
      'ETL_SESSION_TIMEOUT_MS',
      30000,
      'Consumer session timeout: how long a crashed ETL holds its partitions before a rebalance.',
      6000,
      300000,
    ),
    dedupHorizonMs: int(
      'ETL_DEDUP_HORIZON_MS',
      DAY_MS,
      'How long a client retry (same event_id) is recognised and dropped.',
      0,
    ),
    dedupMaxIdsPerPartition: int(
      'ETL_DEDUP_MAX_IDS_PER_PARTITION',
      2_000_000,
      'Memory bound of the dedup window: ids kept per partition (32 bytes each); when reached, the oldest go first and the effective horizon shrinks.',
      1000,
    ),
    retryInitialMs: int('ETL_RETRY_INITIAL_MS', 200, 'First backoff after a transient ClickHouse error.', 1),
    retryMaxMs: int('ETL_RETRY_MAX_MS', 10000, 'Backoff cap for transient ClickHouse errors.', 1),
    migrateOnStart: bool('ETL_MIGRATE_ON_START', true, 'Run ClickHouse migrations when the ETL starts.'),
  },
  /** ClickHouse. */
  clickhouse: {
    url: url(
      'CLICKHOUSE_URL',
      'ClickHouse HTTP endpoint. Not set: embedded engine (chdb) in CLICKHOUSE_DATA_DIR.',
    ),
    user: str('CLICKHOUSE_USER', 'default', 'ClickHouse user (server mode).'),
    password: optionalStr('CLICKHOUSE_PASSWORD', 'ClickHouse password (server mode).', true),
    database: str('CLICKHOUSE_DATABASE', 'analytics', 'Database holding the tables; created by migrations.'),
    cluster: optionalStr(
      'CLICKHOUSE_CLUSTER',
      'Cluster name: migrations use ON CLUSTER, Replicated engines and Distributed tables. Not set: one node.',
    ),
    dataDir: str('CLICKHOUSE_DATA_DIR', '.data/chdb', 'Data directory of the embedded engine.'),
    ttlDays: int('CLICKHOUSE_TTL_DAYS', 730, 'Retention of raw events in ClickHouse (0 keeps forever).', 0),
    requestTimeoutMs: int('CLICKHOUSE_REQUEST_TIMEOUT_MS', 30000, 'Timeout of one ClickHouse request.', 100),
    dedupToken: bool(
      'CLICKHOUSE_DEDUP_TOKEN',
      true,
      'Send insert_deduplication_token with each block (needs ClickHouse >= 22.2).',
    ),
  },
  /** SQL for analysts (ClickHouse HTTP interface over the embedded engine, lib/sql-http). */
  sqlHttp: {
    enabled: bool(
      'SQL_HTTP_ENABLED',
      true,
      'Serve the ClickHouse HTTP interface for analysts over the embedded engine (standalone process only; never when CLICKHOUSE_URL is set, whose server has its own). Needs SQL_HTTP_PASSWORD; `npm start` generates one.',
    ),
    host: str(
      'SQL_HTTP_HOST',
      '127.0.0.1',
      'Interface the SQL endpoint listens on (this machine only by default).',
    ),
    port: int('SQL_HTTP_PORT', 8123, 'Port of the SQL endpoint (0: any free port).', 0, 65535),
    user: str('SQL_HTTP_USER', 'analyst', 'User name analysts connect with.'),
    password: optionalStr(
      'SQL_HTTP_PASSWORD',
      'Password of SQL_HTTP_USER. Not set: the SQL endpoint is off, except under `npm start`, which generates one into LOCAL_DATA_DIR/dev-sql-password.',
      true,
    ),
    maxExecutionTimeSec: int(
      'SQL_MAX_EXECUTION_TIME_SEC',
      120,
      'Longest an analyst query may run (max_execution_time; 0: no limit).',
      0,
    ),
    maxResultRows: int(
      'SQL_MAX_RESULT_ROWS',
      100_000_000,
      'Most rows an analyst query may return (max_result_rows; results are streamed, 0: no limit).',
      0,
    ),
    maxResultBytes: int(
      'SQL_MAX_RESULT_BYTES',
      10 * 1024 ** 3,
      'Most uncompressed bytes an analyst query may return (max_result_bytes; 0: no limit).',
      0,
    ),
    maxMemoryBytes: int(
      'SQL_MAX_MEMORY_BYTES',
      1024 ** 3,
      'Memory one analyst query may use in the engine (max_memory_usage; 0: no limit).',
      0,
    ),
    maxThreads: int(
      'SQL_MAX_THREADS',
      1,
      'Engine threads per analyst query (max_threads); the default leaves the other cores to ingestion.',
      1,
      256,
    ),
    maxConcurrentQueries: int(
      'SQL_MAX_CONCURRENT_QUERIES',
      2,
      'Analyst queries running at once; one more is refused with TOO_MANY_SIMULTANEOUS_QUERIES (202), never queued.',
      1,
      64,
    ),
  },
  /** PostgreSQL (experiments, segments, the resume read model). */
  postgres: {
    url: str(
      'POSTGRES_URL',
      'postgres://postgres@127.0.0.1:5432/streaming_analytics',
      "PostgreSQL connection URL (without the password), of the API and of the ETL's resume projection. The database is created when missing; migrations run at API start, and in the ETL in the background (its loader never waits for PostgreSQL).",
    ),
    password: optionalStr('POSTGRES_PASSWORD', 'PostgreSQL password (never logged).', true),
    poolMax: int(
      'POSTGRES_POOL_MAX',
      10,
      'Most PostgreSQL connections per process (each API; each ETL running the resume projection).',
      1,
      1000,
    ),
    poolMin: int(
      'POSTGRES_POOL_MIN',
      3,
      'PostgreSQL connections each pool keeps open however long they sit idle (at most `POSTGRES_POOL_MAX`); above it, a connection idle for 30 s is closed. The default covers the statements the device endpoint keeps in flight, so traffic after a quiet spell does not wait for new connections.',
      0,
      1000,
    ),
    connectTimeoutMs: int(
      'POSTGRES_CONNECT_TIMEOUT_MS',
      2000,
      'Longest a request waits for a PostgreSQL connection before answering 503.',
      100,
    ),
    statementTimeoutMs: int(
      'POSTGRES_STATEMENT_TIMEOUT_MS',
      2000,
      'statement_timeout of every API query (a stuck database answers 503, not a hung request).',
      100,
    ),
  },
  /** Device experiments (the API). */
  experiments: {
    deviceCacheSize: int(
      'EXPERIMENTS_DEVICE_CACHE_SIZE',
      100000,
      'Devices whose assignments the API keeps in memory (assignments never change once stored, so a returning device needs no query). 0: off.',
      0,
    ),
    registerLingerMs: int(
      'EXPERIMENTS_REGISTER_LINGER_MS',
      0,
      "How long the API holds a device before its read-or-register statement (a new device's registration; every load not in the cache while most are new, see EXPERIMENTS_DEVICE_LOAD), so that devices arriving together share one statement and one commit: at 2,000 new devices/s, 1 ms cut PostgreSQL CPU by ~28% and the API by ~19%, for ~1 ms more latency. 0: a statement waits only for the one already running.",
      0,
      100,
    ),
    deviceQueueMax: int(
      'EXPERIMENTS_DEVICE_QUEUE_MAX',
      10000,
      'Most device requests waiting for their lookup, and most for their registration, to start (each queue); one more answers 503 with Retry-After at once instead of waiting. Normally a few wait, behind the statement in flight; thousands mean PostgreSQL has stalled, and the default is a few seconds of arrivals at a few thousand devices/s, about where the edge (10 s) would give up on them anyway.',
      1,
    ),
    deviceRetentionDays: int(
      'EXPERIMENTS_DEVICE_RETENTION_DAYS',
      180,
      'Devices not seen for this many days are deleted with their assignments (daily, by every API process), so tokens that never come back do not pile up; a device is recorded as seen about once a day, never per request. A deleted device that returns is a new device (eligible only for experiments created after). Experiment stats then count the devices seen within the window: keep it longer than experiments run. 0: keep devices forever.',
      0,
    ),
    deviceLoad: oneOf(
      'EXPERIMENTS_DEVICE_LOAD',
      'adaptive',
      ['adaptive', 'lookup-first', 'one-statement'] as const,
      'How the API loads a device it does not hold: `lookup-first` (a read, then a registration for a device not found), `one-statement` (read-or-register in one statement, one at a time), or `adaptive` (one statement while most devices loaded are new, lookup first otherwise).',
    ),
    cacheMs: int(
      'EXPERIMENTS_CACHE_MS',
      1000,
      'How long the API reuses the list of running experiments (how soon a new or stopped experiment takes effect).',
      0,
      600000,
    ),
  },
  /** Admin access (experiments, segments, reports). */
  admin: {
    role: str(
      'ADMIN_ROLE',
      'admin',
      'JWT role (`role` or `roles` claim) that may manage experiments and read their stats.',
    ),
    cookie: str(
      'ADMIN_COOKIE',
      'sa_stats_session',
      "Cookie holding the stats page's session, set by signing in at `/pages/experiment-stats/login` (a browser cannot send a bearer header without JavaScript). HttpOnly, Secure, SameSite=Strict; it opens the stats views only and is never a token.",
    ),
    statsSessionTtlSeconds: int(
      'STATS_SESSION_TTL_SECONDS',
      3600,
      "How long a stats-page session lasts (never past the admin token's own expiry).",
      60,
      7 * 24 * 3600,
    ),
  },
  /** User segments (the API). */
  segments: {
    rolloutTimeoutMs: int(
      'SEGMENT_ROLLOUT_TIMEOUT_MS',
      120000,
      'Longest the percentage rollout of a new segment over every user may take (one statement; the create request waits for it).',
      1000,
    ),
    devRoutes: bool(
      'DEV_ROUTES',
      false,
      'Dev-only HTTP routes to create and delete users (production users arrive from the users topic). `npm start` turns them on.',
    ),
  },
  /** The users topic replica (the API). */
  usersReplica: {
    enabled: bool(
      'USERS_REPLICA_ENABLED',
      true,
      'Whether this API process consumes the users topic into PostgreSQL (one consumer group across API replicas).',
    ),
    groupId: str('USERS_REPLICA_GROUP_ID', 'users-replica', 'Consumer group of the users replica.'),
    concurrency: int(
      'USERS_REPLICA_CONCURRENCY',
      3,
      'Partitions of the users topic applied concurrently (each holds one PostgreSQL connection while applying).',
      1,
      64,
    ),
    sessionTimeoutMs: int(
      'USERS_REPLICA_SESSION_TIMEOUT_MS',
      30000,
      'Consumer session timeout of the users replica: how long a crashed API holds its partitions of the users topic before a rebalance.',
      6000,
      300000,
    ),
    retryInitialMs: int(
      'USERS_REPLICA_RETRY_INITIAL_MS',
      200,
      'First backoff after a transient PostgreSQL or commit error in the users replica.',
      1,
    ),
    retryMaxMs: int(
      'USERS_REPLICA_RETRY_MAX_MS',
      10000,
      'Backoff cap for transient PostgreSQL or commit errors in the users replica.',
      1,
    ),
  },
  /** Continue watching and resume: the read model in PostgreSQL (read by the API) and the projection that feeds it (run by the ETL). */
  resume: {
    minPct: int(
      'MIN_RESUME_PCT',
      5,
      'A film watched less than this percent of its duration is not listed in continue watching (`GET /api/v1/progress`).',
      0,
      100,
    ),
    maxPct: int(
      'MAX_RESUME_PCT',
      90,
      'A film watched more than this percent of its duration counts as watched: not listed in continue watching, `watched: true` in its resume lookup. Above MIN_RESUME_PCT.',
      0,
      100,
    ),
    projectionEnabled: bool(
      'RESUME_PROJECTION_ENABLED',
      true,
      'Whether this ETL (or standalone) process consumes the progress topic into the resume read model in PostgreSQL at POSTGRES_URL (one consumer group across ETL replicas, beside the ETL group). The API serves resume reads either way and never runs the projection.',
    ),
    maxWaitMs: int(
      'RESUME_PROJECTION_MAX_WAIT_MS',
      200,
      'Longest the broker holds the fetch of the resume projection to gather a batch (64 KiB): bounds how long after its 202 a position shows in resume reads, beside the upsert itself. Larger: fewer PostgreSQL statements per event.',
      0,
      10000,
    ),
    groupId: str('RESUME_PROJECTION_GROUP_ID', 'progress-resume', 'Consumer group of the resume projection.'),
    retentionDays: int(
      'RESUME_RETENTION_DAYS',
      365,
      'Resume positions last watched (`last_watched_at`) more than this many days ago are deleted from the resume read model in PostgreSQL (daily, off the request path, by one API process at a time), so viewers and films never watched again do not pile up. The film then plays from the start and leaves continue watching; ClickHouse keeps its history (`progress_events`, `progress_latest`). 0: keep positions forever.',
      0,
      36500,
    ),
    sessionTimeoutMs: int(
      'RESUME_PROJECTION_SESSION_TIMEOUT_MS',
      30000,
      'Consumer session timeout of the resume projection: how long a crashed ETL process holds the partitions of the progress topic before a rebalance.',
      6000,
      300000,
    ),
    retryInitialMs: int(
      'RESUME_PROJECTION_RETRY_INITIAL_MS',
      200,
      'First backoff after a transient PostgreSQL or commit error in the resume projection.',
      1,
    ),
    retryMaxMs: int(
      'RESUME_PROJECTION_RETRY_MAX_MS',
      10000,
      'Backoff cap for transient PostgreSQL or commit errors in the resume projection.',
      1,
    ),
  },
  /** Segment history reports and links. */
  reports: {
    linkSecret: secretKey(
      'REPORT_LINK_SECRET',
      'Key that signs report download links (segment history); at least 32 bytes. Not set: derived from JWT_SECRET; with neither (JWKS only), a random key per process, so a link works only on the API process that made it.',
      32,
    ),
    linkTtlSeconds: int(
      'REPORT_LINK_TTL_SECONDS',
      900,
      'How long a report download link works.',
      1,
      7 * 24 * 3600,
    ),
    statementTimeoutMs: int(
      'REPORT_STATEMENT_TIMEOUT_MS',
      600000,
      'Longest a report download may stream (statement_timeout of its own PostgreSQL connection).',
      1000,
    ),
    maxConcurrent: int(
      'REPORT_MAX_CONCURRENT',
      2,
      'Report downloads streaming at once per API process (each holds its own PostgreSQL connection); more answer 503.',
      1,
      100,
    ),
    publicBaseUrl: url(
      'PUBLIC_BASE_URL',
      "Origin put in links the API hands out (e.g. https://analytics.example.com). Not set: links are root-relative (`/api/v1/...`); never taken from the request's Host or X-Forwarded-Host.",
    ),
  },
  /** "Where is my event?" (the API). */
  eventStatus: {
    scanMaxMessages: int(
      'EVENT_STATUS_SCAN_MAX_MESSAGES',
      20000,
      'Most Kafka messages one `GET /api/v1/events/{event_id}/status` reads from what the ETL has not committed yet, looking for an event not stored: past it the answer is `unknown`.',
      0,
    ),
    fetchMaxBytes: int(
      'EVENT_STATUS_FETCH_MAX_BYTES',
      1048576,
      'Bytes per Kafka fetch request of that search.',
      1024,
    ),
  },
  /** Erasure of a viewer (API: the jobs; ETL: the suppression list). */
  erasure: {
    listRefreshMs: int(
      'ERASURE_LIST_REFRESH_MS',
      5000,
      "Oldest the ETL's copy of the erased viewers' list may be when it stores a batch (it reloads from ClickHouse first). Below ERASURE_SETTLE_MS.",
      50,
      600000,
    ),
    jobsEnabled: bool(
      'ERASURE_JOBS_ENABLED',
      true,
      'Whether this API process runs erasure jobs (any number of API replicas may: a job is leased to one at a time).',
    ),
    settleMs: int(
      'ERASURE_SETTLE_MS',
      60000,
      'How long an erasure waits after writing the suppression entry before its second delete pass: longer than ERASURE_LIST_REFRESH_MS plus the longest ETL insert, so a batch stored with a list from before the entry is deleted too.',
      0,
      3600000,
    ),
    pollMs: int(
      'ERASURE_POLL_MS',
      1000,
      'How often an API process looks for an erasure job to run.',
      10,
      600000,
    ),
    backlogPollMs: int(
      'ERASURE_BACKLOG_POLL_MS',
      15000,
      'How often every API process reads the erasure jobs not done into erasure_jobs_open and erasure_oldest_open_seconds (whether or not it runs jobs).',
      1000,
      600000,
    ),
    erasedPollMs: int(
      'ERASED_VIEWERS_POLL_MS',
      5000,
      'How often every API process reads the viewers whose erasure was asked for, to refuse their new events (403 viewer_erased); the process that takes the request knows at once.',
      500,
      600000,
    ),
    leaseMs: int(
      'ERASURE_LEASE_MS',
      300000,
      'How long a job belongs to the process running it without news: a process that died mid-job leaves it to another after this.',
      1000,
    ),
  },
  /** APM (read by the Elastic APM agent itself, lib/apm/start.ts). */
  apm: {
    serverUrl: url(
      'ELASTIC_APM_SERVER_URL',
      'Elastic APM server. Not set: APM off (the agent is not even started).',
    ),
    serviceName: str('ELASTIC_APM_SERVICE_NAME', 'streaming-analytics', 'Service name in APM.'),
    secretToken: optionalStr('ELASTIC_APM_SECRET_TOKEN', 'APM server secret token (never logged).', true),
    environment: optionalStr('ELASTIC_APM_ENVIRONMENT', 'Environment name shown in APM.'),
  },
} satisfies Record<string, Record<string, Option<unknown>>>;

type Options = typeof OPTIONS;
type Slice<S> = Readonly<{ [K in keyof S]: S[K] extends Option<infer T> ? T : never }>;
/** The whole config, one typed slice per component that reads it (config.kafka, config.etl, ...). */
export type Config = Readonly<{ [S in keyof Options]: Slice<Options[S]> }>;

function sections(): [string, Record<string, Option<unknown>>][] {
  return Object.entries(OPTIONS);
}

/** Reads and validates every option; throws ConfigError naming the key on the first bad one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, options] of sections()) {
    const slice: Record<string, unknown> = {};
    for (const [name, option] of Object.entries(options)) slice[name] = option.parse(env[option.key]);
    out[section] = Object.freeze(slice);
  }
  const config = Object.freeze(out) as Config;
  checkJwksBinding(config.auth);
  // Rules between options (each one alone already parsed).
  checkKafkaSecurity(config.kafka);
  checkResumeBounds(config.resume);
  checkErasureBounds(config.erasure);
  return config;
}

function checkResumeBounds(c: Config['resume']): void {
  if (c.minPct >= c.maxPct)
    throw new ConfigError('MAX_RESUME_PCT', String(c.maxPct), `above MIN_RESUME_PCT (${c.minPct})`);
}

function checkErasureBounds(c: Config['erasure']): void {
  if (c.settleMs <= c.listRefreshMs)
    throw new ConfigError(
      'ERASURE_SETTLE_MS',
      String(c.settleMs),
      `above ERASURE_LIST_REFRESH_MS (${c.listRefreshMs})`,
    );
}

/** Config safe to log: secrets replaced, passwords in URLs masked. */
export function redactedConfig(config: Config): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, options] of sections()) {
    const slice: Record<string, unknown> = {};
    const values = (config as Record<string, Record<string, unknown>>)[section]!;
    for (const [name, option] of Object.entries(options)) {
      const value = values[name];
      slice[name] = option.secret && value !== undefined ? '[redacted]' : maskConfigValue(value);
    }
    out[section] = slice;
  }
  return out;
}
