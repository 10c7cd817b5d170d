import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import { UnavailableError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { Service } from '../../../lib/lifecycle.js';
import type { Metrics } from '../../../lib/metrics/registry.js';
import { inSpan } from '../../../lib/apm/tracing.js';
import { BatchTimeoutError, MicroBatcher } from './micro-batcher.js';

export interface PublisherOptions {
  lingerMs: number;
  maxBatchMessages: number;
  sendTimeoutMs: number;
  /** A longer linger for topics nobody waits on (exposures): bigger, far fewer produce requests. */
  lingerMsByTopic?: Readonly<Record<string, number>>;
}

export interface KeyedMessage {
  key: string;
  value: string;
}

/** What the HTTP layer needs from Kafka: publish durably, or fail fast. */
export interface EventPublisher {
  publish(topic: string, messages: KeyedMessage[]): Promise<void>;
  isReady(): boolean;
}

/**
 * Idempotent, acks=all producer behind a micro-batcher per topic. `publish` resolves only
 * after the broker acknowledged the write to all in-sync replicas; otherwise it rejects
 * with UnavailableError within sendTimeoutMs, so the API answers 503 instead of hanging.
 */
export class KafkaPublisher implements EventPublisher, Service {
  readonly name = 'kafka-publisher';
  private readonly producer: Producer;
  private readonly batchers = new Map<string, MicroBatcher<Message>>();
  private connected = false;
  private lastFailureAt = 0;

  constructor(
    kafka: Kafka,
    private readonly opts: PublisherOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      // NOTE: one request in flight per connection keeps idempotent sequence numbers
      // trivially ordered; the micro-batcher makes batches bigger instead.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    this.producer.on(this.producer.events.CONNECT, () => (this.connected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.connected = false));
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.drain()));
    await this.producer.disconnect();
  }

  /** Ready when connected and no send failed in the last few seconds. */
  isReady(): boolean {
    return this.connected && Date.now() - this.lastFailureAt > 5000;
  }

  async publish(topic: string, messages: KeyedMessage[]): Promise<void> {
    try {
      await inSpan(`Kafka produce ${topic}`, 'messaging', 'kafka', 'send', () =>
        this.batcher(topic).add(messages, this.opts.sendTimeoutMs),
      );
      this.metrics.eventsAccepted.inc({ topic }, messages.length);
    } catch (err) {
      this.lastFailureAt = Date.now();
      const timedOut = err instanceof BatchTimeoutError;
      this.log.warn({ err, topic, messages: messages.length, timed_out: timedOut }, 'kafka_publish_failed');
      throw new UnavailableError(
        timedOut
          ? 'event store did not acknowledge in time, retry later'
          : 'event store unavailable, retry later',
        { code: 'kafka_unavailable', retryAfterSec: 1, cause: err },
      );
    }
  }

  private batcher(topic: string): MicroBatcher<Message> {
    let batcher = this.batchers.get(topic);
    if (batcher === undefined) {
      batcher = new MicroBatcher<Message>(
        {
          lingerMs: this.opts.lingerMsByTopic?.[topic] ?? this.opts.lingerMs,
          maxItems: this.opts.maxBatchMessages,
          maxInFlight: 1,
        },
        async (batch) => {
          const end = this.metrics.kafkaProduceDuration.startTimer({ topic });
          await this.producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: batch });
          end();
          this.metrics.kafkaProduceBatchSize.observe({ topic }, batch.length);
        },
      );
      this.batchers.set(topic, batcher);
    }
    return batcher;
  }
}
