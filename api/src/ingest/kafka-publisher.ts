import { UnavailableError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { Service } from '../../../lib/lifecycle.js';
import type { Metrics } from '../../../lib/metrics/registry.js';
import { inSpan } from '../../../lib/apm/tracing.js';
import { BatchTimeoutError, MicroBatcher } from './micro-batcher.js';
import type { ProduceTransport } from './produce-transport.js';

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
 * Idempotent, acks=all producer (a ProduceTransport) behind a micro-batcher per topic. `publish` resolves only
 * after the broker acknowledged the write to all in-sync replicas; otherwise it rejects
 * with UnavailableError within sendTimeoutMs, so the API answers 503 instead of hanging.
 */
export class KafkaPublisher implements EventPublisher, Service {
  readonly name = 'kafka-publisher';
  private readonly batchers = new Map<string, MicroBatcher<KeyedMessage>>();
  private lastFailureAt = 0;

  constructor(
    private readonly transport: ProduceTransport,
    private readonly opts: PublisherOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  get client(): string {
    return this.transport.client;
  }

  async start(): Promise<void> {
    await this.transport.connect();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.drain()));
    await this.transport.disconnect();
  }

  /** Ready when connected and no send failed in the last few seconds. */
  isReady(): boolean {
    return this.transport.isConnected() && Date.now() - this.lastFailureAt > 5000;
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
      this.metrics.publishFailures.inc({ topic, reason: timedOut ? 'timeout' : 'error' });
      this.log.warn({ err, topic, messages: messages.length, timed_out: timedOut }, 'kafka_publish_failed');
      throw new UnavailableError(
        timedOut
          ? 'event store did not acknowledge in time, retry later'
          : 'event store unavailable, retry later',
        { code: 'kafka_unavailable', retryAfterSec: 1, cause: err },
      );
    }
  }

  private batcher(topic: string): MicroBatcher<KeyedMessage> {
    let batcher = this.batchers.get(topic);
    if (batcher === undefined) {
      batcher = new MicroBatcher<KeyedMessage>(
        {
          lingerMs: this.opts.lingerMsByTopic?.[topic] ?? this.opts.lingerMs,
          maxItems: this.opts.maxBatchMessages,
          maxInFlight: 1,
        },
        async (batch) => {
          const end = this.metrics.kafkaProduceDuration.startTimer({ topic });
          await this.transport.send(topic, batch);
          end();
          this.metrics.kafkaProduceBatchSize.observe({ topic }, batch.length);
        },
      );
      this.batchers.set(topic, batcher);
    }
    return batcher;
  }
}
