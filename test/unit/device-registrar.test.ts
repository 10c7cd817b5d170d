import { expect } from 'chai';
import type { Pool } from 'pg';
import { DeviceRegistrar, pickFor } from '../../api/src/experiments/device-registrar.js';
import type { StoredExperiment } from '../../api/src/experiments/experiment-store.js';

function experiment(id: number, weights: number[]): StoredExperiment {
  return {
    id,
    key: `e${id}`,
    description: '',
    seed: `seed-${id}`,
    status: 'running',
    createdAtUs: 0,
    stoppedAtUs: null,
    options: weights.map((weight, i) => ({ value: i, weight })),
    include: [],
    exclude: [],
  };
}

type Values = [string[], string[], number[], number[], number[]];

/** A pool double: every token new, every given assignment inserted; records each statement's values. */
function fakePool(calls: Values[]): Pool {
  return {
    query: async (q: { values: Values }) => {
      calls.push(q.values);
      const [tokens, aTokens, aExperiments] = q.values;
      return {
        rows: tokens.map((token) => ({
          token,
          first_seen_us: '5',
          inserted: aExperiments.filter((_, i) => aTokens[i] === token).map(String),
        })),
      };
    },
  } as unknown as Pool;
}

describe('DeviceRegistrar', () => {
  const a = experiment(7, [1, 1, 1]);
  const b = experiment(3, [75, 10, 5, 10]);

  it('registers the new devices of one event-loop turn in one statement, in token then experiment order', async () => {
    const calls: Values[] = [];
    const registrar = new DeviceRegistrar(fakePool(calls));
    const list = [a, b];
    const [z, x, x2] = await Promise.all([
      registrar.register('z', list),
      registrar.register('x', list),
      registrar.register('x', list),
    ]);
    expect(calls).to.have.length(1);
    const [tokens, aTokens, aExperiments, positions] = calls[0]!;
    expect(tokens).to.deep.equal(['x', 'z']);
    expect(aTokens).to.deep.equal(['x', 'x', 'z', 'z']);
    expect(aExperiments).to.deep.equal([3, 7, 3, 7]);
    expect(positions).to.deep.equal([pickFor(b, 'x'), pickFor(a, 'x'), pickFor(b, 'z'), pickFor(a, 'z')]);
    // One device twice in a statement: same values, only one is told it assigned them.
    expect(x2.inserted).to.deep.equal(x.inserted);
    expect([x.first, x2.first, z.first]).to.deep.equal([true, false, true]);
    expect(z.firstSeenUs).to.equal(5);
    expect([...z.inserted]).to.deep.equal([
      [3, pickFor(b, 'z')],
      [7, pickFor(a, 'z')],
    ]);
  });

  it('never shares a statement between callers with different experiment lists', async () => {
    const calls: Values[] = [];
    const registrar = new DeviceRegistrar(fakePool(calls));
    const [one, two] = await Promise.all([registrar.register('p', [a]), registrar.register('q', [a, b])]);
    expect(calls.map((c) => c[0])).to.deep.equal([['p'], ['q']]);
    expect([...one.inserted.keys()]).to.deep.equal([7]);
    expect([...two.inserted.keys()]).to.deep.equal([3, 7]);
  });

  it('rejects every caller of a failed statement', async () => {
    const registrar = new DeviceRegistrar({
      query: async () => Promise.reject(new Error('connection refused')),
    } as unknown as Pool);
    const results = await Promise.allSettled([registrar.register('p', [a]), registrar.register('q', [a])]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
  });
});
