import { Kafka, logLevel, type Admin } from 'kafkajs';
import { sleep } from '../../lib/retry.js';

export function testKafka(brokers: string[]): Kafka {
  return new Kafka({ brokers, clientId: 'test', logLevel: logLevel.NOTHING });
}

export async function withAdmin<T>(brokers: string[], fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Messages in a topic: sum over partitions of high-water mark minus low-water mark. A topic
 * created a moment ago may still be electing its leaders: retriable broker errors are
 * waited out (10 s at most), anything else is thrown.
 */
export async function topicMessageCount(brokers: string[], topic: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await withAdmin(brokers, async (admin) => {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      });
    } catch (err) {
      if ((err as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
}

/** Reads every message currently in a topic (up to the high-water marks at call time). */
export async function readAll(brokers: string[], topic: string, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const expected = await topicMessageCount(brokers, topic);
  const out: ReadMessage[] = [];
  if (expected === 0) return out;
  const consumer = testKafka(brokers).consumer({ groupId: `reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const deadline = Date.now() + timeoutMs;
  // A rebalance of the reader's own group re-delivers what it had not committed yet: each
  // offset is kept once, so a duplicate in the result is one the topic really holds.
  const seen = new Set<string>();
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const at = `${partition}:${message.offset}`;
      if (seen.has(at)) return;
      seen.add(at);
      out.push({
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? null,
      });
    },
  });
  while (out.length < expected && Date.now() < deadline) await sleep(50);
  await consumer.disconnect();
  return out;
}

/** Total lag of a consumer group on a topic (high-water mark minus committed offset). */
export async function groupLag(brokers: string[], groupId: string, topic: string): Promise<number> {
  return withAdmin(brokers, async (admin) => {
    const [high, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
    return high.reduce((sum, p) => {
      const c = done.get(p.partition) ?? -1;
      return sum + Number(p.high) - Math.max(c, Number(p.low));
    }, 0);
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (done(value)) return value;
      last = { value };
    } catch (error) {
      // Transient broker states (coordinator loading, leader moving) are part of waiting.
      last = { error };
    }
    if (Date.now() > deadline) {
      const detail = 'value' in last ? JSON.stringify(last.value) : String(last.error);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${detail}`);
    }
    await sleep(intervalMs);
  }
}
