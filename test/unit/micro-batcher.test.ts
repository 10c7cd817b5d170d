import { expect } from 'chai';
import { BatchTimeoutError, MicroBatcher } from '../../api/src/ingest/micro-batcher.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('MicroBatcher', () => {
  it('groups items added in the same linger window into one send', async () => {
    const sends: number[][] = [];
    const b = new MicroBatcher<number>({ lingerMs: 5, maxItems: 100, maxInFlight: 1 }, async (items) => {
      sends.push(items);
    });
    await Promise.all([b.add([1], 1000), b.add([2, 3], 1000), b.add([4], 1000)]);
    expect(sends).to.deep.equal([[1, 2, 3, 4]]);
  });

  it('sends as soon as maxItems are queued, without waiting for the linger time', async () => {
    const sends: number[][] = [];
    const b = new MicroBatcher<number>({ lingerMs: 60_000, maxItems: 3, maxInFlight: 1 }, async (items) => {
      sends.push(items);
    });
    await Promise.all([b.add([1, 2], 1000), b.add([3], 1000)]);
    expect(sends).to.deep.equal([[1, 2, 3]]);
  });

  it('never splits one add() across sends, and caps the rest at maxItems', async () => {
    const sends: number[][] = [];
    const gate = deferred();
    let first = true;
    const b = new MicroBatcher<number>({ lingerMs: 0, maxItems: 3, maxInFlight: 1 }, async (items) => {
      sends.push(items);
      if (first) {
        first = false;
        await gate.promise;
      }
    });
    const p0 = b.add([0], 1000);
    const rest = [b.add([1, 2], 1000), b.add([3, 4], 1000), b.add([5, 6, 7, 8], 1000)];
    gate.resolve();
    await Promise.all([p0, ...rest]);
    expect(sends).to.deep.equal([[0], [1, 2], [3, 4], [5, 6, 7, 8]]);
  });

  it('accumulates while a send is in flight and flushes right after it (one in flight)', async () => {
    const sends: number[][] = [];
    const gate = deferred();
    let inFlight = 0;
    let maxSeen = 0;
    const b = new MicroBatcher<number>({ lingerMs: 0, maxItems: 100, maxInFlight: 1 }, async (items) => {
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      sends.push(items);
      if (sends.length === 1) await gate.promise;
      inFlight--;
    });
    const first = b.add([1], 1000);
    const queued = [b.add([2], 1000), b.add([3], 1000), b.add([4], 1000)];
    expect(b.queuedItems).to.equal(3);
    gate.resolve();
    await Promise.all([first, ...queued]);
    expect(sends).to.deep.equal([[1], [2, 3, 4]]);
    expect(maxSeen).to.equal(1);
  });

  it('holds what queued during a send until lingerMs after its first item, not just until the send ends', async () => {
    const lingerMs = 40;
    const sends: number[][] = [];
    const gate = deferred();
    const started = deferred();
    const b = new MicroBatcher<number>({ lingerMs, maxItems: 100, maxInFlight: 1 }, async (items) => {
      sends.push(items);
      if (sends.length === 1) {
        started.resolve();
        await gate.promise;
      }
    });
    const first = b.add([1], 10_000);
    await started.promise;
    const queuedAt = performance.now();
    const queued = b.add([2], 10_000);
    gate.resolve();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(sends, 'sent as soon as the first send ended').to.deep.equal([[1]]);
    await queued;
    expect(sends).to.deep.equal([[1], [2]]);
    // Slack: libuv runs timers against a loop clock rounded to whole milliseconds.
    expect(performance.now() - queuedAt).to.be.at.least(lingerMs - 5);
  });

  it('rejects every caller of a failed send with the send error', async () => {
    const boom = new Error('broker said no');
    const b = new MicroBatcher<number>({ lingerMs: 1, maxItems: 10, maxInFlight: 1 }, () =>
      Promise.reject(boom),
    );
    const results = await Promise.allSettled([b.add([1], 1000), b.add([2], 1000)]);
    expect(results.map((r) => (r.status === 'rejected' ? r.reason : null))).to.deep.equal([boom, boom]);
  });

  it('times out a caller whose send hangs, and never sends items that timed out while queued', async () => {
    const sends: number[][] = [];
    const gate = deferred();
    const b = new MicroBatcher<number>({ lingerMs: 0, maxItems: 10, maxInFlight: 1 }, async (items) => {
      sends.push(items);
      if (sends.length === 1) await gate.promise;
    });
    const hung = b.add([1], 20);
    const queued = b.add([2], 20);
    const [r1, r2] = await Promise.allSettled([hung, queued]);
    expect(r1.status === 'rejected' && r1.reason).to.be.instanceOf(BatchTimeoutError);
    expect(r2.status === 'rejected' && r2.reason).to.be.instanceOf(BatchTimeoutError);
    gate.resolve();
    await b.drain();
    expect(sends).to.deep.equal([[1]]);
  });

  it('drain() sends what is queued and waits for it', async () => {
    const sends: number[][] = [];
    const b = new MicroBatcher<number>({ lingerMs: 60_000, maxItems: 100, maxInFlight: 1 }, async (items) => {
      await new Promise((r) => setTimeout(r, 5));
      sends.push(items);
    });
    const p = b.add([7, 8], 10_000);
    await b.drain();
    await p;
    expect(sends).to.deep.equal([[7, 8]]);
  });
});
