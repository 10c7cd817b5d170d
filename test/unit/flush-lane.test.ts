import { expect } from 'chai';
import { flushLatencies, laneWaits, parseFlushSpans } from '../../stress-testing/src/flush-lane.js';

const MS = 1_000_000;

describe("flush lane: a commit lane's floor on a disk", () => {
  it('reads the probe lines and refuses a span that ends before it starts', () => {
    expect(parseFlushSpans('0 200000\n1000000 1300000\n')).to.deep.equal([
      { startNs: 0, endNs: 200_000 },
      { startNs: 1_000_000, endNs: 1_300_000 },
    ]);
    expect(() => parseFlushSpans('5 4\n')).to.throw(/unreadable flush/);
  });

  it('each arrival waits for the end of the first flush that starts at or after it', () => {
    // Flushes start every 1 ms and take 0.5 ms; arrivals every 0.5 ms.
    const spans = Array.from({ length: 11 }, (_, i) => ({ startNs: i * MS, endNs: i * MS + MS / 2 }));
    const w = laneWaits(spans, 2000);
    expect(w.arrivals).to.equal(21);
    // An arrival at a flush's start waits 0.5 ms; one half-way between waits 1 ms.
    expect(w.p50Ms).to.equal(0.5);
    expect(w.maxMs).to.equal(1);
    expect(w.over10msShare).to.equal(0);
  });

  it('a stalled flush holds every arrival up to its start, each until it ends', () => {
    // Flushes every 1 ms; the one at 10 ms takes 40 ms; the next ones follow back to back.
    const spans = [
      ...Array.from({ length: 10 }, (_, i) => ({ startNs: i * MS, endNs: i * MS + MS / 5 })),
      { startNs: 10 * MS, endNs: 50 * MS },
      ...Array.from({ length: 50 }, (_, i) => ({ startNs: (50 + i) * MS, endNs: (50 + i) * MS + MS / 5 })),
    ];
    const w = laneWaits(spans, 1000);
    // The arrival at 10 ms joins the stalled flush (40 ms); those at 11..49 ms wait for the one
    // that starts at 50 ms and ends at 50.2 ms.
    expect(w.arrivals).to.equal(100);
    expect(w.maxMs).to.equal(40);
    // 10..40 ms waited over 10 ms: 31 of 100.
    expect(w.over10msShare).to.equal(0.31);
  });

  it('needs at least two flushes', () => {
    expect(() => laneWaits([{ startNs: 0, endNs: 1 }], 2000)).to.throw(/two flushes/);
  });

  it("gives the flushes' own p50, p99 and max", () => {
    const spans = Array.from({ length: 100 }, (_, i) => ({ startNs: 0, endNs: (i + 1) * MS }));
    expect(flushLatencies(spans)).to.deep.equal({ p50Ms: 51, p99Ms: 100, maxMs: 100 });
  });
});
