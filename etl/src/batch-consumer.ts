import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../../lib/log.js';
import type { Metrics } from '../../lib/metrics/registry.js';
import type { Service } from '../../lib/lifecycle.js';
import { backoffDelay, sleep } from '../../lib/retry.js';
import {
  buildInsertBlocks,
  dropSeen,
  nextOffset,
  type BlockRow,
  type Decoder,
  type InsertBlock,
} from './batch-builder.js';
import type { ClickHouseSink } from './clickhouse-sink.js';
import type { DeadLetter, DeadLetterPublisher } from '../../lib/kafka/dead-letters.js';
import type { PartitionWindows } from './dedup/partition-windows.js';
import { isPermanentInsertError } from './insert-errors.js';
import { inTransaction } from '../../lib/apm/tracing.js';
import { faultPoint } from '../../lib/runtime/fault-point.js';

export interface BatchConsumerOptions {
  topic: string;
  groupId: string;
  batchMaxRows: number;
  batchMaxWaitMs: number;
  fetchMinBytes: number;
  fetchMaxBytesPerPartition: number;
  partitionsConcurrency: number;
  sessionTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface BatchConsumerDeps {
  kafka: Kafka;
  sink: ClickHouseSink;
  /** Decodes a message into its table's JSONEachRow line (row-line.ts). */
  decode: (partition: number) => Decoder<Buffer>;
  windows: PartitionWindows;
  deadLetters: DeadLetterPublisher;
  log: Logger;
  metrics: Metrics;
  /** ClickHouse table, for metric labels. */
  table: string;
}

export interface BatchConsumerStats {
  rowsInserted: number;
  blocksInserted: number;
  duplicatesDropped: number;
  deadLettered: number;
  transientFailures: number;
}

type Outcome<T> = { done: true; value: T } | { done: false };

/**
 * Kafka → ClickHouse for one topic, exactly once into the table:
 * - commit follows insert: a block's offsets are committed only after ClickHouse accepted
 *   its rows and its dead letters are in the DLQ topic;
 * - a client retry (same event id, same key, same partition) is dropped by the partition's
 *   window of seen ids, rebuilt from ClickHouse after every rebalance;
 * - an insert retried after an ambiguous failure reuses its dedup token, so ClickHouse
 *   drops the block if the first attempt had in fact succeeded;
 * - transient failures hold the partition and retry with capped, jittered backoff while
 *   heartbeating; data ClickHouse rejects is bisected down to the bad rows, which go to
 *   the DLQ, so one bad row never blocks or sinks its block.
 * If the consumer stops or the batch goes stale mid-way, nothing more is committed and the
 * rest is delivered again to whoever owns the partition next.
 */
export class BatchConsumer implements Service {
  readonly name: string;
  readonly stats: BatchConsumerStats = {
    rowsInserted: 0,
    blocksInserted: 0,
    duplicatesDropped: 0,
    deadLettered: 0,
    transientFailures: 0,
  };
  private readonly consumer: Consumer;
  private readonly stopping = new AbortController();
  /** Partitions whose first block since the last (re)assignment was checked in ClickHouse. */
  private readonly checked = new Set<number>();
  /** Tells this process's re-insert tokens apart from any earlier process's. */
  private readonly incarnation = randomUUID();
  private readonly log: Logger;

  constructor(
    private readonly deps: BatchConsumerDeps,
    private readonly opts: BatchConsumerOptions,
  ) {
    this.name = `consumer:${opts.topic}`;
    this.log = deps.log.child({ topic: opts.topic });
    this.consumer = deps.kafka.consumer({
      groupId: opts.groupId,
      minBytes: opts.fetchMinBytes,
      maxWaitTimeInMs: opts.batchMaxWaitMs,
      maxBytesPerPartition: opts.fetchMaxBytesPerPartition,
      maxBytes: opts.fetchMaxBytesPerPartition * Math.max(2, opts.partitionsConcurrency),
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 10)),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10000 },
    });
    // A rebalance may have moved partitions: their windows must be rebuilt from ClickHouse.
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      deps.windows.invalidate();
      this.checked.clear();
      this.log.info({ assignment: e.payload.memberAssignment }, 'etl_partitions_assigned');
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConcurrency,
      eachBatch: (payload) =>
        inTransaction(`ETL batch ${payload.batch.topic}`, 'messaging', () => this.handleBatch(payload)),
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    // kafkajs waits for running eachBatch calls to return before leaving the group.
    await this.consumer.disconnect();
  }

  get kafkaConsumer(): Consumer {
    return this.consumer;
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const log = this.log.child({ partition: batch.partition });
    const window = await this.retry(payload, log, 'dedup_window_load', () =>
      this.deps.windows.forPartition(batch.partition),
    );
    if (!window.done) return;
    const blocks = buildInsertBlocks(
      batch.topic,
      batch.partition,
      batch.messages,
      this.opts.batchMaxRows,
      this.deps.decode(batch.partition),
    );
    for (const block of blocks) {
      if (!this.active(payload)) return;
      const { fresh, dropped: droppedBySeen } = dropSeen(block.rows, (id) => window.value.has(id));
      const alreadyStored = new Set<string>(); // found stored after an ambiguous failure
      const dead = await this.insertAll(fresh, block.token, payload, log, alreadyStored);
      if (!dead.done) return;
      if (!this.checked.has(batch.partition)) {
        const landed = await this.insertMissing(fresh, dead.value, block, payload, log, alreadyStored);
        if (!landed.done) return;
        dead.value.push(...landed.value);
        this.checked.add(batch.partition);
      }
      const letters = this.lettersFor(batch.topic, batch.partition, block, dead.value);
      const commit = {
        groupId: this.opts.groupId,
        topic: batch.topic,
        partition: batch.partition,
        offset: nextOffset(block.lastOffset),
      };
      faultPoint('etl-after-insert');
      if (letters.length > 0) {
        // Letters and the commit past them in one transaction: written once, even across crashes.
        const sent = await this.retry(payload, log, 'dead_letter_publish', () =>
          this.deps.deadLetters.publishAndCommit(letters, commit),
        );
        if (!sent.done) return;
        for (const l of letters)
          log.warn({ offset: l.offset, stage: l.stage, reason: l.reason }, 'etl_dead_letter');
      } else {
        await this.consumer.commitOffsets([commit]);
      }
      faultPoint('etl-after-commit');
      const deadIds = new Set(dead.value.map((d) => d.row.offset));
      const inserted = fresh.length - deadIds.size - alreadyStored.size;
      const dropped = droppedBySeen + alreadyStored.size;
      const now = Date.now();
      for (const r of fresh) if (!deadIds.has(r.offset)) window.value.add(r.id, now);
      payload.resolveOffset(block.lastOffset);
      this.observe(batch, block, inserted, dropped, letters);
      this.stats.blocksInserted += 1;
      this.stats.rowsInserted += inserted;
      this.stats.duplicatesDropped += dropped;
      this.deps.windows.duplicatesDropped += dropped;
      this.stats.deadLettered += letters.length;
      log.debug(
        {
          first_offset: block.firstOffset,
          last_offset: block.lastOffset,
          rows: inserted,
          duplicates: dropped,
          dead_letters: letters.length,
        },
        'etl_block_committed',
      );
      await payload.heartbeat();
    }
  }

  /**
   * Inserts rows; on a permanent error splits them in halves (each with its own
   * deterministic sub-token) until the rows ClickHouse rejects are isolated. Returns those
   * rows with the reason, or not done when the consumer stopped meanwhile.
   */
  private async insertAll(
    rows: BlockRow<Buffer>[],
    token: string,
    payload: EachBatchPayload,
    log: Logger,
    alreadyStored: Set<string>,
  ): Promise<Outcome<{ row: BlockRow<Buffer>; reason: string }[]>> {
    if (rows.length === 0) return { done: true, value: [] };
    let permanent: unknown;
    let pending = rows;
    let attempts = 0;
    const attempt = await this.retry(
      payload,
      log,
      'etl_insert',
      async () => {
        if (attempts++ > 0)
          pending = await this.withoutStored(pending, payload.batch.partition, alreadyStored);
        if (pending.length === 0) return;
        const labels = { table: this.deps.table };
        const end = this.deps.metrics.insertDuration.startTimer(labels);
        try {
          await this.deps.sink.insert(
            pending.map((r) => r.row),
            token,
          );
          end();
          this.deps.metrics.insertBlockRows.observe(labels, pending.length);
        } catch (err) {
          this.deps.metrics.insertFailures.inc(labels);
          if (!isPermanentInsertError(err)) throw err;
          permanent = err;
        }
      },
      { token },
    );
    if (!attempt.done) return attempt;
    if (permanent === undefined) return { done: true, value: [] };
    if (pending.length === 1) {
      return { done: true, value: [{ row: pending[0]!, reason: (permanent as Error).message }] };
    }
    log.warn({ token, rows: pending.length, err: permanent }, 'etl_insert_rejected_bisecting');
    const mid = Math.floor(pending.length / 2);
    const dead: { row: BlockRow<Buffer>; reason: string }[] = [];
    for (const half of [pending.slice(0, mid), pending.slice(mid)]) {
      const sub = await this.insertAll(
        half,
        `${token}/${half[0]!.offset}-${half[half.length - 1]!.offset}`,
        payload,
        log,
        alreadyStored,
      );
      if (!sub.done) return sub;
      dead.push(...sub.value);
    }
    return { done: true, value: dead };
  }

  /**
   * The first block of a partition after a (re)assignment starts at the committed offset,
   * where a process killed mid-insert may have left its dedup token without its rows:
   * ClickHouse logs a block's token before it commits the part, so a kill in between keeps
   * the token and loses the part, and this block (same range, same token) would be dropped
   * as the duplicate of rows that were never stored, its offsets then committed. So its
   * rows are checked in ClickHouse once inserted, and any missing are inserted again under
   * a token of this process. Later blocks start past what this process committed itself.
   */
  private async insertMissing(
    fresh: BlockRow<Buffer>[],
    dead: { row: BlockRow<Buffer> }[],
    block: InsertBlock<Buffer>,
    payload: EachBatchPayload,
    log: Logger,
    alreadyStored: Set<string>,
  ): Promise<Outcome<{ row: BlockRow<Buffer>; reason: string }[]>> {
    if (fresh.length === 0) return { done: true, value: [] };
    const deadOffsets = new Set(dead.map((d) => d.row.offset));
    const stored = await this.retry(payload, log, 'etl_first_block_check', () =>
      this.deps.windows.storedInRange(payload.batch.partition, block.firstOffset, block.lastOffset),
    );
    if (!stored.done) return stored;
    const missing = fresh.filter((r) => !deadOffsets.has(r.offset) && !stored.value.has(r.id));
    if (missing.length === 0) return { done: true, value: [] };
    log.warn({ token: block.token, rows: missing.length }, 'etl_dedup_token_without_rows');
    return this.insertAll(missing, `${block.token}@${this.incarnation}`, payload, log, alreadyStored);
  }

  /**
   * After a failed insert whose outcome is unknown (the connection dropped, the server
   * died after writing), ask ClickHouse which of these rows it already has and keep only
   * the rest. The dedup token covers this on servers that support it; this covers the
   * others, and token windows that rolled over.
   */
  private async withoutStored(
    rows: BlockRow<Buffer>[],
    partition: number,
    alreadyStored: Set<string>,
  ): Promise<BlockRow<Buffer>[]> {
    const stored = await this.deps.windows.storedInRange(
      partition,
      rows[0]!.offset,
      rows[rows.length - 1]!.offset,
    );
    if (stored.size === 0) return rows;
    for (const r of rows) if (stored.has(r.id)) alreadyStored.add(r.id);
    return rows.filter((r) => !stored.has(r.id));
  }

  private observe(
    batch: EachBatchPayload['batch'],
    block: InsertBlock<Buffer>,
    rows: number,
    dropped: number,
    letters: DeadLetter[],
  ): void {
    const m = this.deps.metrics;
    const topic = batch.topic;
    m.rowsInserted.inc({ table: this.deps.table }, rows);
    if (dropped > 0) m.duplicatesDropped.inc({ topic }, dropped);
    for (const l of letters) m.deadLetters.inc({ topic, stage: l.stage });
    // Lag after this block: high-water mark minus the next offset to read.
    const lag = Number(BigInt(batch.highWatermark) - BigInt(block.lastOffset) - 1n);
    m.consumerLag.set({ topic, partition: String(batch.partition) }, Math.max(0, lag));
    m.dedupWindowIds.set({ topic }, this.deps.windows.ids);
    m.dedupWindowBytes.set({ topic }, this.deps.windows.bytes);
  }

  private lettersFor(
    topic: string,
    partition: number,
    block: InsertBlock<Buffer>,
    dead: { row: BlockRow<Buffer>; reason: string }[],
  ): DeadLetter[] {
    return [
      ...block.rejects.map((r) => ({ ...r, sourceTopic: topic, partition, stage: 'decode' as const })),
      ...dead.map(({ row, reason }) => ({
        sourceTopic: topic,
        partition,
        offset: row.offset,
        key: row.key,
        value: row.value,
        reason,
        stage: 'insert' as const,
      })),
    ].sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  }

  private active(payload: EachBatchPayload): boolean {
    return payload.isRunning() && !payload.isStale() && !this.stopping.signal.aborted;
  }

  /** Runs op until it succeeds, backing off between failures; not done if we must stop. */
  private async retry<T>(
    payload: EachBatchPayload,
    log: Logger,
    what: string,
    op: () => Promise<T>,
    context: Record<string, unknown> = {},
  ): Promise<Outcome<T>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const value = await op();
        if (attempt > 0) log.info({ ...context, attempts: attempt + 1 }, `${what}_recovered`);
        return { done: true, value };
      } catch (err) {
        this.stats.transientFailures += 1;
        const delay = backoffDelay(attempt, {
          initialMs: this.opts.retryInitialMs,
          maxMs: this.opts.retryMaxMs,
        });
        log.warn({ ...context, err, attempt, retry_in_ms: delay }, `${what}_failed`);
        await sleep(delay, this.stopping.signal);
        if (!this.active(payload)) return { done: false };
        await payload.heartbeat().catch((hbErr: unknown) => log.warn({ err: hbErr }, 'etl_heartbeat_failed'));
      }
    }
  }
}
