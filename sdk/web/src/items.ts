/**
 * Request items built from a player's calls. Mistakes a retry cannot fix (a film id that is
 * no UUID, a negative position) throw here, at the call, instead of costing a whole batch a
 * 400 later; the server's validation stays the authority.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The server's rule for event types (lib/contracts/user-event.ts; a unit test keeps them equal). */
export const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
const EVENT_TYPE_MAX = 64;

export interface ProgressItem {
  event_id: string;
  occurred_at: string;
  film_id: string;
  position_sec: number;
  duration_sec: number;
}

export interface UserEventItem {
  event_id: string;
  occurred_at: string;
  event_type: string;
  properties?: Record<string, unknown>;
}

/**
 * Whole seconds, as the API takes them: a media element's currentTime is fractional, and a
 * position rounded past the rounded duration is clamped to it.
 */
export function progressItem(
  filmId: string,
  positionSec: number,
  durationSec: number,
  eventId: string,
  occurredAt: string,
): ProgressItem {
  if (!UUID.test(filmId)) throw new TypeError(`filmId must be a UUID, got ${JSON.stringify(filmId)}`);
  if (!Number.isFinite(positionSec) || positionSec < 0)
    throw new TypeError(`positionSec must be a finite number ≥ 0, got ${positionSec}`);
  if (!Number.isFinite(durationSec) || durationSec <= 0)
    throw new TypeError(`durationSec must be a finite number > 0, got ${durationSec}`);
  const duration = Math.max(1, Math.round(durationSec));
  return {
    event_id: eventId,
    occurred_at: occurredAt,
    film_id: filmId.toLowerCase(),
    position_sec: Math.min(Math.floor(positionSec), duration),
    duration_sec: duration,
  };
}

export function userEventItem(
  eventType: string,
  properties: Record<string, unknown> | undefined,
  eventId: string,
  occurredAt: string,
): UserEventItem {
  if (eventType.length > EVENT_TYPE_MAX || !EVENT_TYPE.test(eventType))
    throw new TypeError(
      `eventType must be a lower-case dotted name (e.g. player.pause), got ${JSON.stringify(eventType)}`,
    );
  if (
    properties !== undefined &&
    (properties === null || typeof properties !== 'object' || Array.isArray(properties))
  )
    throw new TypeError('properties must be a plain object');
  return {
    event_id: eventId,
    occurred_at: occurredAt,
    event_type: eventType,
    ...(properties === undefined ? {} : { properties }),
  };
}
