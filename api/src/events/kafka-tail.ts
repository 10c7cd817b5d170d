import { Consumer } from '@platformatic/kafka';
import type { Admin, Kafka } from 'kafkajs';
import type { KafkaClientOptions } from '../../../lib/kafka/client.js';
import type { Service } from '../../../lib/lifecycle.js';
import { murmur2 } from '../ingest/murmur2.js';
import { platformaticSecurity } from '../ingest/platformatic-transport.js';

/** Where a message sits in its topic. */
export interface Coordinates {
  topic: string;
  partition: number;
  offset: string;
}

export interface TailLimits {
  /** Most messages one lookup reads over all partitions it searches. */
  scanMaxMessages: number;
  /** Bytes per fetch request. */
  fetchMaxBytes: number;
}

/** What one lookup looks for: an event id, and its viewer when known (the key). */
export interface TailQuery {
  topic: string;
  /** The consumer group that stores the topic: only what it has not committed is searched. */
  groupId: string;
  eventId: string;
  /** The Kafka key (the viewer id): only its partition is searched, only its messages match. */
  key?: string;
}

/**
 * Finds an event in the part of a topic its consumer group has not committed yet: what
 * Kafka acknowledged and the ETL has not stored. Reads with plain fetch requests at chosen
 * offsets (no group membership, so a lookup never rebalances anyone), bounded by
 * `scanMaxMessages`: a lookup over a long backlog ends without an answer rather than late.
 */
export class KafkaTail implements Service {
  readonly name = 'kafka-tail';
  private readonly fetcher: Consumer;
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;

  constructor(
    private readonly kafka: Kafka,
    opts: KafkaClientOptions,
    private readonly limits: TailLimits,
  ) {
    this.fetcher = new Consumer({
      clientId: opts.clientId,
      bootstrapBrokers: opts.brokers,
      connectTimeout: opts.connectTimeoutMs,
      // Never joins: the id only satisfies the client's options.
      groupId: `${opts.clientId}-tail`,
      ...platformaticSecurity(opts.security),
    });
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    this.connecting = undefined;
    await Promise.all([admin?.disconnect(), this.fetcher.close()]);
  }

  private connected(): Promise<Admin> {
    if (this.admin !== undefined) return Promise.resolve(this.admin);
    this.connecting ??= (async () => {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
      } catch (err) {
        this.connecting = undefined;
        throw err;
      }
      this.admin = admin;
      return admin;
    })();
    return this.connecting;
  }

  async find(q: TailQuery): Promise<Coordinates | undefined> {
    const admin = await this.connected();
    const [ends, committed, meta] = await Promise.all([
      admin.fetchTopicOffsets(q.topic),
      admin.fetchOffsets({ groupId: q.groupId, topics: [q.topic] }),
      this.fetcher.metadata({ topics: [q.topic] }),
    ]);
    const topic = meta.topics.get(q.topic);
    if (topic === undefined) return undefined;
    const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
    const partitions =
      q.key === undefined
        ? ends.map((e) => e.partition)
        : [(murmur2(Buffer.from(q.key)) & 0x7fffffff) % topic.partitionsCount];
    let budget = this.limits.scanMaxMessages;
    for (const partition of partitions) {
      const end = ends.find((e) => e.partition === partition);
      const leader = topic.partitions[partition]?.leader;
      if (end === undefined || leader === undefined) continue;
      let from = Math.max(done.get(partition) ?? -1, Number(end.low));
      const high = Number(end.high);
      while (from < high && budget > 0) {
        const read = await this.read(topic.id, leader, partition, from, q);
        if (read.found !== undefined) return { topic: q.topic, partition, offset: String(read.found) };
        if (read.next <= from) break;
        budget -= read.next - from;
        from = read.next;
      }
    }
    return undefined;
  }

  /** One fetch at `from`: the offset of the event if there, and the next offset to read. */
  private async read(
    topicId: string,
    node: number,
    partition: number,
    from: number,
    q: TailQuery,
  ): Promise<{ found?: number; next: number }> {
    const res = await this.fetcher.fetch({
      node,
      maxWaitTime: 0,
      minBytes: 1,
      maxBytes: this.limits.fetchMaxBytes,
      // Read committed: what a consumer of the topic would see.
      isolationLevel: 1,
      topics: [
        {
          topicId,
          partitions: [
            {
              partition,
              fetchOffset: BigInt(from),
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
              partitionMaxBytes: this.limits.fetchMaxBytes,
            },
          ],
        },
      ],
    });
    const needle = Buffer.from(q.eventId);
    let next = from;
    for (const batch of res.responses[0]?.partitions[0]?.records ?? []) {
      for (const r of batch.records) {
        const offset = Number(batch.firstOffset) + r.offsetDelta;
        if (offset < from) continue;
        next = offset + 1;
        if (r.value === null || !r.value.includes(needle)) continue;
        if (q.key !== undefined && r.key?.toString('utf8') !== q.key) continue;
        if (eventIdOf(r.value) === q.eventId) return { found: offset, next };
      }
      next = Math.max(next, Number(batch.firstOffset) + batch.lastOffsetDelta + 1);
    }
    return { next };
  }
}

function eventIdOf(value: Buffer): unknown {
  try {
    return (JSON.parse(value.toString('utf8')) as { event_id?: unknown }).event_id;
  } catch {
    return undefined;
  }
}
