import type { IHeaders, Kafka } from 'kafkajs';
import { sleep } from '../../lib/retry.js';
import { DLQ_HEADERS } from '../../lib/kafka/dead-letters.js';
import { PartitionConsumer } from '../../lib/kafka/partition-consumer.js';
import { createLogger } from '../../lib/log.js';

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
 * to the end offsets seen at start — letters written meanwhile (e.g. by an ETL re-rejecting
 * replayed messages) wait for the next run. The group's position advances past each
 * batch of handled letters, so a replay never repeats letters that were handled. A failed
 * handler ends the read (nothing is retried, so the consumer logs nothing).
 *
 * TRICKY: the topic is written transactionally, so offsets include commit markers that
 * consumers never receive as messages. A partition is done when a fetched batch reaches
 * end - 1 counting markers (kafkajs' batch.lastOffset() does), or when its committed
 * position already is at the end; as a last resort, when nothing arrived for idleMs
 * (everything below the end existed at start, so a healthy fetch has returned it).
 */
export async function readDeadLetters(
  kafka: Kafka,
  topic: string,
  groupId: string,
  handle: (letters: StoredLetter[]) => Promise<void>,
  idleMs = 3000,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  await admin.disconnect();
  const position = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
  const pending = new Map<number, number>();
  for (const p of ends) {
    const from = Math.max(position.get(p.partition) ?? -1, Number(p.low));
    if (Number(p.high) > from) pending.set(p.partition, Number(p.high));
  }
  if (pending.size === 0) return 0;

  let seen = 0;
  let lastActivity = Date.now();
  let failure: Error | undefined;
  const consumer = new PartitionConsumer(
    { kafka, log: createLogger({ level: 'silent', pretty: false, name: 'dlq-reader' }) },
    {
      topic,
      groupId,
      sessionTimeoutMs: 10000,
      partitionsConcurrency: 1,
      retry: { initialMs: 200, maxMs: 10000 },
    },
  );
  await consumer.start(async (held) => {
    const { batch } = held;
    lastActivity = Date.now();
    const end = pending.get(batch.partition);
    if (end === undefined) return;
    const letters = batch.messages
      .filter((m) => Number(m.offset) < end)
      .map((m) => ({
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
    try {
      if (letters.length > 0) await handle(letters);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(JSON.stringify(err));
      throw failure;
    }
    seen += letters.length;
    const reached = Number(batch.lastOffset()) >= end - 1;
    const allHandled = batch.messages.every((m) => Number(m.offset) < end);
    // Past the trailing commit markers too, but never past an unhandled letter.
    const last = reached && allHandled ? String(end - 1) : letters.at(-1)?.dlqOffset;
    if (last !== undefined) await held.commit(last);
    if (reached) pending.delete(batch.partition);
  });
  while (pending.size > 0 && failure === undefined && Date.now() - lastActivity < idleMs) await sleep(100);
  await consumer.stop();
  if (failure !== undefined) throw failure;
  return seen;
}
