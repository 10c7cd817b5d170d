import { ProduceAcks, Producer, stringSerializers, type MessageToProduce } from '@platformatic/kafka';
import type { KafkaClientOptions } from '../../../lib/kafka/client.js';
import type { KafkaSecurity } from '../../../lib/kafka/security.js';
import type { KeyedMessage } from './kafka-publisher.js';
import { lastKeyMemo } from './last-key-memo.js';
import { javaCompatiblePartition } from './murmur2.js';
import type { ProduceTransport } from './produce-transport.js';

/**
 * The same TLS and SASL settings kafkajs gets; only the mechanism is spelled in capitals.
 * Keys left out when unset: the client validates its options and a present `undefined` is not
 * "absent" to every validator.
 */
export function platformaticSecurity({ tls, sasl }: KafkaSecurity) {
  return {
    ...(tls === undefined ? {} : { tls }),
    ...(sasl === undefined
      ? {}
      : {
          sasl: {
            mechanism: sasl.mechanism.toUpperCase() as Uppercase<typeof sasl.mechanism>,
            username: sasl.username,
            password: sasl.password,
          },
        }),
  };
}

/**
 * @platformatic/kafka: half kafkajs' CPU per produced message in the side-by-side
 * measurement (ADR 0008). Its default partitioner is NOT the Java client's (murmur2 taken
 * unsigned); its `compatibilityPartitioner` is, but hashes with BigInt: ours gives the same
 * answers without allocating (murmur2.ts), and test/integration/produce-transports.test.ts
 * checks both transports place every key alike.
 */
export class PlatformaticTransport implements ProduceTransport {
  readonly client = 'platformatic';
  private readonly producer: Producer<string, string, string, string>;
  private connected = false;
  private probing = false;
  private lastProbeAt = 0;

  constructor(opts: KafkaClientOptions) {
    this.producer = new Producer({
      clientId: opts.clientId,
      bootstrapBrokers: opts.brokers,
      connectTimeout: opts.connectTimeoutMs,
      ...platformaticSecurity(opts.security),
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
      partitioner: lastKeyMemo(javaCompatiblePartition),
      retries: 5,
      retryDelay: 100,
    });
  }

  async connect(): Promise<void> {
    // The client connects lazily; a metadata request proves a broker answers now.
    await this.producer.metadata({ topics: [] });
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    await this.producer.close();
  }

  /**
   * After a failed send the transport counts as disconnected until the broker answers
   * again. Readiness must not wait for the next send to find out: a load balancer takes a
   * not-ready instance out of rotation, so no send would ever come. Each call while
   * disconnected starts a metadata probe (at most one per second).
   */
  isConnected(): boolean {
    if (!this.connected && !this.probing && Date.now() - this.lastProbeAt >= 1000) {
      this.probing = true;
      this.lastProbeAt = Date.now();
      this.producer
        .metadata({ topics: [], forceUpdate: true })
        .then(() => (this.connected = true))
        .catch(() => undefined) // still down: the next call probes again
        .finally(() => (this.probing = false));
    }
    return this.connected;
  }

  async send(topic: string, messages: readonly KeyedMessage[]): Promise<void> {
    const records: MessageToProduce<string, string, string, string>[] = messages.map((m) => ({
      topic,
      key: m.key,
      value: m.value,
    }));
    try {
      await this.producer.send({ messages: records });
      this.connected = true;
    } catch (err) {
      this.connected = false;
      throw err;
    }
  }
}
