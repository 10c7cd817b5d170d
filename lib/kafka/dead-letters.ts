import { randomUUID } from 'node:crypto';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Service } from '../lifecycle.js';
import { faultPoint } from '../runtime/fault-point.js';
import { DLQ_HEADERS } from '../contracts/dead-letter.js';
import { producerConfig } from './client.js';

/** Headers of a dead letter (lib/contracts/dead-letter.ts); key and value are the original's bytes. */
export { DLQ_HEADERS };

export interface DeadLetter {
  sourceTopic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  /**
   * decode: not a valid contract message; insert: ClickHouse rejected the row; apply:
   * PostgreSQL refused a valid message for good (the users replica).
   */
  stage: 'decode' | 'insert' | 'apply';
}

export interface OffsetCommit {
  groupId: string;
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: string;
}

/**
 * Writes messages that no retry will fix to the dead-letter topic: a bad message never
 * blocks its partition and is never dropped silently. `npm run dlq -- list|replay` reads
 * them back.
 *
 * The letters and the consumer offset commit that moves past them go in one Kafka
 * transaction, so an ETL killed in between leaves neither (read-committed readers never
 * see aborted letters) and the replay writes them once. Without it, every crash between
 * the two would duplicate letters (the fault suite saw 232 letters for 200 injected).
 */
export class DeadLetterPublisher implements Service {
  readonly name = 'dead-letter-publisher';
  private readonly producer: Producer;
  private queue: Promise<unknown> = Promise.resolve();
  published = 0;

  constructor(
    kafka: Kafka,
    readonly topic: string,
    clientId: string,
    /**
     * How long the broker lets a transaction stay open before aborting it: a process killed
     * mid-transaction holds back read-committed readers of the topic (the DLQ CLI) that long.
     */
    transactionTimeoutMs?: number,
  ) {
    this.producer = kafka.producer(
      producerConfig({
        ...(transactionTimeoutMs === undefined ? {} : { transactionTimeout: transactionTimeoutMs }),
        // NOTE: unique per process: kafkajs does not fence zombies by consumer generation
        // (KIP-447), so a shared id would only make two live ETLs abort each other.
        transactionalId: `${clientId}-dlq-${randomUUID()}`,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      }),
    );
  }

  start(): Promise<void> {
    return this.producer.connect();
  }

  stop(): Promise<void> {
    return this.producer.disconnect();
  }

  /**
   * Letters + offset commit, atomically. One transaction at a time per producer: calls
   * from partitions processed concurrently queue up.
   */
  publishAndCommit(letters: DeadLetter[], commit: OffsetCommit, now = new Date()): Promise<void> {
    const run = this.queue.then(() => this.transact(letters, commit, now));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async transact(letters: DeadLetter[], commit: OffsetCommit, now: Date): Promise<void> {
    const tx = await this.producer.transaction();
    try {
      await tx.send({ topic: this.topic, acks: -1, messages: letters.map((l) => toMessage(l, now)) });
      faultPoint('dlq-mid-transaction');
      await tx.sendOffsets({
        consumerGroupId: commit.groupId,
        topics: [
          { topic: commit.topic, partitions: [{ partition: commit.partition, offset: commit.offset }] },
        ],
      });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
    this.published += letters.length;
  }
}

function toMessage(l: DeadLetter, now: Date): Message {
  return {
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
  };
}
