/**
 * Continue watching: which films are in progress and which count as watched, by the share
 * of the film played (Jellyfin's resume rule). Pure, so the boundaries are tested alone.
 */
export interface ResumeBounds {
  /** Under this percent a film is not listed (a few seconds of a trailer or a misclick). */
  minPct: number;
  /** Over this percent a film counts as watched (the credits are not worth resuming). */
  maxPct: number;
}

/** Percent played, floored to hundredths: a listed film never shows a figure outside the bounds. */
export function percentPlayed(positionSec: number, durationSec: number): number {
  return Math.floor((positionSec * 10_000) / durationSec) / 100;
}

/** Over maxPct. Integer arithmetic, so the boundary itself is exact (90% of 5400 s is in progress). */
export function isWatched(b: ResumeBounds, positionSec: number, durationSec: number): boolean {
  return positionSec * 100 > b.maxPct * durationSec;
}

/** minPct ≤ played ≤ maxPct: what continue watching lists. */
export function isInProgress(b: ResumeBounds, positionSec: number, durationSec: number): boolean {
  return positionSec * 100 >= b.minPct * durationSec && !isWatched(b, positionSec, durationSec);
}

export interface PositionEvent {
  viewer_id: string;
  film_id: string;
  position_sec: number;
  duration_sec: number;
  occurred_at: string;
  received_at: string;
  event_id: string;
}

/** Newest first by client time, then arrival, then id: the order every copy of the model agrees on. */
export function isNewer(a: PositionEvent, b: PositionEvent): boolean {
  const byTime = Date.parse(a.occurred_at) - Date.parse(b.occurred_at);
  if (byTime !== 0) return byTime > 0;
  const byArrival = Date.parse(a.received_at) - Date.parse(b.received_at);
  if (byArrival !== 0) return byArrival > 0;
  return a.event_id > b.event_id;
}

/**
 * The newest event per (viewer, film) of a batch: one upsert statement may touch a row only
 * once, and older events of the same film would lose against the newest anyway.
 */
export function newestPerFilm<E extends PositionEvent>(events: Iterable<E>): E[] {
  const newest = new Map<string, E>();
  for (const e of events) {
    const key = `${e.viewer_id}/${e.film_id}`;
    const held = newest.get(key);
    if (held === undefined || isNewer(e, held)) newest.set(key, e);
  }
  return [...newest.values()];
}
