import { Kafka, logLevel } from 'kafkajs';
import type { ProgressMessage } from '../../lib/contracts/progress.js';
import { progressMessage } from '../../test/helpers/progress-messages.js';

/** A realistic contract-v1 progress message (what the API publishes). */
export const sampleMessage = (): ProgressMessage => progressMessage();

/** Fills a topic with `total` messages as fast as kafkajs can (big batches, acks=all). */
export async function prefill(
  brokers: string[],
  topic: string,
  total: number,
  partitions = 6,
): Promise<void> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const chunk = 10_000;
  for (let sent = 0; sent < total;) {
    const inflight = [];
    for (let k = 0; k < 4 && sent < total; k++) {
      const n = Math.min(chunk, total - sent);
      sent += n;
      const messages = Array.from({ length: n }, () => {
        const m = sampleMessage();
        return { key: m.viewer_id, value: JSON.stringify(m) };
      });
      inflight.push(producer.send({ topic, acks: -1, messages }));
    }
    await Promise.all(inflight);
  }
  await producer.disconnect();
}
