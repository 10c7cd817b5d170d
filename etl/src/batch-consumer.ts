import type { Config } from '../../lib/config/config.js';
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../lib/log.js';
import type { Metrics } from '../../lib/metrics/registry.js';
import type { Service } from '../../lib/lifecycle.js';
import { PartitionConsumer, type HeldPartition, type Outcome } from '../../lib/kafka/partition-consumer.js';
import { buildInsertBlocks, dropSeen, type BlockRow, type InsertBlock } from './batch-builder.js';
import type { ClickHouseSink } from './clickhouse-sink.js';
import type { DeadLetter, DeadLetterPublisher } from '../../lib/kafka/dead-letters.js';
import type { PartitionWindows } from './dedup/partition-windows.js';
import { isPermanentInsertError } from './insert-errors.js';
import { deadLetterRow, letterIds } from './dead-letter-row.js';
import type { BatchDecoder } from './stream-row.js';
import { withoutErased, type ErasedViewers } from './erased-viewers.js';
import { inTransaction } from '../../lib/apm/tracing.js';
import { faultPoint } from '../../lib/runtime/fault-point.js';

const NONE_ERASED: ReadonlySet<string> = new Set();

/** The ETL's consumer options (config.etl), for one source topic and its group. */
export type BatchConsumerOptions = Pick<
  Config['etl'],
  | 'batchMaxRows'
  | 'batchMaxWaitMs'
  | 'fetchMinBytes'
  | 'fetchMaxBytesPerPartition'
  | 'partitionsConcurrency'
  | 'sessionTimeoutMs'
  | 'retryInitialMs'
  | 'retryMaxMs'
> & { topic: string; groupId: string };

export interface BatchConsumerDeps {
  kafka: Kafka;
  sink: ClickHouseSink;
  /** Decodes the messages of one fetched batch into their table's JSONEachRow lines (row-line.ts). */
  decode: BatchDecoder;
  windows: PartitionWindows;
  deadLetters: DeadLetterPublisher;
  log: Logger;
  metrics: Metrics;
  /** ClickHouse table, for metric labels. */
  table: string;
  /** Stores dead letters as rows too (`dead_letters`), before they and the commit go to Kafka. */
  letterSink?: ClickHouseSink;
  /** Erased viewers: their messages are dropped, neither stored nor dead-lettered. */
  erased?: ErasedViewers;
}

export interface BatchConsumerStats {
  rowsInserted: number;
  blocksInserted: number;
  duplicatesDropped: number;
  deadLettered: number;
  transientFailures: number;
}

/**
 * Kafka → ClickHouse for one topic, exactly once into the table:
 * - commit follows insert: a block's offsets are committed only after ClickHouse accepted
 *   its rows and its dead letters are in the DLQ topic;
 * - a client retry (same event id, same key, same partition) is dropped by the partition's
 *   window of seen ids, rebuilt from ClickHouse after every rebalance;
 * - an insert retried after an ambiguous failure reuses its dedup token, so ClickHouse
 *   drops the block if the first attempt had in fact succeeded;
 * - transient failures hold the partition and retry (PartitionConsumer); data ClickHouse
 *   rejects is bisected down to the bad rows, which go to the DLQ, so one bad row never
 *   blocks or sinks its block.
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
  private readonly partitions: PartitionConsumer;
  /** Partitions whose first block since the last (re)assignment was checked in ClickHouse. */
  private readonly checked = new Set<number>();
  /** Partitions this process has reported lag for (their series go when they move away). */
  private readonly reported = new Set<number>();
  /** Tells this process's re-insert tokens apart from any earlier process's. */
  private readonly incarnation = randomUUID();
  private readonly log: Logger;

  constructor(
    private readonly deps: BatchConsumerDeps,
    private readonly opts: BatchConsumerOptions,
  ) {
    this.name = `consumer:${opts.topic}`;
    this.log = deps.log.child({ topic: opts.topic });
    this.partitions = new PartitionConsumer(
      {
        kafka: deps.kafka,
        log: this.log,
        deadLetters: deps.deadLetters,
        onRetry: () => {
          this.stats.transientFailures += 1;
          deps.metrics.etlRetries.inc({ topic: opts.topic });
        },
      },
      {
        topic: opts.topic,
        groupId: opts.groupId,
        sessionTimeoutMs: opts.sessionTimeoutMs,
        partitionsConcurrency: opts.partitionsConcurrency,
        retry: { initialMs: opts.retryInitialMs, maxMs: opts.retryMaxMs },
        fetch: {
          minBytes: opts.fetchMinBytes,
          maxWaitTimeInMs: opts.batchMaxWaitMs,
          maxBytesPerPartition: opts.fetchMaxBytesPerPartition,
          maxBytes: opts.fetchMaxBytesPerPartition * Math.max(2, opts.partitionsConcurrency),
        },
      },
    );
    // Series exist from the start, so an alert on increase() sees the first failure or dead letter.
    deps.metrics.etlRetries.inc({ topic: opts.topic }, 0);
    deps.metrics.insertFailures.inc({ table: deps.table }, 0);
    // ClickHouseInsertsFailing compares failures with rows stored: a process that restarts
    // into an outage must export the stored series too, before its first row.
    deps.metrics.rowsInserted.inc({ table: deps.table }, 0);
    deps.metrics.erasedDropped.inc({ topic: opts.topic }, 0);
    for (const stage of ['decode', 'insert'] as const)
      deps.metrics.deadLetters.inc({ topic: opts.topic, stage }, 0);
    const consumer = this.partitions.kafkaConsumer;
    // A rebalance may have moved partitions: their windows must be rebuilt from ClickHouse.
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      deps.windows.invalidate();
      this.checked.clear();
      this.forgetLagOfMovedPartitions(e.payload.memberAssignment[opts.topic] ?? []);
      this.log.info({ assignment: e.payload.memberAssignment }, 'etl_partitions_assigned');
    });
  }

  start(): Promise<void> {
    return this.partitions.start((held) =>
      inTransaction(`ETL batch ${held.batch.topic}`, 'messaging', () => this.handleBatch(held)),
    );
  }

  stop(): Promise<void> {
    return this.partitions.stop();
  }

  get kafkaConsumer(): Consumer {
    return this.partitions.kafkaConsumer;
  }

  private async handleBatch(held: HeldPartition): Promise<void> {
    const { batch, log } = held;
    if (batch.messages.length === 0) return;
    const window = await held.retry('dedup_window_load', () =>
      this.deps.windows.forPartition(batch.partition),
    );
    if (!window.done) return;
    const erased = await held.retry('erased_viewers_load', () => this.erasedList());
    if (!erased.done) return;
    const blocks = buildInsertBlocks(
      batch.topic,
      batch.partition,
      batch.messages,
      this.opts.batchMaxRows,
      this.deps.decode(batch.partition, batch.messages, erased.value.size > 0),
    );
    for (const block of blocks) {
      if (!held.active()) return;
      const kept = withoutErased(block.rows, (r) => r.viewer, erased.value);
      const { fresh, dropped: droppedBySeen, words } = dropSeen(kept.rows, window.value);
      const alreadyStored = new Set<string>(); // found stored after an ambiguous failure
      const dead = await this.insertAll(fresh, block.token, held, alreadyStored);
      if (!dead.done) return;
      if (!this.checked.has(batch.partition)) {
        const landed = await this.insertMissing(fresh, dead.value, block, held, alreadyStored);
        if (!landed.done) return;
        dead.value.push(...landed.value);
        this.checked.add(batch.partition);
      }
      const all = this.lettersFor(batch.topic, batch.partition, block, dead.value);
      const { rows: letters, dropped: erasedLetters } = withoutErased(
        all,
        (l) => letterIds(l).viewerId,
        erased.value,
      );
      faultPoint('etl-after-insert');
      if (letters.length > 0) {
        const stored = await this.storeLetters(letters, block.token, held);
        if (!stored.done) return;
        const sent = await held.retry('dead_letter_publish', () => held.commit(block.lastOffset, letters));
        if (!sent.done) return;
        for (const l of letters)
          log.warn({ offset: l.offset, stage: l.stage, reason: l.reason }, 'etl_dead_letter');
      } else {
        await held.commit(block.lastOffset);
      }
      faultPoint('etl-after-commit');
      const erasedDropped = kept.dropped + erasedLetters;
      if (erasedDropped > 0) this.deps.metrics.erasedDropped.inc({ topic: batch.topic }, erasedDropped);
      const deadIds = new Set(dead.value.map((d) => d.row.offset));
      const inserted = fresh.length - deadIds.size - alreadyStored.size;
      const dropped = droppedBySeen + alreadyStored.size;
      const now = Date.now();
      for (let i = 0; i < fresh.length; i++)
        if (!deadIds.has(fresh[i]!.offset)) window.value.addWords(words, i * 4, now);
      held.payload.resolveOffset(block.lastOffset);
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
      await held.heartbeat();
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
    held: HeldPartition,
    alreadyStored: Set<string>,
  ): Promise<Outcome<{ row: BlockRow<Buffer>; reason: string }[]>> {
    if (rows.length === 0) return { done: true, value: [] };
    let permanent: unknown;
    let pending = rows;
    let attempts = 0;
    const attempt = await held.retry(
      'etl_insert',
      async () => {
        if (attempts++ > 0) pending = await this.withoutStored(pending, held.batch.partition, alreadyStored);
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
      { context: { token } },
    );
    if (!attempt.done) return attempt;
    if (permanent === undefined) return { done: true, value: [] };
    if (pending.length === 1) {
      return { done: true, value: [{ row: pending[0]!, reason: (permanent as Error).message }] };
    }
    held.log.warn({ token, rows: pending.length, err: permanent }, 'etl_insert_rejected_bisecting');
    const mid = Math.floor(pending.length / 2);
    const dead: { row: BlockRow<Buffer>; reason: string }[] = [];
    for (const half of [pending.slice(0, mid), pending.slice(mid)]) {
      const sub = await this.insertAll(
        half,
        `${token}/${half[0]!.offset}-${half[half.length - 1]!.offset}`,
        held,
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
    held: HeldPartition,
    alreadyStored: Set<string>,
  ): Promise<Outcome<{ row: BlockRow<Buffer>; reason: string }[]>> {
    if (fresh.length === 0) return { done: true, value: [] };
    const deadOffsets = new Set(dead.map((d) => d.row.offset));
    const stored = await held.retry('etl_first_block_check', () =>
      this.deps.windows.storedInRange(held.batch.partition, block.firstOffset, block.lastOffset),
    );
    if (!stored.done) return stored;
    const missing = fresh.filter((r) => !deadOffsets.has(r.offset) && !stored.value.has(r.id));
    if (missing.length === 0) return { done: true, value: [] };
    held.log.warn({ token: block.token, rows: missing.length }, 'etl_dedup_token_without_rows');
    return this.insertAll(missing, `${block.token}@${this.incarnation}`, held, alreadyStored);
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
    batch: HeldPartition['batch'],
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
    const now = Date.now();
    const first = batch.messages.find((msg) => msg.offset === block.firstOffset);
    const last = batch.messages.find((msg) => msg.offset === block.lastOffset);
    if (first !== undefined)
      m.freshness.observe({ table: this.deps.table }, Math.max(0, now - Number(first.timestamp)) / 1000);
    const behind = lag > 0 && last !== undefined ? Math.max(0, now - Number(last.timestamp)) / 1000 : 0;
    m.consumerLagSeconds.set({ topic, partition: String(batch.partition) }, behind);
    this.reported.add(batch.partition);
    m.dedupWindowIds.set({ topic }, this.deps.windows.ids);
    m.dedupWindowBytes.set({ topic }, this.deps.windows.bytes);
  }

  /**
   * A partition another process now loads keeps, in this process, the lag it last had here;
   * its seconds behind would stand above the new owner's until a restart. Its series go;
   * the lag poller and the new owner report it from now on.
   */
  private forgetLagOfMovedPartitions(assigned: readonly number[]): void {
    const mine = new Set(assigned);
    for (const partition of this.reported) {
      if (mine.has(partition)) continue;
      const labels = { topic: this.opts.topic, partition: String(partition) };
      this.deps.metrics.consumerLag.remove(labels);
      this.deps.metrics.consumerLagSeconds.remove(labels);
      this.reported.delete(partition);
    }
  }

  private erasedList(): Promise<ReadonlySet<string>> {
    return this.deps.erased?.current() ?? Promise.resolve(NONE_ERASED);
  }

  /**
   * The block's letters as `dead_letters` rows, under a token of their own derived from the
   * block's: a block replayed after a crash between this insert and the commit stores them once.
   */
  private storeLetters(letters: DeadLetter[], token: string, held: HeldPartition): Promise<Outcome<void>> {
    const sink = this.deps.letterSink;
    if (sink === undefined) return Promise.resolve({ done: true, value: undefined });
    const now = new Date();
    const rows = letters.map((l) => deadLetterRow(l, now));
    return held.retry('dead_letter_store', () => sink.insert(rows, `${token}:dead-letters`));
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
}
