import { expect } from 'chai';
import type { Principal } from '../../api/src/auth/jwt-verifier.js';
import { cachedVerifier } from '../../api/src/auth/verified-token-cache.js';

/** A stand-in for jose: counts calls; a token "bad…" fails; exp comes from the table. */
function fakeVerifier(expOf: Record<string, number>) {
  const calls: string[] = [];
  const verify = async (token: string): Promise<Principal> => {
    calls.push(token);
    if (token.startsWith('bad')) throw new Error('token signature invalid');
    return { subject: `viewer-${token}`, roles: [], expiresAtSec: expOf[token] ?? 1_000_000 };
  };
  return { verify, calls };
}

describe('verified-token cache', () => {
  let clockMs: number;
  const now = () => clockMs;
  beforeEach(() => {
    clockMs = 100_000_000;
  });

  it('verifies a token once and answers repeats from memory', async () => {
    const f = fakeVerifier({});
    const v = cachedVerifier(f.verify, { maxEntries: 10, ttlMs: 60_000, clockToleranceSec: 0, now });
    expect((await v('a')).subject).to.equal('viewer-a');
    expect((await v('a')).subject).to.equal('viewer-a');
    await v('b');
    expect(f.calls).to.deep.equal(['a', 'b']);
  });

  it("never reuses a verification past the token's exp plus the tolerated skew", async () => {
    const f = fakeVerifier({ a: 100_010 }); // exp 10 s after the clock's start
    const v = cachedVerifier(f.verify, { maxEntries: 10, ttlMs: 600_000, clockToleranceSec: 5, now });
    await v('a');
    clockMs = 100_014_999;
    await v('a');
    expect(f.calls).to.have.length(1);
    clockMs = 100_015_000; // exp + 5 s: jose would refuse now, so ask it
    await v('a');
    expect(f.calls).to.have.length(2);
  });

  it('re-verifies after the TTL even when exp is far away', async () => {
    const f = fakeVerifier({});
    const v = cachedVerifier(f.verify, { maxEntries: 10, ttlMs: 60_000, clockToleranceSec: 0, now });
    await v('a');
    clockMs += 59_999;
    await v('a');
    clockMs += 1;
    await v('a');
    expect(f.calls).to.deep.equal(['a', 'a']);
  });

  it('never caches a failure', async () => {
    const f = fakeVerifier({});
    const v = cachedVerifier(f.verify, { maxEntries: 10, ttlMs: 60_000, clockToleranceSec: 0, now });
    for (let i = 0; i < 3; i++) {
      let failed = false;
      await v('bad-token').catch(() => (failed = true));
      expect(failed).to.equal(true);
    }
    expect(f.calls).to.have.length(3);
  });

  it('holds at most maxEntries tokens, dropping the least recently used', async () => {
    const f = fakeVerifier({});
    const v = cachedVerifier(f.verify, { maxEntries: 2, ttlMs: 60_000, clockToleranceSec: 0, now });
    await v('a');
    await v('b');
    await v('a'); // a is now the most recently used
    await v('c'); // evicts b, not a (insertion order would drop a)
    await v('a');
    expect(f.calls).to.deep.equal(['a', 'b', 'c']);
    await v('b');
    expect(f.calls).to.deep.equal(['a', 'b', 'c', 'b']);
  });

  it('evicts in order without re-verifying the tokens it keeps', async () => {
    const f = fakeVerifier({});
    const v = cachedVerifier(f.verify, { maxEntries: 2, ttlMs: 60_000, clockToleranceSec: 0, now });
    await v('a');
    await v('b');
    await v('c'); // evicts a
    await v('b');
    await v('c');
    expect(f.calls).to.deep.equal(['a', 'b', 'c']);
    await v('a');
    expect(f.calls).to.deep.equal(['a', 'b', 'c', 'a']);
  });

  it('is off with maxEntries 0', async () => {
    const f = fakeVerifier({});
    const v = cachedVerifier(f.verify, { maxEntries: 0, ttlMs: 60_000, clockToleranceSec: 0, now });
    await v('a');
    await v('a');
    expect(f.calls).to.have.length(2);
  });
});
