import { z } from 'zod';
import { queryInt } from './query-int.js';
import {
  batchFastCheck,
  batchSchema,
  buildMessage,
  requestItemFastCheck,
  defineStream,
  requestItemSchema,
  type MessageOf,
  type RequestItemOf,
} from './stream.js';
import {
  clientInt,
  clientUuid,
  eventIdField,
  uuidParam,
  occurredAtStreamField,
  receivedAtField,
  viewerIdField,
} from './stream-fields.js';
import type { TimeLimits } from './time.js';

const MAX_FILM_SECONDS = 7 * 24 * 3600; // a week: longer than any film or live stream

/**
 * Playback progress, declared once: request bodies, the Kafka message (contract v1,
 * architecture/contracts/progress-v1.md, generated from here), the progress_events table
 * and the resume read model are all derived from these fields.
 */
export const progressStream = defineStream({
  name: 'progress',
  title: 'playback progress event',
  version: 1,
  topicOption: 'KAFKA_TOPIC_PROGRESS',
  key: 'the viewer id (UUID, lower case, UTF-8): all events of one viewer land in one partition, in the order the API accepted them',
  fields: {
    event_id: eventIdField,
    viewer_id: viewerIdField,
    film_id: clientUuid('the film (from the path for single events, from each item in a batch)'),
    position_sec: clientInt(0, MAX_FILM_SECONDS, { type: 'UInt32' }, 'playback position, `≤ duration_sec`'),
    duration_sec: clientInt(1, MAX_FILM_SECONDS, { type: 'UInt32' }, 'film duration'),
    occurred_at: occurredAtStreamField,
    received_at: receivedAtField(),
  },
  refineRequest(v: { position_sec: number; duration_sec: number }, ctx) {
    if (v.position_sec > v.duration_sec) {
      ctx.addIssue({ code: 'custom', path: ['position_sec'], message: 'must not exceed duration_sec' });
    }
  },
  table: {
    name: 'progress_events',
    createdBy: 1,
    orderBy: ['film_id', 'viewer_id', 'occurred_at'],
    monthOf: 'received_at',
    shardBy: 'cityHash64(viewer_id)',
    doc: "every accepted progress event, once. Ordered for analysts' usual questions (per film, then viewer, then time); partitioned by month of arrival so late offline events do not create old partitions and TTL drops whole parts.",
  },
  readModel: {
    name: 'progress_latest',
    columns: [
      'viewer_id',
      'film_id',
      'position_sec',
      'duration_sec',
      'occurred_at',
      'received_at',
      'event_id',
    ],
    orderBy: ['viewer_id', 'film_id'],
    replacingBy: 'occurred_at',
    doc: 'the resume lookup: newest position per (viewer_id, film_id), fed by a materialized view; reads take `ORDER BY occurred_at DESC LIMIT 1`, so they are correct before merges and never need FINAL.',
  },
  aggregates: [
    {
      name: 'progress_daily',
      keys: ['film_id', 'viewer_id', { name: 'day', type: 'Date', expr: 'toDate(occurred_at)' }],
      measures: [
        { name: 'max_position_sec', fn: 'max', of: 'position_sec' },
        { name: 'duration_sec', fn: 'max', of: 'duration_sec' },
      ],
      monthOf: 'day',
      doc: "one row per film, viewer and day (of the client clock, UTC) with the furthest position and the film's duration: completion, abandonment, watch time and active viewers without reading every event. Rows of one key may not be merged yet: read with `max()` grouped by the key.",
    },
  ],
  notes: [
    'Delivery: the API publishes with an idempotent producer, acks=all, and answers 202 only after the acknowledgement. A message may appear more than once in the topic (a client retry after a 503 or a lost response); `event_id` identifies copies.',
  ],
  example: {
    schema_version: 1,
    event_id: '0b9b5a4e-7d0c-4a5e-9d7f-2f1e3c4b5a69',
    viewer_id: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
    film_id: '1d6f0b0e-2b1f-4f7a-9c3e-5a4b3c2d1e0f',
    position_sec: 754,
    duration_sec: 5400,
    occurred_at: '2026-11-22T10:37:54.460Z',
    received_at: '2026-11-22T10:37:54.512Z',
  },
});

export const PROGRESS_SCHEMA_VERSION = progressStream.version;
export const FilmIdParam = uuidParam();

/** Kafka message value, contract v1. Also the ClickHouse row (plus Kafka coordinates). */
export const ProgressMessageV1 = progressStream.message;
export type ProgressMessage = MessageOf<typeof progressStream.version, typeof progressStream.fields>;
export type ProgressItem = RequestItemOf<typeof progressStream.fields>;
export type ProgressBody = Omit<ProgressItem, 'film_id'>;

/**
 * ProgressMessageV1 without zod, for the ETL's hot loop: true only where the schema
 * accepts (test/unit/fast-checks.test.ts); false means "ask the schema".
 */
export const isProgressMessageV1 = progressStream.fastCheck!;

export function createProgressSchemas(
  limits: TimeLimits,
  batchMaxEvents: number,
  now: () => number = Date.now,
) {
  const ctx = { time: limits, now };
  const item = requestItemSchema(progressStream, ctx) as z.ZodType<ProgressItem>;
  const single = requestItemSchema(progressStream, ctx, ['film_id']) as z.ZodType<ProgressBody>;
  // Every progress field the client sends has a requestFast: these are defined.
  const itemFast = requestItemFastCheck(progressStream, ctx)!;
  return {
    single,
    item,
    batch: batchSchema(item, batchMaxEvents),
    fast: {
      single: requestItemFastCheck(progressStream, ctx, ['film_id'])!,
      item: itemFast,
      batch: batchFastCheck(itemFast, batchMaxEvents),
    },
  };
}
export type ProgressSchemas = ReturnType<typeof createProgressSchemas>;

/** The Kafka message for a validated item (see buildMessage for the derived event id). */
export function toProgressMessage(
  item: ProgressItem,
  viewerId: string,
  receivedAtMs: number,
): ProgressMessage {
  return buildMessage(progressStream, item, viewerId, receivedAtMs);
}

/** The resume answer: the newest position of one film, as GET /api/v1/progress/films/{id} returns it. */
export const LatestPositionBody = progressStream.message.pick({
  film_id: true,
  position_sec: true,
  duration_sec: true,
  occurred_at: true,
  event_id: true,
});
export type LatestPosition = z.output<typeof LatestPositionBody>;

/** The resume answer with whether the film counts as watched (past MAX_RESUME_PCT). */
export const ResumePositionBody = LatestPositionBody.extend({ watched: z.boolean() });
export type ResumePosition = z.output<typeof ResumePositionBody>;

/** One film of continue watching, as GET /api/v1/progress lists it. */
export const ContinueWatchingItem = progressStream.message
  .pick({ film_id: true, position_sec: true, duration_sec: true })
  .extend({
    percent: z.number().min(0).max(100),
    last_watched_at: progressStream.message.shape.occurred_at,
  });
export type ContinueWatchingEntry = z.output<typeof ContinueWatchingItem>;
export const ContinueWatchingBody = z.strictObject({ items: z.array(ContinueWatchingItem) });

/** `limit` of GET /api/v1/progress: how many films, newest first. */
export const ContinueWatchingLimit = queryInt(1, 100).default(20);
