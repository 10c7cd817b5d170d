import type { KeyedMessage } from './kafka-publisher.js';

/**
 * The Kafka client under the publisher: connect, send one batch to one topic with
 * acks=all and idempotence, disconnect. Two implementations (KAFKA_PRODUCER_CLIENT):
 * kafkajs and @platformatic/kafka, measured side by side in ADR 0008. Both must put a key
 * on the partition the Java client would (murmur2, positive, modulo partitions): the
 * ETL's duplicate check relies on a retried event landing where its first copy did, even
 * through another API instance running the other client.
 */
export interface ProduceTransport {
  readonly client: string;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Resolves when every in-sync replica has the batch. */
  send(topic: string, messages: readonly KeyedMessage[]): Promise<void>;
  /** False after the client lost its broker connection, until it has one again. */
  isConnected(): boolean;
}
