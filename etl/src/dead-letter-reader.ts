import type { IHeaders, Kafka } from 'kafkajs';
import { DLQ_HEADERS } from './dead-letters.js';

export interface StoredLetter {
  dlqPartition: number;
  dlqOffset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  stage: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  failedAt: string;
}

function header(headers: IHeaders | undefined, name: string): string {
  const v = headers?.[name];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? '' : one.toString();
}

/**
 * Reads the dead-letter topic from the group's committed position (or the beginning) up
 * to the high-water marks seen at start, batch by batch. When `commit` is set the position
 * advances after each batch was handled, so a replay never repeats letters.
 */
export async function readDeadLetters(
  kafka: Kafka,
  topic: string,
  groupId: string,
  handle: (letters: StoredLetter[]) => Promise<void>,
  commit: boolean,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const [high, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  await admin.disconnect();
  const start = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
  const remaining = new Map<number, number>();
  for (const p of high) {
    const from = Math.max(start.get(p.partition) ?? -1, Number(p.low));
    if (Number(p.high) > from) remaining.set(p.partition, Number(p.high));
  }
  if (remaining.size === 0) return 0;

  let seen = 0;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = remaining.get(batch.partition);
          if (end === undefined) return;
          const msgs = batch.messages.filter((m) => Number(m.offset) < end);
          const letters = msgs.map((m) => ({
            dlqPartition: batch.partition,
            dlqOffset: m.offset,
            key: m.key,
            value: m.value,
            reason: header(m.headers, DLQ_HEADERS.reason),
            stage: header(m.headers, DLQ_HEADERS.stage),
            sourceTopic: header(m.headers, DLQ_HEADERS.sourceTopic),
            sourcePartition: Number(header(m.headers, DLQ_HEADERS.sourcePartition)),
            sourceOffset: header(m.headers, DLQ_HEADERS.sourceOffset),
            failedAt: header(m.headers, DLQ_HEADERS.failedAt),
          }));
          if (letters.length > 0) {
            await handle(letters);
            seen += letters.length;
            if (commit) {
              const next = String(Number(letters[letters.length - 1]!.dlqOffset) + 1);
              await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next }]);
            }
          }
          const last = msgs[msgs.length - 1];
          if (last !== undefined && Number(last.offset) >= end - 1) remaining.delete(batch.partition);
          if (remaining.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return seen;
}
