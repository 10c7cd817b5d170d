import { postBatch, type ApiClientDeps } from './api-client.js';
import { retryDelayMs } from './backoff.js';
import { nextBatch, utf8Bytes, type BatchLimits, type Stream } from './batch.js';
import { browserEnv, type TrackerEnv } from './env.js';
import { TrackerError } from './errors.js';
import { flushOnExit } from './exit-flush.js';
import { batchBody } from './http.js';
import { progressItem, userEventItem } from './items.js';
import { EventQueue } from './queue.js';
import {
  fetchContinueWatching,
  fetchResume,
  newerPosition,
  type ContinueWatchingItem,
  type Position,
} from './reads.js';
import { TokenSource, type GetToken } from './token.js';

export interface TrackerOptions {
  /** The API's base URL, e.g. `https://analytics.example.com`. */
  url: string;
  /** A fixed bearer token; or getToken. */
  token?: string;
  /** Called for the first token, before the cached one expires, and again after a 401. */
  getToken?: GetToken;
  /** Send as soon as this many events wait (default 20). */
  batchSize?: number;
  /** Otherwise send this long after the first waiting event (default 5000). */
  flushIntervalMs?: number;
  /** Most events in one request: the API's API_BATCH_MAX_EVENTS (default 500). */
  maxBatchEvents?: number;
  /** Largest request body, under the API's API_BODY_LIMIT_BYTES (default 200000). */
  maxBatchBytes?: number;
  /** Most events kept while the API is unreachable; past it the oldest go (default 5000). */
  maxQueued?: number;
  /** First retry within this (default 500), doubling up to retryMaxMs (default 30000). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Storage keys start with it; one per signed-in account on a shared device (default `sa-tracker`). */
  storageKey?: string;
  /** Dropped events and storage failures; the tracker never throws them at the player. */
  onError?: (error: TrackerError) => void;
}

export interface Tracker {
  /** Queues a playback position; returns its event_id. */
  progress(filmId: string, positionSec: number, durationSec: number): string;
  /** Queues a user action (`search`, `player.pause`, …); returns its event_id. */
  track(eventType: string, properties?: Record<string, unknown>): string;
  /** Sends what is queued now (after the wait a 503/429 asked for, if any). */
  flush(): Promise<void>;
  /** Where to resume a film: the newer of the server's position and one still queued. */
  resume(filmId: string): Promise<Position | null>;
  /** The viewer's films in progress, most recently watched first. */
  continueWatching(opts?: { limit?: number }): Promise<ContinueWatchingItem[]>;
  /** Events not yet accepted by the API. */
  readonly pending: number;
  /** Stops timers and page listeners; queued events stay stored for the next tracker. */
  stop(): void;
}

/**
 * NOTE: an event a beacon carried is sent again by the next page load only within this
 * time: the server recognises a copy while its id is in its duplicate window (at least
 * about 20 minutes at peak load, see architecture/guarantees.md), and a copy sent later
 * could be stored twice.
 */
const BEACON_TRUST_MS = 10 * 60_000;

export function createTracker(options: TrackerOptions, env: TrackerEnv = browserEnv()): Tracker {
  if (options.token === undefined && options.getToken === undefined)
    throw new TypeError('createTracker needs token or getToken');
  const batchSize = options.batchSize ?? 20;
  const flushIntervalMs = options.flushIntervalMs ?? 5000;
  const maxQueued = options.maxQueued ?? 5000;
  const limits: BatchLimits = {
    maxCount: options.maxBatchEvents ?? 500,
    maxBytes: options.maxBatchBytes ?? 200_000,
  };
  const backoff = { baseMs: options.retryBaseMs ?? 500, maxMs: options.retryMaxMs ?? 30_000 };
  const report = (err: TrackerError) => {
    try {
      options.onError?.(err);
    } catch {
      // The app's hook failing must not stop the queue.
    }
  };
  const tokens = new TokenSource(options.getToken, options.token, env.now);
  const api: ApiClientDeps = { url: options.url, fetch: env.fetch, tokens, now: env.now };
  const queue = new EventQueue(env.storage, `${options.storageKey ?? 'sa-tracker'}:`, (cause) =>
    report(new TrackerError('storage refused a write', 'storage', { cause })),
  );
  queue.restore(env.now(), BEACON_TRUST_MS);

  let timer: unknown;
  let running: Promise<void> | undefined;
  /** While backing off: no send before this time. */
  let retryAt = 0;
  let attempt = 0;
  let waiters: (() => void)[] = [];
  let visibleSince = env.now();

  function schedule(delayMs: number): void {
    if (timer !== undefined) env.clearTimeout(timer);
    timer = env.setTimeout(() => {
      timer = undefined;
      void run();
    }, delayMs);
  }

  /** One pass at a time: batches in queue order until the queue is empty or a send must wait. */
  function run(): Promise<void> {
    running ??= drain()
      .catch((cause: unknown) => {
        report(new TrackerError('unexpected failure while sending', 'request', { cause }));
        retryLater(undefined);
      })
      .finally(() => {
        running = undefined;
        const done = waiters;
        waiters = [];
        for (const w of done) w();
      });
    return running;
  }

  async function drain(): Promise<void> {
    for (;;) {
      const batch = nextBatch(queue.list(), limits, batchBody([]).length);
      if (batch.length === 0) return;
      const ids = batch.map((e) => e.id);
      const outcome = await postBatch(
        api,
        batch[0]!.stream,
        batch.map((e) => e.item),
      );
      if (outcome.kind === 'retry') return retryLater(outcome.retryAfterMs);
      attempt = 0;
      queue.remove(ids);
      if (outcome.kind === 'rejected') {
        report(
          new TrackerError(`the API refused ${ids.length} events (${outcome.status})`, 'rejected', {
            status: outcome.status,
            body: outcome.body,
            dropped: ids.length,
          }),
        );
      }
    }
  }

  function retryLater(retryAfterMs: number | undefined): void {
    const delay = retryDelayMs(attempt++, retryAfterMs, backoff, env.random);
    retryAt = env.now() + delay;
    schedule(delay);
  }

  function enqueue(stream: Stream, id: string, item: object): string {
    const json = JSON.stringify(item);
    queue.add({ id, stream, seq: queue.nextSeq(), item: json, bytes: utf8Bytes(json) });
    if (queue.size > maxQueued) {
      const oldest = queue.list().slice(0, queue.size - maxQueued);
      queue.remove(oldest.map((e) => e.id));
      report(
        new TrackerError(`queue full: dropped the ${oldest.length} oldest events`, 'queue_full', {
          dropped: oldest.length,
        }),
      );
    }
    if (env.now() < retryAt) return id;
    if (queue.size >= batchSize) void run();
    else if (timer === undefined) schedule(flushIntervalMs);
    return id;
  }

  const exitDeps = {
    url: options.url,
    queue,
    tokens,
    fetch: env.fetch,
    sendBeacon: env.sendBeacon,
    now: env.now,
    limits,
  };
  const onHide = () => {
    flushOnExit(exitDeps, visibleSince);
  };
  const onVisibility = () => {
    if (env.visibility?.() === 'hidden') onHide();
    else visibleSince = env.now();
  };
  const unlisten = [env.listen?.('pagehide', onHide), env.listen?.('visibilitychange', onVisibility)];

  // Warm the token cache: the exit flush cannot wait for getToken.
  tokens.get().catch(() => undefined);
  // What an earlier page left is sent now, not after the first new event.
  if (queue.size > 0) schedule(0);

  return {
    progress: (filmId, positionSec, durationSec) => {
      const id = env.randomUUID();
      return enqueue(
        'progress',
        id,
        progressItem(filmId, positionSec, durationSec, id, new Date(env.now()).toISOString()),
      );
    },
    track: (eventType, properties) => {
      const id = env.randomUUID();
      return enqueue(
        'event',
        id,
        userEventItem(eventType, properties, id, new Date(env.now()).toISOString()),
      );
    },
    flush: () => {
      if (env.now() < retryAt) return new Promise((resolve) => waiters.push(resolve));
      if (timer !== undefined) env.clearTimeout(timer);
      timer = undefined;
      return run();
    },
    resume: async (filmId) =>
      newerPosition(await fetchResume(api, filmId.toLowerCase()), queue.list(), filmId.toLowerCase()),
    continueWatching: (opts = {}) => fetchContinueWatching(api, opts.limit),
    get pending() {
      return queue.size;
    },
    stop: () => {
      if (timer !== undefined) env.clearTimeout(timer);
      timer = undefined;
      for (const off of unlisten) off?.();
    },
  };
}
