import { hashWords, uuidToWords } from './uuid-words.js';

/**
 * The ids seen recently on one partition: an *exact* set (no false positives, unlike a
 * Bloom filter, so a unique event is never dropped), bounded in memory, oldest-first
 * eviction.
 *
 * Layout: a ring of entries in insertion order (ids as 4×u32, times as f64) and an
 * open-addressing hash index (linear probing, backward-shift deletion) pointing into the
 * ring. About 32 bytes per id at full capacity; arrays grow by doubling up to capacity, so
 * a quiet partition costs little.
 *
 * An entry leaves when it is older than the horizon or, when the window is full, when it
 * is the oldest; the latter shrinks the effective horizon, which `effectiveHorizonMs`
 * reports so operators see it.
 */
export class IdWindow {
  private cap: number; // current ring capacity (power of two ≤ maxIds rounded up)
  private ids: Uint32Array;
  private times: Float64Array;
  private index: Int32Array; // slot → ring position, -1 empty
  private head = 0; // ring position of the oldest entry
  private count = 0;
  private readonly scratch = new Uint32Array(4);
  private readonly evictScratch = new Uint32Array(4); // removal must not clobber scratch mid-add
  evictedEarly = 0;

  constructor(
    readonly maxIds: number,
    readonly horizonMs: number,
    initialCapacity = 1024,
  ) {
    this.cap = Math.min(nextPow2(initialCapacity), nextPow2(maxIds));
    this.ids = new Uint32Array(this.cap * 4);
    this.times = new Float64Array(this.cap);
    this.index = new Int32Array(this.cap * 2).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    return this.ids.byteLength + this.times.byteLength + this.index.byteLength;
  }

  /** How far back the window reaches now (≤ horizon once capacity forced evictions). */
  effectiveHorizonMs(nowMs: number): number {
    if (this.count === 0) return this.horizonMs;
    return this.evictedEarly > 0 ? Math.min(this.horizonMs, nowMs - this.times[this.head]!) : this.horizonMs;
  }

  has(id: string): boolean {
    if (!uuidToWords(id, this.scratch)) return false;
    return this.find(this.scratch) >= 0;
  }

  /** Adds an id seen at atMs (no-op if present). Evicts expired and, if full, oldest. */
  add(id: string, atMs: number): void {
    const w = this.scratch;
    if (!uuidToWords(id, w)) return;
    if (this.find(w) >= 0) return;
    this.expire(atMs);
    if (this.count === this.cap) {
      if (this.cap < this.maxIds) this.grow();
      else {
        this.removeOldest();
        this.evictedEarly++;
      }
    }
    const pos = (this.head + this.count) & (this.cap - 1);
    this.ids.set(w, pos * 4);
    this.times[pos] = atMs;
    this.count++;
    this.insertIndex(pos);
  }

  /** Drops entries older than the horizon relative to nowMs. */
  expire(nowMs: number): void {
    const cutoff = nowMs - this.horizonMs;
    while (this.count > 0 && this.times[this.head]! < cutoff) this.removeOldest();
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.index.fill(-1);
  }

  private find(w: Uint32Array): number {
    const mask = this.index.length - 1;
    let slot = hashWords(w[0]!, w[1]!, w[2]!, w[3]!) & mask;
    for (;;) {
      const pos = this.index[slot]!;
      if (pos < 0) return -1;
      const o = pos * 4;
      if (
        this.ids[o] === w[0] &&
        this.ids[o + 1] === w[1] &&
        this.ids[o + 2] === w[2] &&
        this.ids[o + 3] === w[3]
      ) {
        return slot;
      }
      slot = (slot + 1) & mask;
    }
  }

  private slotOfPos(pos: number): number {
    const o = pos * 4;
    return (
      hashWords(this.ids[o]!, this.ids[o + 1]!, this.ids[o + 2]!, this.ids[o + 3]!) & (this.index.length - 1)
    );
  }

  private insertIndex(pos: number): void {
    const mask = this.index.length - 1;
    let slot = this.slotOfPos(pos);
    while (this.index[slot]! >= 0) slot = (slot + 1) & mask;
    this.index[slot] = pos;
  }

  private removeOldest(): void {
    const pos = this.head;
    const o = pos * 4;
    this.evictScratch.set(this.ids.subarray(o, o + 4));
    const slot = this.find(this.evictScratch);
    if (slot >= 0) this.deleteSlot(slot);
    this.head = (this.head + 1) & (this.cap - 1);
    this.count--;
  }

  /** Backward-shift deletion keeps probe chains intact without tombstones. */
  private deleteSlot(slot: number): void {
    const mask = this.index.length - 1;
    let hole = slot;
    let next = (hole + 1) & mask;
    for (;;) {
      const pos = this.index[next]!;
      if (pos < 0) break;
      const home = this.slotOfPos(pos);
      // Move the entry into the hole if its home is not in (hole, next] cyclically.
      const inRange = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!inRange) {
        this.index[hole] = pos;
        hole = next;
      }
      next = (next + 1) & mask;
    }
    this.index[hole] = -1;
  }

  private grow(): void {
    const oldCap = this.cap;
    const oldIds = this.ids;
    const oldTimes = this.times;
    const oldHead = this.head;
    this.cap = oldCap * 2;
    this.ids = new Uint32Array(this.cap * 4);
    this.times = new Float64Array(this.cap);
    this.index = new Int32Array(this.cap * 2).fill(-1);
    for (let i = 0; i < this.count; i++) {
      const from = (oldHead + i) & (oldCap - 1);
      this.ids.set(oldIds.subarray(from * 4, from * 4 + 4), i * 4);
      this.times[i] = oldTimes[from]!;
      this.insertIndex(i);
    }
    this.head = 0;
  }
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
