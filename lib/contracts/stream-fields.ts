import { z } from 'zod';
import { isIntIn, isIsoUtc, isNilOrMaxUuid, isUuid } from './fast-checks.js';
import { field, type ColumnSpec } from './stream.js';
import { isOccurredAtInside, occurredAtField } from './time.js';

/** Field declarations several streams share, so each is written once. */

const UUID_MESSAGE = { message: 'must be a UUID' };
const TIME_COLUMN = "DateTime64(3, 'UTC')";
const UTC_MS = 'ISO-8601 UTC with ms, `Z`';

/**
 * A UUID in a request (path or body): the problem stated in words. The nil and max UUIDs
 * are refused: a client sends one when it never set the id, and every such client would
 * share it.
 */
export function uuidParam() {
  return z
    .uuid(UUID_MESSAGE)
    .refine((v) => !isNilOrMaxUuid(v), { message: 'must not be the nil or max UUID' })
    .meta({ description: 'A UUID (RFC 9562), not the nil or max UUID', pattern: UUID_PATTERN });
}

/** What uuidParam accepts, for the OpenAPI document: zod's own pattern also lets nil and max through. */
const UUID_PATTERN =
  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$';

/** A UUID the client sends (the request states the problem in words). */
export function clientUuid(meaning: string, column: Omit<ColumnSpec, 'type'> = {}) {
  return field({
    schema: z.uuid(),
    fast: isUuid,
    bytes: { kind: 'uuid' },
    source: 'client',
    client: 'required',
    request: uuidParam,
    requestFast: () => isUuid,
    column: { type: 'UUID', ...column },
    docType: 'UUID',
    meaning,
  });
}

/** An integer in [min, max], the same in the request and the message. */
export function clientInt(min: number, max: number, column: ColumnSpec, meaning: string) {
  return field({
    schema: z.int().min(min).max(max),
    fast: (v) => isIntIn(v, min, max),
    bytes: { kind: 'int', min, max },
    source: 'client',
    client: 'required',
    column,
    docType: `integer ${min}…${max}`,
    meaning,
  });
}

/** The idempotency key: from the client, or derived from the event's content. */
export const eventIdField = field({
  schema: z.uuid(),
  fast: isUuid,
  bytes: { kind: 'uuid' },
  source: 'event-id',
  request: () => uuidParam().optional(),
  requestFast: () => isUuid,
  column: { type: 'UUID' },
  docType: 'UUID',
  meaning:
    'idempotency key: from the client (lower-cased), or derived by the API from the canonical event (SHA-256, UUID v8) when absent',
});

/** The caller: the JWT `sub`, never from the request body. */
export const viewerIdField = field({
  schema: z.uuid(),
  fast: isUuid,
  bytes: { kind: 'uuid' },
  source: 'viewer',
  column: { type: 'UUID' },
  identifiesViewer: true,
  docType: 'UUID',
  meaning: 'the JWT `sub` of the caller (never from the request body)',
});

/** Client clock, normalised to UTC; received_at when the client sent none. */
export const occurredAtStreamField = field({
  schema: z.iso.datetime(),
  fast: isIsoUtc,
  bytes: { kind: 'iso-utc' },
  source: 'occurred',
  request: (ctx) => occurredAtField(ctx.time, ctx.now),
  requestFast: (ctx) => (v) => isOccurredAtInside(v, ctx.time, ctx.now),
  column: { type: TIME_COLUMN, comment: 'client clock' },
  docType: UTC_MS,
  meaning:
    'client clock (sent with any zone, normalised to UTC; digits below the millisecond must be zeros), within `EVENT_MAX_PAST_MS` before and `EVENT_MAX_FUTURE_MS` after the API clock; equals `received_at` when the client sent none',
});

/** The API clock when the event was accepted. */
export function receivedAtField(
  comment = 'API clock when accepted',
  source: 'received' | 'producer' = 'received',
) {
  return field({
    schema: z.iso.datetime(),
    fast: isIsoUtc,
    bytes: { kind: 'iso-utc' },
    source,
    column: { type: TIME_COLUMN, comment },
    docType: UTC_MS,
    meaning: comment,
  });
}
