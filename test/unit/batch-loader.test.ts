import { expect } from 'chai';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { BatchLoader, observed } from '../../api/src/db/batch-loader.js';

/** A loader whose loads stay open until the test ends them; records each load's keys and context. */
function controlled<C = undefined>() {
  const calls: Array<{ keys: string[]; context: C | undefined; finish(): void }> = [];
  const loadMany = (keys: string[], context: C | undefined) =>
    new Promise<Map<string, string>>((resolve) => {
      calls.push({ keys, context, finish: () => resolve(new Map(keys.map((k) => [k, k.toUpperCase()]))) });
    });
  return { calls, loadMany };
}

describe('BatchLoader', () => {
  it('with maxInFlight, lookups arriving while a load runs share the next one', async () => {
    const { calls, loadMany } = controlled();
    const loader = new BatchLoader(loadMany, { maxInFlight: 1 });
    const a = loader.load('a');
    await nextTurn();
    expect(calls.map((c) => c.keys)).to.deep.equal([['a']]);
    // Three turns while the first load is open: nothing new starts.
    const rest = [loader.load('b')];
    await nextTurn();
    rest.push(loader.load('c'));
    await nextTurn();
    rest.push(loader.load('d'), loader.load('b'));
    await nextTurn();
    expect(calls).to.have.length(1);
    calls[0]!.finish();
    expect(await a).to.equal('A');
    await nextTurn();
    expect(calls.map((c) => c.keys)).to.deep.equal([['a'], ['b', 'c', 'd']]);
    calls[1]!.finish();
    expect(await Promise.all(rest)).to.deep.equal(['B', 'C', 'D', 'B']);
  });

  it('with maxQueued, refuses a caller at once while that many wait, and takes callers again once they start', async () => {
    const { calls, loadMany } = controlled();
    const full = new Error('full');
    const loader = new BatchLoader(loadMany, { maxInFlight: 1, maxQueued: 2, overflow: () => full });
    const a = loader.load('a');
    await nextTurn();
    // 'a' is in flight, not queued: two more may wait (a key asked twice counts twice).
    const waiting = [loader.load('b'), loader.load('b')];
    let refused: unknown;
    await loader.load('c').catch((err: unknown) => (refused = err));
    expect(refused).to.equal(full);
    calls[0]!.finish();
    expect(await a).to.equal('A');
    await nextTurn();
    expect(calls.map((c) => c.keys)).to.deep.equal([['a'], ['b']]);
    // The waiters went into the load in flight: the queue has room again.
    const c = loader.load('c');
    calls[1]!.finish();
    expect(await Promise.all(waiting)).to.deep.equal(['B', 'B']);
    await nextTurn();
    calls[2]!.finish();
    expect(await c).to.equal('C');
  });

  it("reports each caller's wait, queue included, also for a failed load", async () => {
    const { calls, loadMany } = controlled();
    const seen: Array<[string, string, number]> = [];
    const loader = new BatchLoader(loadMany, {
      maxInFlight: 1,
      ...observed('lookups', {
        keys: (s, n) => seen.push(['keys', s, n]),
        wait: (s, w) => seen.push(['wait', s, w]),
      }),
    });
    const first = loader.load('a');
    await nextTurn();
    // 'b' queues behind the load in flight, twice (two callers of one key).
    const queued = [loader.load('b'), loader.load('b')];
    await sleep(30);
    calls[0]!.finish();
    await first;
    await nextTurn();
    await sleep(20);
    calls[1]!.finish();
    await Promise.all(queued);
    const waits = seen.filter((e) => e[0] === 'wait').map((e) => e[2]);
    expect(seen.filter((e) => e[0] === 'keys')).to.deep.equal([
      ['keys', 'lookups', 1],
      ['keys', 'lookups', 1],
    ]);
    expect(waits).to.have.length(3);
    // In seconds: the first waited its own load (~30 ms); the queued ones that and their own (~20 ms).
    expect(waits[0]).to.be.within(0.025, 5);
    expect(waits[1]).to.be.within(0.045, 5);
    expect(waits[2]).to.be.closeTo(waits[1]!, 0.005);
    const failing = new BatchLoader(() => Promise.reject(new Error('down')), {
      onWait: (w) => seen.push(['wait', 'failing', w]),
    });
    await failing.load('x').catch(() => {});
    expect(seen.filter((e) => e[1] === 'failing')).to.have.length(1);
  });

  it('splits what waited into loads of at most maxBatch keys', async () => {
    const { calls, loadMany } = controlled();
    const loader = new BatchLoader(loadMany, { maxInFlight: 1, maxBatch: 2 });
    const first = loader.load('a');
    await nextTurn();
    const waiting = ['b', 'c', 'd'].map((k) => loader.load(k));
    await nextTurn();
    calls[0]!.finish();
    await first;
    await nextTurn();
    expect(calls.map((c) => c.keys)).to.deep.equal([['a'], ['b', 'c']]);
    calls[1]!.finish();
    await Promise.all(waiting.slice(0, 2));
    await nextTurn();
    expect(calls.map((c) => c.keys)).to.deep.equal([['a'], ['b', 'c'], ['d']]);
    calls[2]!.finish();
    expect(await Promise.all(waiting)).to.deep.equal(['B', 'C', 'D']);
  });

  it('unbounded by default: one load per turn, however many are open', async () => {
    const { calls, loadMany } = controlled();
    const loader = new BatchLoader(loadMany);
    const a = loader.load('a');
    await nextTurn();
    const b = loader.load('b');
    await nextTurn();
    expect(calls.map((c) => c.keys)).to.deep.equal([['a'], ['b']]);
    for (const c of calls) c.finish();
    expect([await a, await b]).to.deep.equal(['A', 'B']);
  });

  it('loads each context apart', async () => {
    const { calls, loadMany } = controlled<string[]>();
    const loader = new BatchLoader(loadMany);
    const ctxA = ['x'];
    const ctxB = ['y'];
    const all = Promise.all([loader.load('1', ctxA), loader.load('2', ctxB), loader.load('3', ctxA)]);
    await nextTurn();
    expect(calls.map((c) => [c.keys, c.context])).to.deep.equal([
      [['1', '3'], ctxA],
      [['2'], ctxB],
    ]);
    for (const c of calls) c.finish();
    expect(await all).to.deep.equal(['1', '2', '3']);
  });

  describe('with lingerMs', () => {
    it('a load waits out the linger from its oldest key, and takes what arrived meanwhile', async () => {
      const { calls, loadMany } = controlled();
      const lingerMs = 40;
      const loader = new BatchLoader(loadMany, { maxInFlight: 1, lingerMs });
      const started = performance.now();
      const all = [loader.load('a')];
      await nextTurn();
      all.push(loader.load('b'));
      await nextTurn();
      all.push(loader.load('c'));
      await nextTurn();
      // Three turns later, still nothing: without the linger 'a' would have gone alone.
      expect(calls).to.have.length(0);
      while (calls.length === 0) await sleep(5);
      expect(performance.now() - started).to.be.at.least(lingerMs - 2);
      expect(calls.map((c) => c.keys)).to.deep.equal([['a', 'b', 'c']]);
      calls[0]!.finish();
      expect(await Promise.all(all)).to.deep.equal(['A', 'B', 'C']);
    });

    it('a full batch goes at once', async () => {
      const { calls, loadMany } = controlled();
      const loader = new BatchLoader(loadMany, { maxBatch: 2, lingerMs: 60_000 });
      const all = [loader.load('a'), loader.load('b')];
      await nextTurn();
      expect(calls.map((c) => c.keys)).to.deep.equal([['a', 'b']]);
      calls[0]!.finish();
      expect(await Promise.all(all)).to.deep.equal(['A', 'B']);
    });

    it('keys that already waited the linger out behind a running load go as soon as it ends', async () => {
      const { calls, loadMany } = controlled();
      const lingerMs = 20;
      const loader = new BatchLoader(loadMany, { maxInFlight: 1, lingerMs });
      const a = loader.load('a');
      while (calls.length === 0) await sleep(2);
      const b = loader.load('b');
      await sleep(lingerMs * 2);
      expect(calls).to.have.length(1);
      calls[0]!.finish();
      await a;
      await nextTurn();
      expect(calls.map((c) => c.keys)).to.deep.equal([['a'], ['b']]);
      calls[1]!.finish();
      expect(await b).to.equal('B');
    });

    it('what arrives during a load waits out its own linger after the load ends', async () => {
      const { calls, loadMany } = controlled();
      const lingerMs = 30;
      const loader = new BatchLoader(loadMany, { maxInFlight: 1, lingerMs });
      const a = loader.load('a');
      while (calls.length === 0) await sleep(2);
      const queued = performance.now();
      const b = loader.load('b');
      calls[0]!.finish();
      await a;
      await nextTurn();
      expect(calls).to.have.length(1);
      while (calls.length === 1) await sleep(2);
      expect(performance.now() - queued).to.be.at.least(lingerMs - 2);
      expect(calls.map((c) => c.keys)).to.deep.equal([['a'], ['b']]);
      calls[1]!.finish();
      expect(await b).to.equal('B');
    });
  });
});
