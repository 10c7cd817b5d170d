import type { Kafka } from 'kafkajs';
import { isProgressMessageV1, ProgressMessageV1 } from '../../../lib/contracts/progress.js';
import { decodeContract } from '../../../lib/kafka/decode-contract.js';
import { PartitionConsumer, type HeldPartition } from '../../../lib/kafka/partition-consumer.js';
import type { Service } from '../../../lib/lifecycle.js';
import { backoffDelay, sleep } from '../../../lib/retry.js';
import type { Logger } from '../../../lib/log.js';
import type { Metrics } from '../../../lib/metrics/registry.js';
import type { PositionEvent } from './resume-rules.js';

export interface ResumeProjectionOptions {
  topic: string;
  groupId: string;
  sessionTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Longest the broker holds a fetch to gather a batch: how stale a resume read may be. */
  maxWaitMs: number;
  /** Most events per upsert statement. */
  maxRows?: number;
}

/**
 * Bytes a fetch waits for (up to maxWaitMs): a few hundred events per upsert and offset
 * commit under load instead of one statement and one commit per handful of events.
 */
const FETCH_MIN_BYTES = 64 * 1024;

export interface ResumeProjectionDeps {
  kafka: Kafka;
  store: { apply(events: readonly PositionEvent[]): Promise<number> };
  log: Logger;
  metrics: Pick<Metrics, 'resumeProjectionEvents' | 'resumeProjectionLag' | 'resumeProjectionRunning'>;
  /** Makes the store usable (database, migrations); retried until it succeeds. */
  prepare?: () => Promise<void>;
}

/**
 * Keeps the resume read model (progress_resume in PostgreSQL) current from the progress
 * topic: its own consumer group beside the ETL's, so ClickHouse's exactly-once path is
 * untouched and resume keeps working while ClickHouse is down (architecture/adr/0011). It
 * runs in the consumer processes (etl, standalone), not in the API: the API's CPU is spent
 * on accepting events only (architecture/adr/0014).
 *
 * At least once into PostgreSQL, which is enough: the upsert keeps the newest event per
 * viewer and film, so a replay after a crash, a client retry's copy or an older event
 * arriving late changes nothing. Offsets are committed only after the batch's upsert;
 * PostgreSQL down holds the partition and retries. A message that is not the contract is
 * skipped: the ETL reads the same topic and sends it to the dead-letter topic once.
 */
export class ResumeProjection implements Service {
  readonly name = 'resume-projection';
  readonly stats = { applied: 0, skipped: 0, transientFailures: 0 };
  private readonly partitions: PartitionConsumer;
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private starting: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: ResumeProjectionDeps,
    private readonly opts: ResumeProjectionOptions,
  ) {
    this.log = deps.log.child({ module: 'resume-projection', topic: opts.topic });
    this.partitions = new PartitionConsumer(
      { kafka: deps.kafka, log: this.log, onRetry: () => (this.stats.transientFailures += 1) },
      {
        topic: opts.topic,
        groupId: opts.groupId,
        sessionTimeoutMs: opts.sessionTimeoutMs,
        partitionsConcurrency: 1,
        fetch: { minBytes: FETCH_MIN_BYTES, maxWaitTimeInMs: opts.maxWaitMs },
        retry: { initialMs: opts.retryInitialMs, maxMs: opts.retryMaxMs },
      },
    );
  }

  /**
   * Returns at once and starts in the background, retrying until PostgreSQL and Kafka let
   * it: the process it shares (the ETL) must load ClickHouse while PostgreSQL is down, or
   * not yet up after a restart.
   */
  start(): Promise<void> {
    const { resumeProjectionEvents, resumeProjectionLag, resumeProjectionRunning } = this.deps.metrics;
    resumeProjectionRunning.set({ group: this.opts.groupId }, 0);
    // The counter exists from the start, so "nothing applied" is a series, not an absence.
    resumeProjectionEvents.inc({ result: 'applied' }, 0);
    const consumer = this.partitions.kafkaConsumer;
    // Partitions moved away keep no lag behind them (a stale value would read as a stall).
    consumer.on(consumer.events.GROUP_JOIN, () => resumeProjectionLag.reset());
    this.starting = this.startUntilStarted();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.starting;
    await this.partitions.stop();
    this.deps.metrics.resumeProjectionRunning.set({ group: this.opts.groupId }, 0);
  }

  private async startUntilStarted(): Promise<void> {
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        await this.deps.prepare?.();
        await this.partitions.start((held) => this.handleBatch(held));
        this.deps.metrics.resumeProjectionRunning.set({ group: this.opts.groupId }, 1);
        this.log.info({ group_id: this.opts.groupId }, 'resume_projection_started');
        return;
      } catch (err) {
        const delay = backoffDelay(attempt, {
          initialMs: this.opts.retryInitialMs,
          maxMs: this.opts.retryMaxMs,
        });
        this.log.warn({ err, attempt, retry_in_ms: delay }, 'resume_projection_start_failed');
        await sleep(delay, this.stopping.signal);
      }
    }
  }

  private async handleBatch(held: HeldPartition): Promise<void> {
    const { messages, highWatermark, partition } = held.batch;
    const maxRows = this.opts.maxRows ?? 5000;
    // What is behind, from the first event not yet applied: a batch held by retries while
    // PostgreSQL is down keeps it above 0 (the ResumeProjectionStalled alert).
    const behind = (next: string) =>
      this.deps.metrics.resumeProjectionLag.set(
        { partition: String(partition) },
        Math.max(0, Number(BigInt(highWatermark) - BigInt(next))),
      );
    for (let from = 0; from < messages.length; from += maxRows) {
      if (!held.active()) return;
      behind(messages[from]!.offset);
      const chunk = messages.slice(from, from + maxRows);
      const events: PositionEvent[] = [];
      for (const m of chunk) {
        const decoded = decodeContract(m.value, ProgressMessageV1, isProgressMessageV1);
        if (decoded.ok) events.push(decoded.message);
      }
      const skipped = chunk.length - events.length;
      const last = chunk[chunk.length - 1]!.offset;
      const applied = await held.retry('resume_apply', () => this.deps.store.apply(events), {
        context: { last_offset: last, events: events.length },
      });
      if (!applied.done) return;
      const committed = await held.retry('resume_commit', () => held.commit(last));
      if (!committed.done) return;
      held.payload.resolveOffset(last);
      this.stats.applied += events.length;
      this.stats.skipped += skipped;
      this.deps.metrics.resumeProjectionEvents.inc({ result: 'applied' }, events.length);
      if (skipped > 0) this.deps.metrics.resumeProjectionEvents.inc({ result: 'skipped' }, skipped);
      behind((BigInt(last) + 1n).toString());
      await held.heartbeat();
    }
  }
}
