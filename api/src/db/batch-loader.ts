interface Waiter<V> {
  resolve(value: V | undefined): void;
  reject(err: unknown): void;
  /** performance.now() when this caller asked. */
  since: number;
}

/** Told about each batched statement, by statement name. */
export interface BatchObserver {
  /** Keys of a statement as it starts (pg_batch_keys). */
  keys(statement: string, keys: number): void;
  /** How long one caller waited for its answer, queue and round trip (pg_batch_wait_seconds). */
  wait(statement: string, seconds: number): void;
}

export const IGNORE_BATCHES: BatchObserver = { keys: () => {}, wait: () => {} };

/** The loader options that report statement `name` to `observer`. */
export function observed(
  name: string,
  observer: BatchObserver,
): Pick<BatchLoaderOptions, 'onLoad' | 'onWait'> {
  return {
    onLoad: (keys) => observer.keys(name, keys),
    onWait: (seconds) => observer.wait(name, seconds),
  };
}

export interface BatchLoaderOptions {
  /** Most keys in one load. */
  maxBatch?: number;
  /**
   * Most loads in flight at once; lookups arriving meanwhile wait and go together in the
   * next load (group commit). Unbounded by default.
   */
  maxInFlight?: number;
  /** Called with the number of keys of each load as it starts (a batch-size metric). */
  onLoad?: (keys: number) => void;
  /**
   * Called for every caller as its answer (or error) arrives, with how long it waited in
   * seconds: the queue behind loads in flight, any linger, and the round trip.
   */
  onWait?: (seconds: number) => void;
  /**
   * A load starts no sooner than this after the oldest key it carries arrived, unless it
   * holds maxBatch keys (0: at the end of the turn). Worth it where each load has a large
   * fixed cost, such as a commit.
   */
  lingerMs?: number;
  /**
   * Most callers waiting for a load to start (loads in flight not counted); one more is
   * refused at once with `overflow()`. Unbounded by default. Without a bound, a database
   * that stalls while requests keep coming holds every one of them, and its memory, until
   * the edge gives up on them.
   */
  maxQueued?: number;
  /** The error a caller refused by maxQueued gets. */
  overflow?: () => Error;
}

interface Group<K, V> {
  /** performance.now() when the group's first key arrived: its linger runs from there. */
  since: number;
  keys: Map<K, Waiter<V>[]>;
}

/**
 * Coalesces lookups into batched loads (`key = ANY($1)`), as the Kafka publisher coalesces
 * produces. Under load this turns many round trips — each a few expensive syscalls and
 * wake-ups on both sides — into one; when idle, a lookup waits only for the current
 * event-loop turn to end.
 *
 * A turn rarely holds more than one request at a few thousand requests/s (each arrives in
 * its own poll), so with `maxInFlight` the lookups arriving while a load runs wait for it
 * and share the next one: the batch then grows with the load, by itself, and adds no delay
 * when idle. Lookups of the same key in one batch share the answer; a key the load does
 * not return resolves to undefined.
 *
 * `lingerMs` makes a load wait that long from its oldest key first (as the Kafka
 * micro-batcher lingers), for loads whose fixed cost is large: a registration's commit.
 * Keys that already waited that long behind a running load go as soon as it ends.
 *
 * `context` (optional): what the load needs besides the keys, such as the experiments a
 * new device is assigned in. Only lookups with the same context (by identity) share a
 * load, so a batch never applies one caller's context to another's key.
 */
export class BatchLoader<K, V, C = undefined> {
  /** Oldest group first (a Map keeps insertion order). */
  private pending = new Map<C | undefined, Group<K, V>>();
  private size = 0;
  /** Callers in pending (a key asked for twice counts twice). */
  private queued = 0;
  private inFlight = 0;
  private scheduled = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly lingerMs: number;
  private readonly maxQueued: number;
  private readonly overflow: () => Error;
  private readonly onLoad: (keys: number) => void;
  private readonly onWait: (seconds: number) => void;

  constructor(
    private readonly loadMany: (keys: K[], context: C | undefined) => Promise<Map<K, V>>,
    opts: BatchLoaderOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 500;
    this.maxInFlight = opts.maxInFlight ?? Infinity;
    this.lingerMs = opts.lingerMs ?? 0;
    this.maxQueued = opts.maxQueued ?? Infinity;
    this.overflow = opts.overflow ?? (() => new Error('too many lookups waiting'));
    this.onLoad = opts.onLoad ?? (() => {});
    this.onWait = opts.onWait ?? (() => {});
  }

  load(key: K, context?: C): Promise<V | undefined> {
    if (this.queued >= this.maxQueued) return Promise.reject(this.overflow());
    return new Promise((resolve, reject) => {
      let group = this.pending.get(context);
      if (group === undefined) {
        group = { since: performance.now(), keys: new Map<K, Waiter<V>[]>() };
        this.pending.set(context, group);
      }
      const waiter = { resolve, reject, since: performance.now() };
      this.queued += 1;
      const waiters = group.keys.get(key);
      if (waiters === undefined) {
        group.keys.set(key, [waiter]);
        this.size += 1;
      } else waiters.push(waiter);
      if (this.size >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    while (this.size > 0 && this.inFlight < this.maxInFlight) {
      const [context, group] = this.pending.entries().next().value as [C | undefined, Group<K, V>];
      const waitMs = this.lingerMs - (performance.now() - group.since);
      if (waitMs > 0 && group.keys.size < this.maxBatch) {
        this.lingerTimer ??= setTimeout(() => {
          this.lingerTimer = undefined;
          this.flush();
        }, waitMs);
        return;
      }
      this.start(context, this.take(context, group));
    }
  }

  /** Up to maxBatch keys of the group, removed from pending; the rest keeps its place and age. */
  private take(context: C | undefined, group: Group<K, V>): Map<K, Waiter<V>[]> {
    if (group.keys.size <= this.maxBatch) {
      this.pending.delete(context);
      this.size -= group.keys.size;
      for (const waiters of group.keys.values()) this.queued -= waiters.length;
      return group.keys;
    }
    const batch = new Map<K, Waiter<V>[]>();
    for (const [key, waiters] of group.keys) {
      if (batch.size === this.maxBatch) break;
      batch.set(key, waiters);
      group.keys.delete(key);
      this.queued -= waiters.length;
    }
    this.size -= batch.size;
    return batch;
  }

  private start(context: C | undefined, batch: Map<K, Waiter<V>[]>): void {
    this.inFlight += 1;
    this.onLoad(batch.size);
    // Every caller is told its wait (onWait), then settled.
    const settle = (each: (w: Waiter<V>, key: K) => void) => {
      const now = performance.now();
      for (const [key, waiters] of batch) {
        for (const w of waiters) {
          this.onWait((now - w.since) / 1000);
          each(w, key);
        }
      }
    };
    void this.loadMany([...batch.keys()], context)
      .then(
        (values) => settle((w, key) => w.resolve(values.get(key))),
        (err: unknown) => settle((w) => w.reject(err)),
      )
      .finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
  }
}
