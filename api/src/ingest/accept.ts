import type { Context } from 'koa';
import { canonicalJson } from '../../../lib/contracts/properties.js';
import { ValidationError } from '../../../lib/errors.js';
import { AcceptedBatch, AcceptedOne } from '../http/responses.js';
import type { EventPublisher } from './kafka-publisher.js';
import { keyedByViewer } from './keyed.js';

const KAFKA_UNAVAILABLE = 'Kafka did not acknowledge in time; retry after `Retry-After` seconds';
const VIEWER_ERASED = 'The viewer was erased (`viewer_erased`): their events are not stored any more';
/** What a route publishing with acceptOne answers, besides its input errors. */
export const ACCEPTED_ONE = {
  202: { description: 'Durably accepted', schema: AcceptedOne },
  403: VIEWER_ERASED,
  503: KAFKA_UNAVAILABLE,
};
/** What a route publishing with acceptBatch answers, besides its input errors. */
export const ACCEPTED_BATCH = {
  202: { description: 'All durably accepted', schema: AcceptedBatch },
  403: VIEWER_ERASED,
  503: KAFKA_UNAVAILABLE,
};

interface ViewerEvent {
  viewer_id: string;
  event_id: string;
}

/** Where accepted events go: the publisher, the topic, and who may no longer send any. */
export interface AcceptTo {
  publisher: EventPublisher;
  topic: string;
  /** Refuses an erased viewer's events (403) before anything is published. */
  erased?: { refuse(viewerId: string): void };
}

/** Publishes one event and answers 202 with its id once Kafka has it. */
export async function acceptOne(ctx: Context, to: AcceptTo, message: ViewerEvent) {
  to.erased?.refuse(message.viewer_id);
  await to.publisher.publish(to.topic, [keyedByViewer(message)]);
  ctx.status = 202;
  ctx.body = { event_id: message.event_id };
}

/**
 * The first event of a batch that reuses an earlier one's id with other content, as a 400.
 * Only one of the two could be stored (an id names one event, and the ETL keeps the first),
 * so a 202 for both would be a silent loss; the same event listed twice is a retry, and fine.
 */
export function assertIdsNameOneEvent(messages: readonly ViewerEvent[]): void {
  const first = new Map<string, number>();
  messages.forEach((m, i) => {
    const earlier = first.get(m.event_id);
    if (earlier === undefined) {
      first.set(m.event_id, i);
      return;
    }
    // Canonical: key order inside `properties` does not make another event (the derived id
    // ignores it too), so a retry that reorders keys is still the same event.
    if (canonicalJson(messages[earlier]) === canonicalJson(m)) return;
    throw new ValidationError('request body is invalid', {
      details: [
        {
          path: `events[${i}].event_id`,
          code: 'custom',
          message: `the event_id of events[${earlier}], with other content: an event_id names one event`,
        },
      ],
    });
  });
}

/** Publishes a batch, all or nothing, and answers 202 with every id once Kafka has them. */
export async function acceptBatch(ctx: Context, to: AcceptTo, messages: ViewerEvent[]) {
  // One viewer per batch (the token's), so the first names them all.
  if (messages[0] !== undefined) to.erased?.refuse(messages[0].viewer_id);
  assertIdsNameOneEvent(messages);
  await to.publisher.publish(to.topic, messages.map(keyedByViewer));
  ctx.status = 202;
  ctx.body = { accepted: messages.length, event_ids: messages.map((m) => m.event_id) };
}
