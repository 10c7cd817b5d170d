import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../log.js';
import { backoffDelay, sleep, type BackoffOptions } from '../retry.js';
import type { DeadLetter, DeadLetterPublisher } from './dead-letters.js';

export interface PartitionConsumerOptions {
  topic: string;
  groupId: string;
  /** How long a crashed process holds its partitions before a rebalance. */
  sessionTimeoutMs: number;
  /** Partitions handled at once by this process. */
  partitionsConcurrency: number;
  /** Backoff between attempts of work retried while the partition is held. */
  retry: BackoffOptions;
  /** Fetch sizing handed to kafkajs as is. */
  fetch?: Pick<ConsumerConfig, 'minBytes' | 'maxWaitTimeInMs' | 'maxBytesPerPartition' | 'maxBytes'>;
}

export interface PartitionConsumerDeps {
  kafka: Kafka;
  log: Logger;
  /** Writes dead letters in one transaction with the commit past them. */
  deadLetters?: Pick<DeadLetterPublisher, 'publishAndCommit'>;
  /** Called on every failed attempt of retried work (the owner's stats). */
  onRetry?: () => void;
}

export type Outcome<T> = { done: true; value: T } | { done: false };

export interface RetryOptions {
  /** Added to the failure and recovery log lines. */
  context?: Record<string, unknown>;
  /** An error this refuses is thrown at once instead of retried (default: retry all). */
  retriable?: (err: unknown) => boolean;
}

/**
 * One topic read partition by partition, committing only after the work: kafkajs never
 * commits or resolves on its own (auto-commit and auto-resolve off), so an offset moves
 * only when its owner calls commit(). Work that fails is retried in place, holding the
 * partition, with capped, jittered backoff and a heartbeat between attempts, until it
 * succeeds or the partition must be let go (stop, rebalance, stale batch); then nothing
 * more is committed and the rest is delivered again to whoever owns the partition next.
 */
export class PartitionConsumer {
  private readonly consumer: Consumer;
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: PartitionConsumerDeps,
    private readonly opts: PartitionConsumerOptions,
  ) {
    this.consumer = deps.kafka.consumer({
      groupId: opts.groupId,
      ...opts.fetch,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 10)),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10000 },
    });
  }

  get kafkaConsumer(): Consumer {
    return this.consumer;
  }

  async start(handle: (partition: HeldPartition) => Promise<void>): Promise<void> {
    await this.consumer.connect();
    // A new group reads the whole topic: a new ETL loads all of it, a new replica rebuilds.
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConcurrency,
      eachBatch: (payload) =>
        handle(new HeldPartition(payload, this.consumer, this.deps, this.opts, this.stopping.signal)),
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    // kafkajs waits for running eachBatch calls to return before leaving the group.
    await this.consumer.disconnect();
  }
}

/** One fetched batch of one partition, held by its handler until the handler returns. */
export class HeldPartition {
  readonly log: Logger;

  constructor(
    readonly payload: EachBatchPayload,
    private readonly consumer: Pick<Consumer, 'commitOffsets'>,
    private readonly deps: PartitionConsumerDeps,
    private readonly opts: PartitionConsumerOptions,
    private readonly stopping: AbortSignal,
  ) {
    this.log = deps.log.child({ partition: payload.batch.partition });
  }

  get batch(): EachBatchPayload['batch'] {
    return this.payload.batch;
  }

  /** False once the partition must be let go: the consumer stops, a rebalance, a stale batch. */
  active(): boolean {
    return this.payload.isRunning() && !this.payload.isStale() && !this.stopping.aborted;
  }

  heartbeat(): Promise<void> {
    return this.payload.heartbeat();
  }

  /**
   * Runs op until it succeeds, backing off between failures and heartbeating so the
   * partition stays ours; not done when the partition must be let go. Logs `${what}_failed`
   * per failure and `${what}_recovered` on the success after one.
   */
  async retry<T>(what: string, op: () => Promise<T>, opts: RetryOptions = {}): Promise<Outcome<T>> {
    const context = opts.context ?? {};
    for (let attempt = 0; ; attempt++) {
      try {
        const value = await op();
        if (attempt > 0) this.log.info({ ...context, attempts: attempt + 1 }, `${what}_recovered`);
        return { done: true, value };
      } catch (err) {
        if (opts.retriable !== undefined && !opts.retriable(err)) throw err;
        this.deps.onRetry?.();
        const delay = backoffDelay(attempt, this.opts.retry);
        this.log.warn({ ...context, err, attempt, retry_in_ms: delay }, `${what}_failed`);
        await sleep(delay, this.stopping);
        if (!this.active()) return { done: false };
        await this.payload
          .heartbeat()
          .catch((hbErr: unknown) => this.log.warn({ err: hbErr }, 'kafka_heartbeat_failed'));
      }
    }
  }

  /**
   * Commits past `lastOffset`, once; with letters, in one transaction with them, so they
   * are written once even across crashes. Call it only after the work up to there is done.
   */
  async commit(lastOffset: string, letters: DeadLetter[] = []): Promise<void> {
    const commit = {
      groupId: this.opts.groupId,
      topic: this.batch.topic,
      partition: this.batch.partition,
      offset: (BigInt(lastOffset) + 1n).toString(),
    };
    if (letters.length === 0) return this.consumer.commitOffsets([commit]);
    if (this.deps.deadLetters === undefined) throw new Error('dead letters need deps.deadLetters');
    return this.deps.deadLetters.publishAndCommit(letters, commit);
  }
}
