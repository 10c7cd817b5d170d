import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { ProgressMessage } from '../../lib/contracts/progress.js';

/** A valid contract-v1 progress message, as the API would publish it. */
export function progressMessage(overrides: Partial<ProgressMessage> = {}): ProgressMessage {
  const now = new Date().toISOString();
  return {
    schema_version: 1,
    event_id: randomUUID(),
    viewer_id: randomUUID(),
    film_id: randomUUID(),
    position_sec: 100,
    duration_sec: 5400,
    occurred_at: now,
    received_at: now,
    ...overrides,
  };
}

/**
 * Produces `total` messages in chunks at a steady pace straight to the topic (bypassing
 * the API), acks=all. Resolves with the event ids written.
 */
export async function produceSteadily(
  kafka: Kafka,
  topic: string,
  total: number,
  chunk: number,
  pauseMs: number,
): Promise<string[]> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const ids: string[] = [];
  try {
    while (ids.length < total) {
      const batch = Array.from({ length: Math.min(chunk, total - ids.length) }, () => progressMessage());
      await producer.send({
        topic,
        acks: -1,
        messages: batch.map((m) => ({ key: m.viewer_id, value: JSON.stringify(m) })),
      });
      ids.push(...batch.map((m) => m.event_id));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    await producer.disconnect();
  }
  return ids;
}
