import { z } from 'zod';
import { contentEventId } from './event-id.js';
import { hasExactlyKeys, isIntIn, isIsoUtc, isUuid } from './fast-checks.js';
import { occurredAtField, toUtcIso, type TimeLimits } from './time.js';

/**
 * Playback progress: the single source of truth for the request bodies, their TypeScript
 * types, the Kafka message (contract v1, architecture/contracts/progress-v1.md) and the
 * ClickHouse row. Nothing else restates these fields.
 */
export const PROGRESS_SCHEMA_VERSION = 1;

const MAX_FILM_SECONDS = 7 * 24 * 3600; // a week: longer than any film or live stream

export const FilmIdParam = z.uuid({ message: 'must be a UUID' });

/** Fields a client sends for one progress event (the film id comes from the path for singles). */
function progressFields(limits: TimeLimits, now: () => number) {
  return {
    position_sec: z.int().min(0).max(MAX_FILM_SECONDS),
    duration_sec: z.int().min(1).max(MAX_FILM_SECONDS),
    event_id: z.uuid({ message: 'must be a UUID' }).optional(),
    occurred_at: occurredAtField(limits, now),
  };
}

function positionWithinDuration(v: { position_sec: number; duration_sec: number }, ctx: z.RefinementCtx) {
  if (v.position_sec > v.duration_sec) {
    ctx.addIssue({ code: 'custom', path: ['position_sec'], message: 'must not exceed duration_sec' });
  }
}

export function createProgressSchemas(
  limits: TimeLimits,
  batchMaxEvents: number,
  now: () => number = Date.now,
) {
  const single = z.strictObject(progressFields(limits, now)).superRefine(positionWithinDuration);
  const item = z
    .strictObject({ film_id: z.uuid({ message: 'must be a UUID' }), ...progressFields(limits, now) })
    .superRefine(positionWithinDuration);
  const batch = z.strictObject({ events: z.array(item).min(1).max(batchMaxEvents) });
  return { single, item, batch };
}

export type ProgressSchemas = ReturnType<typeof createProgressSchemas>;
export type ProgressBody = z.output<ProgressSchemas['single']>;
export type ProgressItem = z.output<ProgressSchemas['item']>;

/** Kafka message value, contract v1. Also the ClickHouse row (plus Kafka coordinates). */
export const ProgressMessageV1 = z.strictObject({
  schema_version: z.literal(PROGRESS_SCHEMA_VERSION),
  event_id: z.uuid(),
  viewer_id: z.uuid(),
  film_id: z.uuid(),
  position_sec: z.int().min(0).max(MAX_FILM_SECONDS),
  duration_sec: z.int().min(1).max(MAX_FILM_SECONDS),
  occurred_at: z.iso.datetime(),
  received_at: z.iso.datetime(),
});
export type ProgressMessage = z.output<typeof ProgressMessageV1>;

const PROGRESS_KEYS: ReadonlySet<string> = new Set(Object.keys(ProgressMessageV1.shape));

/**
 * ProgressMessageV1 without zod, for the ETL's hot loop: true only where the schema
 * accepts (test/unit/fast-checks.test.ts); false means "ask the schema".
 */
export function isProgressMessageV1(v: unknown): v is ProgressMessage {
  return (
    hasExactlyKeys(v, PROGRESS_KEYS) &&
    v.schema_version === PROGRESS_SCHEMA_VERSION &&
    isUuid(v.event_id) &&
    isUuid(v.viewer_id) &&
    isUuid(v.film_id) &&
    isIntIn(v.position_sec, 0, MAX_FILM_SECONDS) &&
    isIntIn(v.duration_sec, 1, MAX_FILM_SECONDS) &&
    isIsoUtc(v.occurred_at) &&
    isIsoUtc(v.received_at)
  );
}

/**
 * The Kafka message for a validated item. Without a client event_id, the id is derived
 * from the canonical event (viewer, film, position, duration, client time), so a retried
 * copy from an older app is recognised as the same event.
 */
export function toProgressMessage(
  item: ProgressItem,
  viewerId: string,
  receivedAtMs: number,
): ProgressMessage {
  const receivedAt = toUtcIso(receivedAtMs);
  const occurredAt = item.occurred_at === undefined ? undefined : toUtcIso(Date.parse(item.occurred_at));
  return {
    schema_version: PROGRESS_SCHEMA_VERSION,
    event_id:
      item.event_id?.toLowerCase() ??
      contentEventId([
        'progress',
        viewerId,
        item.film_id,
        item.position_sec,
        item.duration_sec,
        occurredAt ?? null,
      ]),
    viewer_id: viewerId,
    film_id: item.film_id,
    position_sec: item.position_sec,
    duration_sec: item.duration_sec,
    occurred_at: occurredAt ?? receivedAt,
    received_at: receivedAt,
  };
}
