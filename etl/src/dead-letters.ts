import type { Kafka, Producer } from 'kafkajs';
import type { Service } from '../../lib/lifecycle.js';

/** Headers of a dead letter; the value and key are the original message's, byte for byte. */
export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  stage: 'x-dlq-stage',
  sourceTopic: 'x-dlq-source-topic',
  sourcePartition: 'x-dlq-source-partition',
  sourceOffset: 'x-dlq-source-offset',
  failedAt: 'x-dlq-failed-at',
} as const;

export interface DeadLetter {
  sourceTopic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  /** decode: not a valid contract message; insert: ClickHouse rejected the row. */
  stage: 'decode' | 'insert';
}

/**
 * Writes messages that no retry will fix to the dead-letter topic, acks=all, before the
 * ETL commits past them: a bad message never blocks its partition and is never dropped
 * silently. `npm run dlq -- list|replay` reads them back.
 */
export class DeadLetterPublisher implements Service {
  readonly name = 'dead-letter-publisher';
  private readonly producer: Producer;
  published = 0;

  constructor(
    kafka: Kafka,
    readonly topic: string,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  start(): Promise<void> {
    return this.producer.connect();
  }

  stop(): Promise<void> {
    return this.producer.disconnect();
  }

  async publish(letters: DeadLetter[], now = new Date()): Promise<void> {
    if (letters.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((l) => ({
        key: l.key,
        value: l.value,
        headers: {
          [DLQ_HEADERS.reason]: l.reason.slice(0, 2000),
          [DLQ_HEADERS.stage]: l.stage,
          [DLQ_HEADERS.sourceTopic]: l.sourceTopic,
          [DLQ_HEADERS.sourcePartition]: String(l.partition),
          [DLQ_HEADERS.sourceOffset]: l.offset,
          [DLQ_HEADERS.failedAt]: now.toISOString(),
        },
      })),
    });
    this.published += letters.length;
  }
}
