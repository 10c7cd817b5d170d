import { z } from 'zod';
import { canonicalJson, checkProperties, type PropertiesLimits } from './properties.js';
import {
  batchSchema,
  buildMessage,
  defineStream,
  field,
  requestItemSchema,
  type MessageOf,
  type RequestItemOf,
} from './stream.js';
import { eventIdField, occurredAtStreamField, receivedAtField, viewerIdField } from './stream-fields.js';
import type { TimeLimits } from './time.js';

export const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

/**
 * User actions (button presses, searches, player controls), declared once: request
 * bodies, the Kafka message (contract v1, architecture/contracts/user-event-v1.md,
 * generated from here) and the user_events table.
 */
export const userEventStream = defineStream({
  name: 'user-event',
  title: 'user-action event',
  version: 1,
  topicOption: 'KAFKA_TOPIC_EVENTS',
  key: 'the viewer id (UUID)',
  contentIdTag: 'event',
  fields: {
    event_id: eventIdField,
    viewer_id: viewerIdField,
    event_type: field({
      schema: z.string().max(64).regex(EVENT_TYPE),
      source: 'client',
      client: 'required',
      request: () =>
        z
          .string()
          .max(64)
          .regex(EVENT_TYPE, { message: 'must be a lower-case dotted name, e.g. player.pause or search' }),
      column: { type: 'LowCardinality(String)' },
      docType: `string ≤ 64, \`${EVENT_TYPE.source}\``,
      meaning: 'e.g. `search`, `player.pause`, `button.press`',
    }),
    occurred_at: occurredAtStreamField,
    received_at: receivedAtField(),
    properties: field({
      schema: z.record(z.string(), z.json()),
      source: 'client',
      client: 'optional',
      request: ({ properties: limits }) =>
        z
          .record(z.string(), z.json())
          .superRefine((value, ctx) => {
            const problem = checkProperties(value, limits!);
            if (problem !== null) ctx.addIssue({ code: 'custom', message: `properties ${problem}` });
          })
          .optional(),
      default: () => ({}),
      // Key order does not make another event.
      canonical: canonicalJson,
      column: { type: 'String', comment: 'JSON object' },
      // Stored as JSON text; analysts read it with JSONExtract*.
      toColumn: (v) => JSON.stringify(v),
      docType: 'JSON object',
      meaning:
        'free-form, `{}` when the client sent none; at most `EVENT_PROPERTIES_MAX_BYTES` as JSON, `EVENT_PROPERTIES_MAX_DEPTH` levels and `EVENT_PROPERTIES_MAX_KEYS` keys over all levels',
    }),
  },
  table: {
    name: 'user_events',
    createdBy: 2,
    orderBy: ['event_type', 'toDate(occurred_at)', 'viewer_id', 'occurred_at'],
    monthOf: 'received_at',
    shardBy: 'cityHash64(viewer_id)',
    doc: "every accepted user action, once. Ordered for the usual questions (one event type over a time range, then per viewer). `properties` is the JSON text of the client's properties (bounded at the API); analysts read it with JSONExtract*, e.g. `JSONExtractString(properties, 'query')`.",
  },
  example: {
    schema_version: 1,
    event_id: 'c3d2e1f0-7d0c-4a5e-9d7f-2f1e3c4b5a69',
    viewer_id: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
    event_type: 'search',
    occurred_at: '2026-11-22T10:37:54.460Z',
    received_at: '2026-11-22T10:37:54.512Z',
    properties: { query: 'matrix', results: 12 },
  },
});

export const USER_EVENT_SCHEMA_VERSION = userEventStream.version;
export const UserEventMessageV1 = userEventStream.message;
export type UserEventMessage = MessageOf<typeof userEventStream.version, typeof userEventStream.fields>;
export type UserEventItem = RequestItemOf<typeof userEventStream.fields>;

export function createUserEventSchemas(
  time: TimeLimits,
  properties: PropertiesLimits,
  batchMaxEvents: number,
  now: () => number = Date.now,
) {
  const item = requestItemSchema(userEventStream, { time, properties, now }) as z.ZodType<UserEventItem>;
  return { item, batch: batchSchema(item, batchMaxEvents) };
}

/** The Kafka message for a validated item (see buildMessage for the derived event id). */
export function toUserEventMessage(
  item: UserEventItem,
  viewerId: string,
  receivedAtMs: number,
): UserEventMessage {
  return buildMessage(userEventStream, item, viewerId, receivedAtMs);
}
