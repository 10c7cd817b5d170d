import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { IdWindow } from '../../etl/src/dedup/id-window.js';
import { hashWords, uuidToWords } from '../../etl/src/dedup/uuid-words.js';

// Cases the mutation run (npm run test:mutation) showed id-window.test.ts leaves open.

function uuidOf(words: ArrayLike<number>): string {
  const hex = Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Capacity is the next power of two of min(initialCapacity, maxIds). */
function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

/**
 * The window's contract as a plain list: entries in insertion order, those older than
 * the horizon leave, and a full window (capacity rounded up to a power of two) drops its
 * oldest entry and counts it as evicted early.
 */
class ModelWindow {
  entries: { id: string; at: number }[] = [];
  evictedEarly = 0;
  constructor(
    private readonly capacity: number,
    private readonly horizonMs: number,
  ) {}
  add(id: string, at: number): void {
    if (this.entries.some((e) => e.id === id)) return;
    this.entries = this.entries.filter((e) => e.at >= at - this.horizonMs);
    if (this.entries.length === this.capacity) {
      this.entries.shift();
      this.evictedEarly++;
    }
    this.entries.push({ id, at });
  }
  effectiveHorizonMs(now: number): number {
    if (this.entries.length === 0 || this.evictedEarly === 0) return this.horizonMs;
    return Math.min(this.horizonMs, now - this.entries[0]!.at);
  }
}

describe('IdWindow (mutation-testing cases)', () => {
  it('matches a list model through growth, expiry and early eviction, id by id', () => {
    for (const [maxIds, horizonMs, initial] of [
      [16, 40, 2],
      [32, 1_000_000, 1],
      [8, 25, 4],
    ] as const) {
      const w = new IdWindow(maxIds, horizonMs, initial);
      const model = new ModelWindow(nextPow2(maxIds), horizonMs);
      const seen: string[] = [];
      let now = 0;
      for (let step = 0; step < 300; step++) {
        now += step % 7 === 0 ? 9 : 1;
        // Re-adding a recent id must be a no-op in both.
        const id = step % 5 === 4 && seen.length > 0 ? seen[seen.length - 1]! : randomUUID();
        if (!seen.includes(id)) seen.push(id);
        w.add(id, now);
        model.add(id, now);
        const live = new Set(model.entries.map((e) => e.id));
        expect(w.size, `size at step ${step}`).to.equal(model.entries.length);
        expect(w.evictedEarly, `evictedEarly at step ${step}`).to.equal(model.evictedEarly);
        expect(w.effectiveHorizonMs(now + 3), `horizon at step ${step}`).to.equal(
          model.effectiveHorizonMs(now + 3),
        );
        for (const s of seen.slice(-40)) expect(w.has(s), `has(${s}) at step ${step}`).to.equal(live.has(s));
      }
    }
  });

  it('keeps insertion order when it grows with the oldest entry mid-ring', () => {
    const w = new IdWindow(8, 10, 4);
    const ids = Array.from({ length: 12 }, () => randomUUID());
    // 0..3 fill the ring; 4 at t=13 expires 0..2, so the ring wraps before it grows.
    [0, 1, 2, 3, 13, 13, 13, 13, 13].forEach((t, i) => w.add(ids[i]!, t));
    expect(w.size).to.equal(6);
    expect(ids.slice(3, 9).every((id) => w.has(id))).to.equal(true);
    // Capacity 8 now: two more fill it, the next evicts the oldest (ids[3]) first.
    w.add(ids[9]!, 13);
    w.add(ids[10]!, 13);
    w.add(ids[11]!, 13);
    expect(w.has(ids[3]!)).to.equal(false);
    expect(ids.slice(4).every((id) => w.has(id))).to.equal(true);
    expect(w.evictedEarly).to.equal(1);
  });

  it('tells apart ids that share a probe slot and differ in one word only', () => {
    for (let word = 0; word < 4; word++) {
      let checked = 0;
      for (let trial = 0; checked < 5 && trial < 1000; trial++) {
        const w = new IdWindow(1, 1_000_000); // one entry, two index slots
        const stored = new Uint32Array(4);
        uuidToWords(randomUUID(), stored);
        const query = stored.slice();
        query[word] = (query[word]! + 1 + trial) >>> 0;
        if (
          (hashWords(query[0]!, query[1]!, query[2]!, query[3]!) & 1) !==
          (hashWords(stored[0]!, stored[1]!, stored[2]!, stored[3]!) & 1)
        )
          continue; // lands on the empty slot: no comparison made
        w.add(uuidOf(stored), 0);
        expect(w.has(uuidOf(stored))).to.equal(true);
        expect(w.has(uuidOf(query)), `differs in word ${word}`).to.equal(false);
        w.add(uuidOf(query), 1);
        expect(w.has(uuidOf(query))).to.equal(true);
        checked++;
      }
      expect(checked, `word ${word}`).to.equal(5);
    }
  });

  it('counts a repeated id once wherever it sits in the index, slot 0 included', () => {
    for (let trial = 0; trial < 100; trial++) {
      const w = new IdWindow(16, 1_000_000, 4); // 8 index slots to start
      const ids = Array.from({ length: 4 }, () => randomUUID());
      for (const id of [...ids, ...ids]) w.add(id, trial);
      expect(w.size).to.equal(4);
    }
  });

  it('ignores and never finds a malformed id', () => {
    const w = new IdWindow(4, 1000);
    w.add('not-a-uuid', 1);
    expect(w.size).to.equal(0);
    expect(w.has('not-a-uuid')).to.equal(false);
    expect(w.has('')).to.equal(false);
  });

  it('expires nothing from an empty window', () => {
    const w = new IdWindow(4, 100);
    w.expire(10_000);
    expect(w.size).to.equal(0);
    const id = randomUUID();
    w.add(id, 10_001);
    expect(w.size).to.equal(1);
    expect(w.has(id)).to.equal(true);
  });

  it('reports the full horizon while nothing was evicted early, and when empty again', () => {
    const w = new IdWindow(2, 100);
    w.add(randomUUID(), 0);
    expect(w.effectiveHorizonMs(10)).to.equal(100);
    w.add(randomUUID(), 1);
    w.add(randomUUID(), 2); // full: evicts early
    expect(w.effectiveHorizonMs(10)).to.equal(9);
    w.clear();
    expect(w.effectiveHorizonMs(10)).to.equal(100);
  });

  it('forgets everything on clear and works normally afterwards', () => {
    const w = new IdWindow(8, 1000);
    const before = Array.from({ length: 5 }, () => randomUUID());
    before.forEach((id, i) => w.add(id, i));
    w.clear();
    expect(w.size).to.equal(0);
    expect(before.some((id) => w.has(id))).to.equal(false);
    const after = randomUUID();
    w.add(after, 10);
    expect(w.has(after)).to.equal(true);
    expect(w.size).to.equal(1);
  });

  it('sizes its arrays from the smaller of the initial capacity and maxIds, rounded up to a power of two', () => {
    const bytesPerSlot = 32; // 16 id + 8 time + 2 index slots x 4
    expect(new IdWindow(10, 1000, 1024).bytes).to.equal(16 * bytesPerSlot);
    expect(new IdWindow(1000, 1000, 100).bytes).to.equal(128 * bytesPerSlot);
    expect(new IdWindow(1000, 1000, 1).bytes).to.equal(1 * bytesPerSlot);
  });
});
