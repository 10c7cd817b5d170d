import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../../lib/log.js';
import type { Service } from '../../lib/lifecycle.js';
import { backoffDelay, sleep } from '../../lib/retry.js';
import { buildInsertBlocks, nextOffset, type Decoder, type InsertBlock } from './batch-builder.js';
import type { ClickHouseSink } from './clickhouse-sink.js';

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

export interface BatchConsumerStats {
  rowsInserted: number;
  blocksInserted: number;
  rejected: number;
  insertRetries: number;
}

/**
 * Kafka → ClickHouse for one topic. Commit follows insert: a block's offsets are committed
 * only after ClickHouse accepted it. A transient insert failure holds the partition (no
 * commit, no further fetch for it) and retries with capped, jittered backoff while
 * heartbeating; it gives up only when the consumer stops or the batch went stale in a
 * rebalance, and then the uncommitted range is simply delivered again (the dedup token
 * makes that replay harmless).
 */
export class BatchConsumer<R> implements Service {
  readonly name: string;
  readonly stats: BatchConsumerStats = { rowsInserted: 0, blocksInserted: 0, rejected: 0, insertRetries: 0 };
  private readonly consumer: Consumer;
  private stopping = new AbortController();

  constructor(
    kafka: Kafka,
    private readonly sink: ClickHouseSink<R>,
    private readonly decode: (partition: number) => Decoder<R>,
    private readonly opts: BatchConsumerOptions,
    private readonly log: Logger,
  ) {
    this.name = `consumer:${opts.topic}`;
    this.consumer = kafka.consumer({
      groupId: opts.groupId,
      minBytes: opts.fetchMinBytes,
      maxWaitTimeInMs: opts.batchMaxWaitMs,
      maxBytesPerPartition: opts.fetchMaxBytesPerPartition,
      maxBytes: opts.fetchMaxBytesPerPartition * Math.max(2, opts.partitionsConcurrency),
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 10)),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10000 },
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConcurrency,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    // kafkajs waits for the running eachBatch calls to return before leaving the group.
    await this.consumer.disconnect();
  }

  /** kafkajs consumer, for lag inspection and instrumentation. */
  get kafkaConsumer(): Consumer {
    return this.consumer;
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const log = this.log.child({ topic: batch.topic, partition: batch.partition });
    const blocks = buildInsertBlocks(
      batch.topic,
      batch.partition,
      batch.messages,
      this.opts.batchMaxRows,
      this.decode(batch.partition),
    );
    for (const block of blocks) {
      if (!payload.isRunning() || payload.isStale()) return;
      const inserted = await this.insertWithRetry(block, log, payload);
      if (!inserted) return;
      this.reportRejects(block, log);
      payload.resolveOffset(block.lastOffset);
      await this.consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: nextOffset(block.lastOffset) },
      ]);
      this.stats.blocksInserted += 1;
      this.stats.rowsInserted += block.rows.length;
      log.debug(
        { first_offset: block.firstOffset, last_offset: block.lastOffset, rows: block.rows.length },
        'etl_block_committed',
      );
      await payload.heartbeat();
    }
  }

  /** True once inserted; false when the consumer is stopping or the batch went stale. */
  private async insertWithRetry(
    block: InsertBlock<R>,
    log: Logger,
    payload: EachBatchPayload,
  ): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.sink.insert(block.rows, block.token);
        if (attempt > 0) log.info({ attempts: attempt + 1, token: block.token }, 'etl_insert_recovered');
        return true;
      } catch (err) {
        this.stats.insertRetries += 1;
        const delay = backoffDelay(attempt, {
          initialMs: this.opts.retryInitialMs,
          maxMs: this.opts.retryMaxMs,
        });
        log.warn(
          {
            err,
            attempt,
            retry_in_ms: delay,
            first_offset: block.firstOffset,
            last_offset: block.lastOffset,
          },
          'etl_insert_failed',
        );
        await sleep(delay, this.stopping.signal);
        if (!payload.isRunning() || payload.isStale() || this.stopping.signal.aborted) return false;
        await payload.heartbeat().catch((hbErr: unknown) => log.warn({ err: hbErr }, 'etl_heartbeat_failed'));
      }
    }
  }

  private reportRejects(block: InsertBlock<R>, log: Logger): void {
    // TODO(issue 3): dead-letter topic. Until then rejects are logged with coordinates.
    for (const r of block.rejects) {
      this.stats.rejected += 1;
      log.error({ offset: r.offset, reason: r.reason }, 'etl_message_rejected');
    }
  }
}
