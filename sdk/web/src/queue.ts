import type { QueuedEvent } from './batch.js';

/** The parts of localStorage the queue uses (a Map-backed fake in unit tests). */
export interface StorageLike {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Events not yet accepted by the API, in memory and in storage, so a reload or a closed tab
 * loses none. NOTE: localStorage, not IndexedDB: the exit flush on `pagehide` must read the
 * queue synchronously, and an asynchronous read may never finish in a page being unloaded.
 * One storage key per event: two tabs append and remove without overwriting each other's.
 */
export class EventQueue {
  private readonly events = new Map<string, QueuedEvent>();
  private lastSeq = 0;

  constructor(
    private readonly storage: StorageLike | undefined,
    /** Keys of this queue start with it. */
    private readonly prefix: string,
    /** A storage failure (quota, disabled storage): the event stays queued in memory. */
    private readonly onStorageError: (err: unknown) => void,
  ) {}

  /**
   * Adopts the events an earlier page left (a reload, a closed tab), oldest first. An event a
   * beacon carried more than `beaconTrustMs` ago is dropped as delivered: sent again after
   * the server's duplicate window it could be stored twice.
   */
  restore(nowMs: number, beaconTrustMs: number): void {
    const found: QueuedEvent[] = [];
    for (const key of this.keys()) {
      const e = this.read(key);
      if (e === undefined || (e.beaconAt !== undefined && nowMs - e.beaconAt > beaconTrustMs)) {
        this.unstore(key);
      } else {
        found.push(e);
      }
    }
    found.sort((a, b) => a.seq - b.seq);
    for (const e of found) {
      this.events.set(e.id, e);
      this.lastSeq = Math.max(this.lastSeq, e.seq);
    }
  }

  /** The next position in the queue (after everything restored or added). */
  nextSeq(): number {
    return ++this.lastSeq;
  }

  add(e: QueuedEvent): void {
    this.events.set(e.id, e);
    this.store(e);
  }

  remove(ids: readonly string[]): void {
    for (const id of ids) {
      this.events.delete(id);
      this.unstore(this.prefix + id);
    }
  }

  markBeaconed(ids: readonly string[], atMs: number): void {
    for (const id of ids) {
      const e = this.events.get(id);
      if (e === undefined) continue;
      e.beaconAt = atMs;
      this.store(e);
    }
  }

  list(): QueuedEvent[] {
    return [...this.events.values()];
  }

  get size(): number {
    return this.events.size;
  }

  private keys(): string[] {
    const keys: string[] = [];
    if (this.storage === undefined) return keys;
    try {
      for (let i = 0; i < this.storage.length; i++) {
        const key = this.storage.key(i);
        if (key?.startsWith(this.prefix) === true) keys.push(key);
      }
    } catch (err) {
      this.onStorageError(err);
    }
    return keys;
  }

  private read(key: string): QueuedEvent | undefined {
    try {
      const raw = this.storage?.getItem(key);
      if (raw === null || raw === undefined) return undefined;
      const e = JSON.parse(raw) as Partial<QueuedEvent>;
      const valid =
        typeof e.id === 'string' &&
        key === this.prefix + e.id &&
        (e.stream === 'progress' || e.stream === 'event') &&
        typeof e.seq === 'number' &&
        typeof e.item === 'string' &&
        typeof e.bytes === 'number';
      return valid ? (e as QueuedEvent) : undefined;
    } catch {
      return undefined;
    }
  }

  private store(e: QueuedEvent): void {
    try {
      this.storage?.setItem(this.prefix + e.id, JSON.stringify(e));
    } catch (err) {
      this.onStorageError(err);
    }
  }

  private unstore(key: string): void {
    try {
      this.storage?.removeItem(key);
    } catch (err) {
      this.onStorageError(err);
    }
  }
}
