import { expect } from 'chai';
import type { Pool } from 'pg';
import { DeviceLoader, pickFor } from '../../api/src/experiments/device-loader.js';
import { firstSeenUs, storedEntries } from '../../api/src/experiments/device-state.js';
import { storedExperiment as experiment } from '../helpers/stored-experiment.js';

type Values = [string[], string[], number[], number[], number[]];

/**
 * A database double for the device-load statement: `known` devices are read (first seen at
 * 1000, `k` last recorded as seen at 3000, with their stored options); every other token is
 * registered (first seen at 5) with
 * every candidate assignment given for it. Records each call's values.
 */
function fakePool(calls: Values[], known: Record<string, Array<[number, number]>> = {}): Pool {
  return {
    query: async (q: { values: Values }) => {
      calls.push(q.values);
      const [tokens, aTokens, aExperiments, aPositions] = q.values;
      const rows = [];
      for (const token of tokens) {
        const stored = known[token];
        if (stored !== undefined) {
          if (stored.length === 0)
            rows.push({
              token,
              first_seen_us: '1000',
              last_seen_us: token === 'k' ? '3000' : null,
              experiment_id: null,
              option_position: null,
              registered: false,
            });
          for (const [e, p] of stored)
            rows.push({
              token,
              first_seen_us: '1000',
              last_seen_us: token === 'k' ? '3000' : null,
              experiment_id: String(e),
              option_position: p,
              registered: false,
            });
          continue;
        }
        aTokens.forEach((t, i) => {
          if (t === token)
            rows.push({
              token,
              first_seen_us: '5',
              last_seen_us: null,
              experiment_id: String(aExperiments[i]),
              option_position: aPositions[i],
              registered: true,
            });
        });
      }
      return { rows };
    },
  } as unknown as Pool;
}

describe('DeviceLoader', () => {
  const a = experiment(7, [1, 1, 1]);
  const b = experiment(3, [75, 10, 5, 10]);

  it('loads the devices of one event-loop turn in one call, candidates in token then experiment order', async () => {
    const calls: Values[] = [];
    const loader = new DeviceLoader(fakePool(calls));
    const list = [a, b];
    const [z, x, x2] = await Promise.all([
      loader.load('z', list),
      loader.load('x', list),
      loader.load('x', list),
    ]);
    expect(calls).to.have.length(1);
    const [tokens, aTokens, aExperiments, positions, createdUs] = calls[0]!;
    expect(tokens).to.deep.equal(['x', 'z']);
    expect(aTokens).to.deep.equal(['x', 'x', 'z', 'z']);
    expect(aExperiments).to.deep.equal([3, 7, 3, 7]);
    expect(positions).to.deep.equal([pickFor(b, 'x'), pickFor(a, 'x'), pickFor(b, 'z'), pickFor(a, 'z')]);
    expect(createdUs).to.deep.equal([0, 0, 0, 0]);
    // One device twice in a call: the same state, only one is told it made the assignments.
    expect(x2.state).to.equal(x.state);
    expect([x.created, x2.created, z.created]).to.deep.equal([[3, 7], [], [3, 7]]);
    expect([x.registered, x2.registered, z.registered]).to.deep.equal([true, true, true]);
    expect(firstSeenUs(z.state)).to.equal(5);
    expect(storedEntries(z.state)).to.deep.equal([
      [3, pickFor(b, 'z')],
      [7, pickFor(a, 'z')],
    ]);
  });

  it('reads known devices with their stored options and claims nothing for them', async () => {
    const calls: Values[] = [];
    const loader = new DeviceLoader(fakePool(calls, { k: [[7, 2]], empty: [] }));
    const list = [a];
    const [k, empty, fresh] = await Promise.all([
      loader.load('k', list),
      loader.load('empty', list),
      loader.load('fresh', list),
    ]);
    expect(calls).to.have.length(1);
    // [first seen, last seen (first seen when never recorded), experiment, position]
    expect(k).to.deep.equal({ state: [1000, 3000, 7, 2], created: [], registered: false });
    expect(empty).to.deep.equal({ state: [1000, 1000], created: [], registered: false });
    expect(fresh.registered).to.equal(true);
    expect(fresh.created).to.deep.equal([7]);
  });

  it('never shares a call between callers with different experiment lists', async () => {
    const calls: Values[] = [];
    const loader = new DeviceLoader(fakePool(calls));
    const [one, two] = await Promise.all([loader.load('p', [a]), loader.load('q', [a, b])]);
    expect(calls.map((c) => c[0])).to.deep.equal([['p'], ['q']]);
    expect(one.created).to.deep.equal([7]);
    expect(two.created).to.deep.equal([3, 7]);
  });

  it('rejects every caller of a failed call, and a token the call did not return', async () => {
    const failing = new DeviceLoader({
      query: async () => Promise.reject(new Error('connection refused')),
    } as unknown as Pool);
    const results = await Promise.allSettled([failing.load('p', [a]), failing.load('q', [a])]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    const silent = new DeviceLoader({ query: async () => ({ rows: [] }) } as unknown as Pool);
    let caught: unknown;
    await silent.load('p', [a]).catch((err: unknown) => (caught = err));
    expect(String(caught)).to.match(/returned no row/);
  });
});
