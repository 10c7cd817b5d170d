import { BATCH_PATHS } from './api-client.js';
import { nextBatch, type BatchLimits, type QueuedEvent } from './batch.js';
import { apiUrl, batchBody, type FetchLike } from './http.js';
import type { EventQueue } from './queue.js';
import type { TokenSource } from './token.js';

/** Chromium lets a page keep at most 64 KiB of beacons and keepalive bodies in flight. */
export const BEACON_MAX_BYTES = 60_000;

export interface ExitFlushDeps {
  url: string;
  queue: EventQueue;
  tokens: TokenSource;
  fetch: FetchLike;
  sendBeacon: ((url: string, body: string) => boolean) | undefined;
  now: () => number;
  limits: BatchLimits;
}

/**
 * The page is being hidden or unloaded: hands the queued events the browser has not been
 * given since `sinceMs` to `navigator.sendBeacon` (or a keepalive fetch without it), which
 * sends them even after the page is gone. A beacon cannot carry headers, so the body is
 * text/plain JSON with the token in `access_token`. The events stay queued, marked: the
 * page, if it lives on, or the next page load sends them again (their event_ids make that
 * safe), because a beacon's answer is never seen. Returns how many events were handed over.
 */
export function flushOnExit(deps: ExitFlushDeps, sinceMs: number): number {
  const token = deps.tokens.cached();
  if (token === undefined) return 0;
  let pending = deps.queue.list().filter((e) => e.beaconAt === undefined || e.beaconAt < sinceMs);
  const limits = { ...deps.limits, maxBytes: Math.min(deps.limits.maxBytes, BEACON_MAX_BYTES) };
  const envelope = batchBody([], token).length;
  let handed = 0;
  for (;;) {
    const batch = nextBatch(pending, limits, envelope);
    if (batch.length === 0) break;
    const url = apiUrl(deps.url, BATCH_PATHS[batch[0]!.stream]);
    // A refused beacon (quota full) is not retried by fetch, which shares the quota: the
    // events stay unmarked for the next page load.
    if (
      !handOver(
        deps,
        url,
        batchBody(
          batch.map((e) => e.item),
          token,
        ),
      )
    )
      break;
    const ids = new Set(batch.map((e) => e.id));
    deps.queue.markBeaconed([...ids], deps.now());
    handed += ids.size;
    pending = pending.filter((e: QueuedEvent) => !ids.has(e.id));
  }
  return handed;
}

function handOver(deps: ExitFlushDeps, url: string, body: string): boolean {
  if (deps.sendBeacon !== undefined) return deps.sendBeacon(url, body);
  deps
    .fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body, keepalive: true })
    .catch(() => undefined);
  return true;
}
