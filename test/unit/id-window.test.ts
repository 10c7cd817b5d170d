import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { IdWindow } from '../../etl/src/dedup/id-window.js';
import { uuidToWords } from '../../etl/src/dedup/uuid-words.js';

describe('IdWindow', () => {
  it('remembers ids it was given and nothing else', () => {
    const w = new IdWindow(1000, 60_000);
    const ids = Array.from({ length: 500 }, () => randomUUID());
    ids.forEach((id, i) => w.add(id, i));
    expect(ids.every((id) => w.has(id))).to.equal(true);
    for (let i = 0; i < 5000; i++) expect(w.has(randomUUID())).to.equal(false);
    expect(w.size).to.equal(500);
  });

  it('forgets ids older than the horizon', () => {
    const w = new IdWindow(1000, 100);
    const old = randomUUID();
    const fresh = randomUUID();
    w.add(old, 0);
    w.add(fresh, 150);
    expect(w.has(old)).to.equal(false);
    expect(w.has(fresh)).to.equal(true);
  });

  it('stays within capacity by evicting the oldest, and reports the shorter horizon', () => {
    const w = new IdWindow(64, 1_000_000);
    const ids = Array.from({ length: 200 }, () => randomUUID());
    ids.forEach((id, i) => w.add(id, i * 10));
    expect(w.size).to.equal(64);
    expect(ids.slice(-64).every((id) => w.has(id))).to.equal(true);
    expect(ids.slice(0, 136).some((id) => w.has(id))).to.equal(false);
    expect(w.evictedEarly).to.equal(136);
    expect(w.effectiveHorizonMs(2000)).to.equal(2000 - 136 * 10);
  });

  it('keeps every lookup exact through heavy churn (deletions keep probe chains intact)', () => {
    const w = new IdWindow(256, 50, 16);
    const live: string[] = [];
    for (let t = 0; t < 20_000; t++) {
      const id = randomUUID();
      w.add(id, t);
      live.push(id);
      if (live.length > 51) live.shift(); // entries older than t-50 expire
      if (t % 997 === 0) {
        expect(live.every((x) => w.has(x))).to.equal(true);
      }
    }
    expect(w.size).to.be.at.most(256);
  });

  it('ignores a second add of the same id', () => {
    const w = new IdWindow(10, 1000);
    const id = randomUUID();
    w.add(id, 1);
    w.add(id, 2);
    expect(w.size).to.equal(1);
  });

  it('grows its arrays on demand and bounds them by capacity', () => {
    const w = new IdWindow(100_000, 1e12, 1024);
    const small = w.bytes;
    for (let i = 0; i < 50_000; i++) w.add(randomUUID(), i);
    expect(w.bytes).to.be.greaterThan(small);
    const bytesPerId = w.bytes / 65536; // capacity after growth (next power of two)
    expect(bytesPerId).to.equal(32); // 16 id + 8 time + 2 index slots × 4
  });
});

describe('uuidToWords', () => {
  it('reads the 128 bits of a UUID, any hex case', () => {
    const out = new Uint32Array(5);
    for (let n = 0; n < 200; n++) {
      const id = n % 2 === 0 ? randomUUID() : randomUUID().toUpperCase();
      expect(uuidToWords(id, out, 1)).to.equal(true);
      const hex = id.replaceAll('-', '');
      const words = [0, 1, 2, 3].map((w) => Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16));
      expect(Array.from(out.subarray(1))).to.deep.equal(words);
    }
    expect(uuidToWords('ffffffff-ffff-ffff-ffff-ffffffffffff', out)).to.equal(true);
    expect(Array.from(out.subarray(0, 4))).to.deep.equal([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
  });

  it('refuses anything that is not a hyphenated UUID', () => {
    const out = new Uint32Array(4);
    const good = '0a0b0c0d-1111-4222-8333-444455556666';
    for (const bad of [
      '',
      good.slice(1),
      `${good}0`,
      good.replace('-', '0'),
      good.replace('0a', '0g'),
      good.replace('0a', '0\u00e9'),
      good.replaceAll('-', '_'),
    ])
      expect(uuidToWords(bad, out), bad).to.equal(false);
  });
});
