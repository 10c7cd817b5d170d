import { authorized, bodyOf, type ApiClientDeps } from './api-client.js';
import type { QueuedEvent } from './batch.js';
import { TrackerError } from './errors.js';
import type { ResponseLike } from './http.js';

/** Where to resume a film. */
export interface Position {
  filmId: string;
  positionSec: number;
  durationSec: number;
  /** Client time of the position (ISO-8601). */
  occurredAt: string;
  /** Past the server's MAX_RESUME_PCT: the film counts as watched (absent for a position not yet sent). */
  watched?: boolean;
}

/** One film of the "continue watching" row. */
export interface ContinueWatchingItem {
  filmId: string;
  positionSec: number;
  durationSec: number;
  percent: number;
  lastWatchedAt: string;
}

interface WirePosition {
  film_id: string;
  position_sec: number;
  duration_sec: number;
  occurred_at: string;
  watched?: boolean;
}
interface WireContinueWatching {
  items: {
    film_id: string;
    position_sec: number;
    duration_sec: number;
    percent: number;
    last_watched_at: string;
  }[];
}

/** GET /api/v1/progress/films/{id}: the last position the server has, or null (404). */
export async function fetchResume(deps: ApiClientDeps, filmId: string): Promise<Position | null> {
  const res = await read(deps, `/api/v1/progress/films/${encodeURIComponent(filmId)}`, [200, 404]);
  if (res.status === 404) return null;
  const p = (await res.json()) as WirePosition;
  return {
    filmId: p.film_id,
    positionSec: p.position_sec,
    durationSec: p.duration_sec,
    occurredAt: p.occurred_at,
    ...(p.watched === undefined ? {} : { watched: p.watched }),
  };
}

/** GET /api/v1/progress: the viewer's films in progress, most recently watched first. */
export async function fetchContinueWatching(
  deps: ApiClientDeps,
  limit: number | undefined,
): Promise<ContinueWatchingItem[]> {
  const query = limit === undefined ? '' : `?limit=${encodeURIComponent(String(limit))}`;
  const res = await read(deps, `/api/v1/progress${query}`, [200]);
  const body = (await res.json()) as WireContinueWatching;
  return body.items.map((i) => ({
    filmId: i.film_id,
    positionSec: i.position_sec,
    durationSec: i.duration_sec,
    percent: i.percent,
    lastWatchedAt: i.last_watched_at,
  }));
}

/**
 * The newer of the server's position and the newest one still queued here: a position
 * recorded offline (or not sent yet) is where the viewer really stopped.
 */
export function newerPosition(
  server: Position | null,
  queued: readonly QueuedEvent[],
  filmId: string,
): Position | null {
  let best = server;
  for (const e of queued) {
    if (e.stream !== 'progress') continue;
    const p = JSON.parse(e.item) as WirePosition;
    if (p.film_id !== filmId || (best !== null && p.occurred_at <= best.occurredAt)) continue;
    best = { filmId, positionSec: p.position_sec, durationSec: p.duration_sec, occurredAt: p.occurred_at };
  }
  return best;
}

async function read(deps: ApiClientDeps, path: string, expected: number[]): Promise<ResponseLike> {
  let res: ResponseLike;
  try {
    res = await authorized(deps, path, { method: 'GET' });
  } catch (cause) {
    throw new TrackerError(`GET ${path} failed: no answer`, 'request', { cause });
  }
  if (!expected.includes(res.status)) {
    throw new TrackerError(`GET ${path} answered ${res.status}`, 'request', {
      status: res.status,
      body: await bodyOf(res),
    });
  }
  return res;
}
