import type { TrackerEnv } from '../../sdk/web/src/env.js';
import type { RequestInitLike } from '../../sdk/web/src/http.js';
import type { StorageLike } from '../../sdk/web/src/queue.js';

/** localStorage's interface over a Map; `failWrites` makes setItem throw as a full quota does. */
export class FakeStorage implements StorageLike {
  readonly map = new Map<string, string>();
  failWrites = false;
  get length() {
    return this.map.size;
  }
  key(i: number) {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    if (this.failWrites) throw new Error('QuotaExceededError');
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

export interface FakeAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}
export interface FakeRequest {
  url: string;
  init: RequestInitLike;
  /** The parsed JSON body. */
  body: any;
}

/**
 * A page for the tracker: a manual clock and timers, a scripted fetch (an Error answer is
 * a network failure), recorded beacons, page events fired by hand.
 */
export class FakePage {
  now = Date.parse('2026-03-01T12:00:00Z');
  storage = new FakeStorage();
  requests: FakeRequest[] = [];
  beacons: { url: string; body: string }[] = [];
  beaconAccepted = true;
  visibility = 'visible';
  answer: (req: FakeRequest) => FakeAnswer | Error = () => ({ status: 202, body: {} });
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextTimer = 1;
  private uuid = 0;
  private readonly listeners = new Map<string, () => void>();

  env(overrides: Partial<TrackerEnv> = {}): TrackerEnv {
    return {
      fetch: async (url, init) => {
        const req = { url, init, body: init.body === undefined ? undefined : JSON.parse(init.body) };
        this.requests.push(req);
        await Promise.resolve();
        const a = this.answer(req);
        if (a instanceof Error) throw a;
        const headers = new Map(Object.entries(a.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
        return {
          status: a.status,
          headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
          json: async () => a.body,
        };
      },
      storage: this.storage,
      sendBeacon: (url, body) => {
        if (this.beaconAccepted) this.beacons.push({ url, body });
        return this.beaconAccepted;
      },
      randomUUID: () => `00000000-0000-4000-8000-${String(++this.uuid).padStart(12, '0')}`,
      now: () => this.now,
      random: () => 0.5,
      setTimeout: (fn, ms) => {
        const id = this.nextTimer++;
        this.timers.push({ at: this.now + ms, fn, id });
        return id;
      },
      clearTimeout: (id) => {
        this.timers = this.timers.filter((t) => t.id !== id);
      },
      listen: (type, fn) => {
        this.listeners.set(type, fn);
        return () => this.listeners.delete(type);
      },
      visibility: () => this.visibility,
      ...overrides,
    };
  }

  /** Lets pending promises (fetches, their handlers) run. */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  }

  /** Moves the clock, running each timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    await this.settle();
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = Math.max(this.now, due.at);
      due.fn();
      await this.settle();
    }
    this.now = end;
  }

  /** When the next timer fires, ms from now; undefined without one. */
  nextTimerIn(): number | undefined {
    const at = Math.min(...this.timers.map((t) => t.at));
    return Number.isFinite(at) ? at - this.now : undefined;
  }

  fire(type: 'pagehide' | 'visibilitychange'): void {
    this.listeners.get(type)?.();
  }

  /** The events the API got, by event_id, over every request. */
  sentIds(): string[] {
    return this.requests.flatMap((r) => (r.body?.events ?? []).map((e: { event_id: string }) => e.event_id));
  }
}
