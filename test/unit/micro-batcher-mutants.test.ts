import { expect } from 'chai';
import { BatchTimeoutError, MicroBatcher } from '../../api/src/ingest/micro-batcher.js';

// Cases the mutation run (npm run test:mutation) showed micro-batcher.test.ts leaves open.

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => (resolve = res));
  return { promise, resolve };
}

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `sends` holds n batches (the test's own timeout bounds the wait). */
async function sent(sends: unknown[], n: number): Promise<void> {
  while (sends.length < n) await tick();
}

describe('MicroBatcher (mutation-testing cases)', () => {
  it('names the timeout and says how long it waited', async () => {
    const b = new MicroBatcher<number>(
      { lingerMs: 0, maxItems: 10, maxInFlight: 1 },
      () => new Promise(() => {}),
    );
    const err = await b.add([1], 15).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(BatchTimeoutError);
    expect((err as BatchTimeoutError).name).to.equal('BatchTimeoutError');
    expect((err as BatchTimeoutError).message).to.equal('not acknowledged within 15 ms');
    expect((err as BatchTimeoutError).timeoutMs).to.equal(15);
  });

  it('runs up to maxInFlight sends at once, and no more', async () => {
    const gates = [deferred(), deferred(), deferred()];
    const sends: number[][] = [];
    let inFlight = 0;
    let maxSeen = 0;
    const b = new MicroBatcher<number>({ lingerMs: 0, maxItems: 1, maxInFlight: 2 }, async (items) => {
      const gate = gates[sends.length]!;
      sends.push(items);
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      await gate.promise;
      inFlight--;
    });
    const all = [b.add([1], 5000), b.add([2], 5000), b.add([3], 5000)];
    await tick();
    expect(sends, 'two sends start, the third waits').to.deep.equal([[1], [2]]);
    gates[0]!.resolve();
    await sent(sends, 3);
    expect(sends).to.deep.equal([[1], [2], [3]]);
    gates[1]!.resolve();
    gates[2]!.resolve();
    await Promise.all(all);
    expect(maxSeen).to.equal(2);
    expect(b.queuedItems).to.equal(0);
  });

  it('counts queued items down as they are taken into a send', async () => {
    const gate = deferred();
    const b = new MicroBatcher<number>({ lingerMs: 0, maxItems: 100, maxInFlight: 1 }, () => gate.promise);
    const first = b.add([1, 2], 5000);
    expect(b.queuedItems, 'taken at once: nothing in flight').to.equal(0);
    const second = b.add([3, 4, 5], 5000);
    expect(b.queuedItems).to.equal(3);
    gate.resolve();
    await Promise.all([first, second]);
    expect(b.queuedItems).to.equal(0);
  });

  it('sends what waited out its linger during a long send as soon as that send ends', async () => {
    const lingerMs = 80;
    const sends: number[][] = [];
    const gate = deferred();
    const b = new MicroBatcher<number>({ lingerMs, maxItems: 100, maxInFlight: 1 }, async (items) => {
      sends.push(items);
      if (sends.length === 1) await gate.promise;
    });
    const first = b.add([1], 10_000);
    await sleep(lingerMs + 10);
    const queued = b.add([2], 10_000);
    await sleep(lingerMs + 30); // the queued item's linger is long over, the first send still runs
    expect(sends).to.deep.equal([[1]]);
    const releasedAt = performance.now();
    gate.resolve();
    await Promise.all([first, queued]);
    expect(sends).to.deep.equal([[1], [2]]);
    expect(performance.now() - releasedAt, 'no second linger after the send').to.be.below(lingerMs / 2);
  });

  it('starts a fresh linger for items added after a flush, unaffected by the previous timer', async () => {
    const lingerMs = 40;
    const sentAt: number[] = [];
    const b = new MicroBatcher<number>({ lingerMs, maxItems: 2, maxInFlight: 1 }, async () => {
      sentAt.push(performance.now());
    });
    const start = performance.now();
    const a = b.add([1], 5000); // arms the linger timer
    const full = b.add([2], 5000); // maxItems reached: flushes now, the timer must go
    await Promise.all([a, full]);
    await sleep(lingerMs / 2);
    const lateAdd = performance.now();
    await b.add([3], 5000); // must wait its own linger, not fire with the first timer
    expect(sentAt).to.have.length(2);
    expect(sentAt[0]! - start).to.be.below(lingerMs / 2);
    expect(sentAt[1]! - lateAdd).to.be.at.least(lingerMs - 5);
  });

  it('drain() waits for a send already in flight', async () => {
    const gate = deferred();
    let done = false;
    const b = new MicroBatcher<number>({ lingerMs: 0, maxItems: 10, maxInFlight: 1 }, async () => {
      await gate.promise;
      done = true;
    });
    const p = b.add([1], 5000);
    await tick();
    const drained = b.drain().then(() => done);
    await sleep(5);
    gate.resolve();
    expect(await drained, 'drain ended only after the send').to.equal(true);
    await p;
  });

  it('rejects only the callers of the failed send; the next batch still succeeds', async () => {
    const boom = new Error('no');
    let calls = 0;
    const b = new MicroBatcher<number>({ lingerMs: 0, maxItems: 1, maxInFlight: 1 }, async () => {
      if (calls++ === 0) throw boom;
    });
    const results = await Promise.allSettled([b.add([1], 5000), b.add([2], 5000)]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'fulfilled']);
    expect(results[0].status === 'rejected' && results[0].reason).to.equal(boom);
  });
});
