import type { Admin, Kafka } from 'kafkajs';
import type { Service } from '../../lib/lifecycle.js';
import { sleep } from '../../lib/retry.js';
import type { Logger } from '../../lib/log.js';
import type { Metrics } from '../../lib/metrics/registry.js';

/** A source topic and the consumer group that loads it. */
export interface LagSource {
  topic: string;
  groupId: string;
}

/** Where a partition's committed offset last stood with a backlog behind it, and since when. */
export interface Stall {
  offset: number;
  sinceMs: number;
}

export interface PartitionLag {
  partition: number;
  /** Messages between the group's committed offset and the high-water mark. */
  messages: number;
  /**
   * Seconds the committed offset has stood still with a backlog (a lower bound of how old
   * the first unread message is); 0 while it moves or is caught up.
   */
  stalledSeconds: number;
}

/**
 * One poll's lag per partition, from the high-water marks and the group's committed
 * offsets. Pure: `stalls` (per partition, kept between polls) is updated in place. A
 * partition with nothing committed, or committed below what retention kept, counts from
 * its low-water mark.
 */
export function partitionLags(
  marks: readonly { partition: number; high: string; low: string }[],
  committed: readonly { partition: number; offset: string }[],
  stalls: Map<number, Stall>,
  nowMs: number,
): PartitionLag[] {
  const done = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  return marks.map(({ partition, high, low }) => {
    const offset = Math.max(done.get(partition) ?? -1, Number(low));
    const messages = Math.max(0, Number(high) - offset);
    if (messages === 0) {
      stalls.delete(partition);
      return { partition, messages, stalledSeconds: 0 };
    }
    const stall = stalls.get(partition);
    if (stall?.offset === offset) {
      return { partition, messages, stalledSeconds: Math.max(0, nowMs - stall.sinceMs) / 1000 };
    }
    stalls.set(partition, { offset, sinceMs: nowMs });
    return { partition, messages, stalledSeconds: 0 };
  });
}

/**
 * Keeps the ETL's lag figures true while its consumers cannot: they set theirs after each
 * block they commit, so a consumer that hangs or retries without end would leave the last
 * value (often 0) standing, and the lag alerts would stay quiet through the very outage
 * they exist for. Every `intervalMs` this reads Kafka's own records for each source (the
 * high-water marks and the group's committed offsets) and sets messages behind per
 * partition (the consumers' gauge: the same figure) and, in a gauge of its own that every
 * poll rewrites, how long a partition with a backlog has had its committed offset stand
 * still (`etl_consumer_stalled_seconds`; the rules take the max of it and the consumers'
 * seconds behind). Every ETL process polls every partition, so processes agree.
 */
export class LagPoller implements Service {
  readonly name = 'etl-lag-poller';
  private readonly admin: Admin;
  private readonly stalls = new Map<string, Map<number, Stall>>();
  private timer: NodeJS.Timeout | undefined;
  /**
   * Polls run one after another, each after the last has settled, so the stall records are
   * updated in the order polls were asked for: one that sat in the client's retries cannot
   * land its older view over a newer one. A tick that finds a poll pending skips.
   */
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private stopped = false;

  constructor(
    private readonly deps: { kafka: Kafka; metrics: Metrics; log: Logger },
    private readonly opts: { sources: readonly LagSource[]; intervalMs: number },
  ) {
    this.admin = deps.kafka.admin();
  }

  async start(): Promise<void> {
    await this.admin.connect();
    const tick = () => {
      if (this.pending > 0 || this.stopped) return;
      void this.poll();
    };
    tick();
    this.timer = setInterval(tick, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // A poll against a broker that is down can sit in the client's retries: shutdown does
    // not wait for it (disconnecting ends it), since nothing it would set matters then.
    const bound = new AbortController();
    await Promise.race([this.queue, sleep(1000, bound.signal)]);
    bound.abort();
    await this.admin.disconnect();
  }

  /**
   * One poll of every source, once the polls asked for before it have settled; `nowMs`
   * defaults to the time it starts. A source Kafka cannot answer for keeps its last values.
   */
  poll(nowMs?: number): Promise<void> {
    this.pending++;
    const run = this.queue.then(() => this.pollSources(nowMs ?? Date.now())).finally(() => this.pending--);
    // pollSources catches per source; should it ever reject, later polls still run.
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Never rejects: a failure is logged per source. */
  private async pollSources(nowMs: number): Promise<void> {
    for (const { topic, groupId } of this.opts.sources) {
      if (this.stopped) return;
      try {
        const [marks, groups] = await Promise.all([
          this.admin.fetchTopicOffsets(topic),
          this.admin.fetchOffsets({ groupId, topics: [topic] }),
        ]);
        let stalls = this.stalls.get(topic);
        if (stalls === undefined) this.stalls.set(topic, (stalls = new Map<number, Stall>()));
        const committed = groups.find((g) => g.topic === topic)?.partitions ?? [];
        for (const lag of partitionLags(marks, committed, stalls, nowMs)) {
          const labels = { topic, partition: String(lag.partition) };
          this.deps.metrics.consumerLag.set(labels, lag.messages);
          this.deps.metrics.consumerStalledSeconds.set(labels, lag.stalledSeconds);
        }
      } catch (err) {
        this.deps.log.warn({ err, topic }, 'etl_lag_poll_failed');
      }
    }
  }
}
