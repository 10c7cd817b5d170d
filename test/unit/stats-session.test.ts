import { expect } from 'chai';
import { sessionCookie, StatsSessions } from '../../api/src/experiments/stats-session.js';

describe('stats page sessions', () => {
  const secret = Buffer.alloc(32, 7);
  let clock = 1_700_000_000_000;
  const sessions = new StatsSessions(secret, 3600, () => clock);

  it('accepts its own value until it expires, and names the admin', () => {
    const { value, maxAgeSec } = sessions.issue('admin-1');
    expect(maxAgeSec).to.equal(3600);
    expect(sessions.verify(value)).to.equal('admin-1');
    clock += 3599_000;
    expect(sessions.verify(value)).to.equal('admin-1');
    clock += 1000;
    expect(sessions.verify(value)).to.equal(null);
  });

  it('never outlives the token it was issued for', () => {
    const nowSec = Math.floor(clock / 1000);
    const { value, maxAgeSec } = sessions.issue('admin-1', nowSec + 60);
    expect(maxAgeSec).to.equal(60);
    clock += 60_000;
    expect(sessions.verify(value)).to.equal(null);
  });

  it('refuses an altered expiry or subject, another key, and anything not shaped like a session', () => {
    const { value } = sessions.issue('admin-1');
    const [expires, subject, mac] = value.split('.') as [string, string, string];
    const later = `${Number(expires) + 86400}.${subject}.${mac}`;
    const other = `${expires}.${Buffer.from('admin-2').toString('base64url')}.${mac}`;
    const foreign = new StatsSessions(Buffer.alloc(32, 8), 3600, () => clock).issue('admin-1').value;
    for (const bad of [
      later,
      other,
      foreign,
      '',
      'a.b',
      `${value}.x`,
      'eyJhbGciOi.eyJzdWIi.sig',
      undefined,
    ]) {
      expect(sessions.verify(bad), String(bad)).to.equal(null);
    }
  });

  it('sets the cookie HttpOnly, Secure and SameSite=Strict', () => {
    expect(sessionCookie('s', 'v', 10)).to.equal(
      's=v; Max-Age=10; Path=/; HttpOnly; Secure; SameSite=Strict',
    );
  });
});
