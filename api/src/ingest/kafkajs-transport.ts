import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import { producerConfig } from '../../../lib/kafka/client.js';
import type { KeyedMessage } from './kafka-publisher.js';
import type { ProduceTransport } from './produce-transport.js';

/** kafkajs: the default partitioner is the Java client's (murmur2 & 0x7fffffff). */
export class KafkajsTransport implements ProduceTransport {
  readonly client = 'kafkajs';
  private readonly producer: Producer;
  private connected = false;

  constructor(kafka: Kafka) {
    this.producer = kafka.producer(
      producerConfig({
        idempotent: true,
        // NOTE: one request in flight per connection keeps idempotent sequence numbers
        // trivially ordered; the micro-batcher makes batches bigger instead.
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
      }),
    );
    this.producer.on(this.producer.events.CONNECT, () => (this.connected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.connected = false));
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }

  isConnected(): boolean {
    return this.connected;
  }

  async send(topic: string, messages: readonly KeyedMessage[]): Promise<void> {
    await this.producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.None,
      messages: [...messages],
    });
  }
}
