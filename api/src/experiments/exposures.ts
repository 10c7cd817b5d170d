import { randomUUID } from 'node:crypto';
import { EXPOSURE_SCHEMA_VERSION, type ExposureMessage } from '../../../lib/contracts/exposure.js';
import { toUtcIso } from '../../../lib/contracts/time.js';
import type { Logger } from '../../../lib/log.js';
import type { Metrics } from '../../../lib/metrics/registry.js';
import type { EventPublisher } from '../ingest/kafka-publisher.js';
import type { Assignment } from './assignment-service.js';

export function exposureMessages(
  assignments: readonly Assignment[],
  deviceToken: string,
  viewerId: string | null,
  receivedAtMs: number,
): ExposureMessage[] {
  const receivedAt = toUtcIso(receivedAtMs);
  return assignments.map((a) => ({
    schema_version: EXPOSURE_SCHEMA_VERSION,
    // Every serve is its own exposure: a random id (the ETL still drops replays of it).
    event_id: randomUUID(),
    device_id: deviceToken,
    viewer_id: viewerId,
    experiment: a.experiment.key,
    option_index: a.optionIndex,
    value: JSON.stringify(a.value),
    received_at: receivedAt,
  }));
}

/**
 * Sends exposures through the same Kafka → ClickHouse pipeline as every event, without
 * holding the device's answer: the endpoint is on the apps' startup path, and the
 * assignment of record is already in PostgreSQL. A send that fails (Kafka down) is
 * counted and logged, never retried into a hung request (architecture/adr/0006).
 */
export class ExposureEmitter {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly topic: string,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    // From the start, so ExposuresLost's increase() sees the first loss.
    for (const result of ['published', 'failed'] as const) metrics.experimentExposures.inc({ result }, 0);
  }

  emit(messages: ExposureMessage[]): void {
    if (messages.length === 0) return;
    this.publisher
      .publish(
        this.topic,
        // Key = device: one device's exposures stay in one partition (dedup window, order).
        messages.map((m) => ({ key: m.device_id, value: JSON.stringify(m) })),
      )
      .then(
        () => this.metrics.experimentExposures.inc({ result: 'published' }, messages.length),
        (err: unknown) => {
          this.metrics.experimentExposures.inc({ result: 'failed' }, messages.length);
          this.log.warn({ err, exposures: messages.length }, 'exposures_not_published');
        },
      );
  }
}
