import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { runQueueWaitCounter } from './runqueue-wait.js';

/**
 * Every metric the platform exports, in one typed object per process. Names carry units
 * (_seconds, _bytes, _total); the Grafana dashboard test checks each panel's query names
 * one of these. Built once in main.ts and passed down as a dependency (no global registry).
 */
export function createMetrics(defaultLabels: Record<string, string> = {}) {
  const registry = new Registry();
  registry.setDefaultLabels(defaultLabels);
  collectDefaultMetrics({ register: registry });
  const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  const sizeBuckets = [1, 10, 50, 100, 500, 1000, 5000, 10_000, 50_000, 100_000];
  return {
    registry,
    /** Null where the kernel does not report it (see runqueue-wait.ts). */
    eventLoopRunQueueWait: runQueueWaitCounter(registry),
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    httpRequestsShed: new Counter({
      name: 'http_requests_shed_total',
      help: 'Requests answered 503 because a dependency was down or too slow',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    experimentAssignments: new Counter({
      name: 'experiment_assignments_total',
      help: 'First assignments of a device to an experiment option (stored in PostgreSQL)',
      labelNames: ['experiment'] as const,
      registers: [registry],
    }),
    experimentExposures: new Counter({
      name: 'experiment_exposures_total',
      help: 'Exposure events by outcome: published (acknowledged by Kafka) or failed (not acknowledged: missing, or stored once if the broker had them; the assignment itself is stored)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    eventsAccepted: new Counter({
      name: 'api_events_accepted_total',
      help: 'Events acknowledged by Kafka and answered 202',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    kafkaProduceDuration: new Histogram({
      name: 'kafka_produce_duration_seconds',
      help: 'Time from a produce request to the broker acknowledgement (acks=all)',
      labelNames: ['topic'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    pgBatchKeys: new Histogram({
      name: 'pg_batch_keys',
      help: 'Keys per batched PostgreSQL statement (concurrent lookups or registrations sharing one round trip)',
      labelNames: ['statement'] as const,
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: [registry],
    }),
    pgBatchWait: new Histogram({
      name: 'pg_batch_wait_seconds',
      help: 'How long a caller of a batched PostgreSQL statement waited for its answer: the queue behind statements in flight, then the round trip',
      labelNames: ['statement'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    kafkaProduceBatchSize: new Histogram({
      name: 'kafka_produce_batch_messages',
      help: 'Messages per produce request (micro-batch size)',
      labelNames: ['topic'] as const,
      buckets: sizeBuckets,
      registers: [registry],
    }),
    publishFailures: new Counter({
      name: 'kafka_publish_failures_total',
      help: 'Publishes answered 503 because Kafka did not acknowledge: reason timeout (no ack within KAFKA_SEND_TIMEOUT_MS) or error',
      labelNames: ['topic', 'reason'] as const,
      registers: [registry],
    }),
    /** PostgreSQL pool clients by state (total, idle, waiting, max), read at scrape time from the pools passed to watch(). */
    pgPool: pgPoolGauge(registry),
    erasureBacklog: erasureBacklogGauges(registry),
    consumerLag: new Gauge({
      name: 'etl_consumer_lag_messages',
      help: 'Messages behind the partition high-water mark, per partition',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    consumerLagSeconds: new Gauge({
      name: 'etl_consumer_lag_seconds',
      help: 'Age of the newest committed message while the partition has a backlog (0 when caught up), per partition',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    consumerStalledSeconds: new Gauge({
      name: 'etl_consumer_stalled_seconds',
      help: "Seconds the group's committed offset has stood still while the partition has a backlog (0 while it moves or is caught up), read from Kafka every ETL_LAG_POLL_MS by every ETL process, per partition",
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    freshness: new Histogram({
      name: 'etl_freshness_seconds',
      help: 'Per committed block: age of its oldest message (Kafka timestamp) when its rows were stored and committed',
      labelNames: ['table'] as const,
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    }),
    etlRetries: new Counter({
      name: 'etl_retries_total',
      help: 'Failed attempts the ETL retried with backoff (inserts, dedup window loads, dead-letter publishes)',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    insertDuration: new Histogram({
      name: 'etl_insert_duration_seconds',
      help: 'ClickHouse insert duration per block',
      labelNames: ['table'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    insertBlockRows: new Histogram({
      name: 'etl_insert_block_rows',
      help: 'Rows per ClickHouse insert block',
      labelNames: ['table'] as const,
      buckets: sizeBuckets,
      registers: [registry],
    }),
    rowsInserted: new Counter({
      name: 'etl_rows_inserted_total',
      help: 'Rows ClickHouse accepted',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    insertFailures: new Counter({
      name: 'etl_insert_failures_total',
      help: 'Failed insert attempts (retried with backoff)',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    duplicatesDropped: new Counter({
      name: 'etl_duplicates_dropped_total',
      help: 'Events dropped before insert because their id was already stored',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    erasedDropped: new Counter({
      name: 'etl_erased_events_dropped_total',
      help: 'Messages of erased viewers the ETL dropped (still in Kafka, replayed from the dead-letter topic, or sent late) instead of storing them or dead-lettering them',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'etl_dead_letters_total',
      help: 'Messages sent to the dead-letter topic',
      labelNames: ['topic', 'stage'] as const,
      registers: [registry],
    }),
    usersReplicaChanges: new Counter({
      name: 'users_replica_changes_total',
      help: 'User changes read from the users topic, by result (applied, stale: not newer than the stored version, dead_letter)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    retentionRowsDeleted: new Counter({
      name: 'retention_rows_deleted_total',
      help: 'Rows the API retention jobs deleted for being past retention (devices: EXPERIMENTS_DEVICE_RETENTION_DAYS, progress_resume: RESUME_RETENTION_DAYS)',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    usersReplicaLag: new Gauge({
      name: 'users_replica_lag_messages',
      help: 'User changes on the users topic not yet applied to the local users table, per partition',
      labelNames: ['partition'] as const,
      registers: [registry],
    }),
    resumeProjectionEvents: new Counter({
      name: 'resume_projection_events_total',
      help: 'Progress events the resume projection read, by result (applied: upserted and committed; skipped: not the contract, dead-lettered by the ETL)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    resumeProjectionRunning: new Gauge({
      name: 'resume_projection_running',
      help: "1 once this process's resume projection has started (its consumer runs), 0 while it is still trying to (PostgreSQL or Kafka refusing it: resume_projection_start_failed log lines); only in a process that runs one",
      labelNames: ['group'] as const,
      registers: [registry],
    }),
    resumeProjectionLag: new Gauge({
      name: 'resume_projection_lag_messages',
      help: 'Progress events not yet in the resume read model, per partition: from the batch being applied to the high-water mark as of its fetch (0 when caught up; held while the batch is retried)',
      labelNames: ['partition'] as const,
      registers: [registry],
    }),
    dedupWindowIds: new Gauge({
      name: 'etl_dedup_window_ids',
      help: 'Event ids held in the dedup windows of this process',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    dedupWindowBytes: new Gauge({
      name: 'etl_dedup_window_bytes',
      help: 'Memory held by the dedup windows of this process',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max?: number };
}

/** Read at scrape time: a pool's counts change with every query, too often to set. */
function pgPoolGauge(registry: Registry) {
  const pools: PoolStats[] = [];
  new Gauge({
    name: 'pg_pool_clients',
    help: 'PostgreSQL pool clients by state: total (open), idle, waiting (callers queued for a client), max (pool size)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of pools) {
        this.inc({ state: 'total' }, p.totalCount);
        this.inc({ state: 'idle' }, p.idleCount);
        this.inc({ state: 'waiting' }, p.waitingCount);
        this.inc({ state: 'max' }, p.options.max ?? 10);
      }
    },
  });
  return { watch: (pool: PoolStats) => void pools.push(pool) };
}

/**
 * Erasure jobs not done, as PostgreSQL last said (api/src/erasure/erasure-backlog.ts). The
 * oldest one's age is worked out at scrape time, so it keeps growing between reads and
 * while PostgreSQL cannot be read: a job stuck for any reason ends up past the alert.
 */
function erasureBacklogGauges(registry: Registry) {
  let open = 0;
  let oldestMs: number | null = null;
  new Gauge({
    name: 'erasure_jobs_open',
    help: 'Erasure jobs requested and not done (pending or running), as of the last read of PostgreSQL',
    registers: [registry],
    collect() {
      this.set(open);
    },
  });
  new Gauge({
    name: 'erasure_oldest_open_seconds',
    help: 'Age of the oldest erasure job not done (0 when none): grows while a job waits, fails or nobody runs jobs',
    registers: [registry],
    collect() {
      this.set(oldestMs === null ? 0 : Math.max(0, Date.now() - oldestMs) / 1000);
    },
  });
  return {
    set(count: number, oldestRequestedMs: number | null): void {
      open = count;
      oldestMs = oldestRequestedMs;
    },
  };
}
