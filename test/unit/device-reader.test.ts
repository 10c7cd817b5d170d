import { expect } from 'chai';
import type { Pool } from 'pg';
import { DeviceReader } from '../../api/src/experiments/device-reader.js';
import { firstSeenUs, storedEntries } from '../../api/src/experiments/device-state.js';

/** A pool double answering from a fixed table and recording each query's tokens. */
function fakePool(rows: Record<string, Array<[string, number] | null>>, calls: string[][]): Pool {
  return {
    query: async (q: { values: [string[]] }) => {
      const tokens = q.values[0];
      calls.push(tokens);
      const out = [];
      for (const t of tokens) {
        for (const a of rows[t] ?? []) {
          out.push({
            token: t,
            first_seen_us: '1000',
            experiment_id: a === null ? null : a[0],
            option_position: a === null ? null : a[1],
          });
        }
      }
      return { rows: out };
    },
  } as unknown as Pool;
}

describe('DeviceReader', () => {
  it('answers the lookups of one event-loop turn with one query', async () => {
    const calls: string[][] = [];
    const reader = new DeviceReader(
      fakePool(
        {
          a: [
            ['1', 0],
            ['2', 1],
          ],
          b: [null],
        },
        calls,
      ),
    );
    const [a, a2, b, c] = await Promise.all([
      reader.read('a'),
      reader.read('a'),
      reader.read('b'),
      reader.read('c'),
    ]);
    expect(calls).to.deep.equal([['a', 'b', 'c']]);
    expect(firstSeenUs(a!)).to.equal(1000);
    expect(storedEntries(a!)).to.deep.equal([
      [1, 0],
      [2, 1],
    ]);
    expect(a2).to.equal(a);
    expect(storedEntries(b!)).to.deep.equal([]);
    expect(c).to.equal(null);
    await reader.read('b');
    expect(calls).to.have.length(2);
  });

  it('flushes at the batch bound and rejects every waiter of a failed query', async () => {
    const calls: string[][] = [];
    const reader = new DeviceReader(fakePool({}, calls), { maxBatch: 2 });
    await Promise.all([reader.read('x'), reader.read('y'), reader.read('z')]);
    expect(calls).to.deep.equal([['x', 'y'], ['z']]);
    const failing = new DeviceReader({
      query: async () => Promise.reject(new Error('syntax')),
    } as unknown as Pool);
    const results = await Promise.allSettled([failing.read('p'), failing.read('q')]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
  });
});
