import { z } from 'zod';
import { contentEventId } from './event-id.js';
import { canonicalJson, checkProperties, type PropertiesLimits } from './properties.js';
import { occurredAtField, toUtcIso, type TimeLimits } from './time.js';

/**
 * User actions (button presses, searches, player controls): the single source of truth
 * for request bodies, the Kafka message (contract v1, architecture/contracts/user-event-v1.md)
 * and the ClickHouse row.
 */
export const USER_EVENT_SCHEMA_VERSION = 1;

export const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

export function createUserEventSchemas(
  time: TimeLimits,
  props: PropertiesLimits,
  batchMaxEvents: number,
  now: () => number = Date.now,
) {
  const item = z.strictObject({
    event_type: z
      .string()
      .max(64)
      .regex(EVENT_TYPE, { message: 'must be a lower-case dotted name, e.g. player.pause or search' }),
    event_id: z.uuid({ message: 'must be a UUID' }).optional(),
    occurred_at: occurredAtField(time, now),
    properties: z
      .record(z.string(), z.json())
      .superRefine((value, ctx) => {
        const problem = checkProperties(value, props);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: `properties ${problem}` });
      })
      .optional(),
  });
  const batch = z.strictObject({ events: z.array(item).min(1).max(batchMaxEvents) });
  return { item, batch };
}

export type UserEventItem = z.output<ReturnType<typeof createUserEventSchemas>['item']>;

export const UserEventMessageV1 = z.strictObject({
  schema_version: z.literal(USER_EVENT_SCHEMA_VERSION),
  event_id: z.uuid(),
  viewer_id: z.uuid(),
  event_type: z.string().max(64).regex(EVENT_TYPE),
  occurred_at: z.iso.datetime(),
  received_at: z.iso.datetime(),
  properties: z.record(z.string(), z.json()),
});
export type UserEventMessage = z.output<typeof UserEventMessageV1>;

export function toUserEventMessage(
  item: UserEventItem,
  viewerId: string,
  receivedAtMs: number,
): UserEventMessage {
  const receivedAt = toUtcIso(receivedAtMs);
  const occurredAt = item.occurred_at === undefined ? undefined : toUtcIso(Date.parse(item.occurred_at));
  const properties = item.properties ?? {};
  return {
    schema_version: USER_EVENT_SCHEMA_VERSION,
    event_id:
      item.event_id?.toLowerCase() ??
      contentEventId(['event', viewerId, item.event_type, occurredAt ?? null, canonicalJson(properties)]),
    viewer_id: viewerId,
    event_type: item.event_type,
    occurred_at: occurredAt ?? receivedAt,
    received_at: receivedAt,
    properties,
  };
}
