import type { FetchLike } from './http.js';
import type { StorageLike } from './queue.js';

/** What the tracker takes from the page: the browser's by default, fakes in unit tests. */
export interface TrackerEnv {
  fetch: FetchLike;
  /** Where the queue survives a reload; undefined: memory only. */
  storage: StorageLike | undefined;
  sendBeacon: ((url: string, body: string) => boolean) | undefined;
  randomUUID: () => string;
  now: () => number;
  random: () => number;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  /** Adds a window listener; returns its removal. */
  listen: ((type: 'pagehide' | 'visibilitychange', fn: () => void) => () => void) | undefined;
  visibility: (() => string) | undefined;
}

/** The browser globals used, typed here so the SDK needs no DOM typings to compile. */
interface BrowserGlobals {
  fetch: FetchLike;
  localStorage?: StorageLike;
  navigator?: { sendBeacon?: (url: string, data: string) => boolean };
  crypto: { randomUUID(): string };
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  addEventListener?: (type: string, fn: () => void) => void;
  removeEventListener?: (type: string, fn: () => void) => void;
  document?: { visibilityState: string };
}

export function browserEnv(): TrackerEnv {
  const g = globalThis as unknown as BrowserGlobals;
  const nav = g.navigator;
  const sendBeacon = nav?.sendBeacon;
  return {
    fetch: (url, init) => g.fetch(url, init),
    storage: localStorageOrUndefined(g),
    sendBeacon:
      sendBeacon === undefined
        ? undefined
        : (url, body) => {
            try {
              return sendBeacon.call(nav, url, body);
            } catch {
              return false;
            }
          },
    randomUUID: () => g.crypto.randomUUID(),
    now: () => Date.now(),
    random: () => Math.random(),
    setTimeout: (fn, ms) => g.setTimeout(fn, ms),
    clearTimeout: (handle) => g.clearTimeout(handle),
    listen:
      g.addEventListener === undefined
        ? undefined
        : (type, fn) => {
            // visibilitychange fires at the document and bubbles to the window.
            g.addEventListener!(type, fn);
            return () => g.removeEventListener?.(type, fn);
          },
    visibility: g.document === undefined ? undefined : () => g.document!.visibilityState,
  };
}

/** Reading localStorage throws where storage is disabled (some private modes, sandboxed frames). */
function localStorageOrUndefined(g: BrowserGlobals): StorageLike | undefined {
  try {
    return g.localStorage;
  } catch {
    return undefined;
  }
}
