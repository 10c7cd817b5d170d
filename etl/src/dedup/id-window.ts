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
    return this.find(this.scratch, 0) >= 0;
  }

  /** `has` for an id already in words: `words[at..at+3]` (uuid-words.ts). */
  hasWords(words: Uint32Array, at: number): boolean {
    return this.find(words, at) >= 0;
  }

  /** Adds an id seen at atMs (no-op if present). Evicts expired and, if full, oldest. */
  add(id: string, atMs: number): void {
    if (uuidToWords(id, this.scratch)) this.addWords(this.scratch, 0, atMs);
  }

  /**
   * `add` for an id already in words: `words[at..at+3]`. True when it was new. The caller's
   * array is read before any eviction, so it may be this window's own scratch.
   */
  addWords(words: Uint32Array, at: number, atMs: number): boolean {
    if (this.find(words, at) >= 0) return false;
    const w0 = words[at]!;
    const w1 = words[at + 1]!;
    const w2 = words[at + 2]!;
    const w3 = words[at + 3]!;
    this.expire(atMs);
    if (this.count === this.cap) {
      if (this.cap < this.maxIds) this.grow();
      else {
        this.removeOldest();
        this.evictedEarly++;
      }
    }
    const pos = (this.head + this.count) & (this.cap - 1);
    const o = pos * 4;
    this.ids[o] = w0;
    this.ids[o + 1] = w1;
    this.ids[o + 2] = w2;
    this.ids[o + 3] = w3;
    this.times[pos] = atMs;
    this.count++;
    this.insertIndex(pos);
    return true;
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

  private find(w: Uint32Array, at: number): number {
    const mask = this.index.length - 1;
    const w0 = w[at]!;
    const w1 = w[at + 1]!;
    const w2 = w[at + 2]!;
    const w3 = w[at + 3]!;
    let slot = hashWords(w0, w1, w2, w3) & mask;
    for (;;) {
      const pos = this.index[slot]!;
      if (pos < 0) return -1;
      const o = pos * 4;
      if (this.ids[o] === w0 && this.ids[o + 1] === w1 && this.ids[o + 2] === w2 && this.ids[o + 3] === w3) {
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
    const o = this.head * 4;
    const slot = this.find(this.ids, o);
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
