import { expect } from 'chai';
import { backoffDelay, sleep } from '../../lib/retry.js';

describe('backoffDelay', () => {
  const opts = { initialMs: 100, maxMs: 2000, jitter: 0.5 };
  it('doubles per attempt between the jitter bounds', () => {
    expect(backoffDelay(0, opts, () => 0)).to.equal(50);
    expect(backoffDelay(0, opts, () => 1)).to.equal(100);
    expect(backoffDelay(3, opts, () => 1)).to.equal(800);
  });
  it('never exceeds the cap, even after many attempts', () => {
    for (const attempt of [5, 10, 100, 10_000]) expect(backoffDelay(attempt, opts, () => 1)).to.equal(2000);
  });
  it('without jitter is exact', () => {
    expect(backoffDelay(2, { initialMs: 10, maxMs: 1000, jitter: 0 }, () => 0.7)).to.equal(40);
  });
});

describe('sleep', () => {
  it('returns early when aborted', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 10);
    await sleep(10_000, ac.signal);
    expect(Date.now() - started).to.be.lessThan(5000);
  });
});
