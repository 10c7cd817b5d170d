import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The stats page's browser session. A page without JavaScript cannot send a bearer header,
 * so the browser holds a cookie instead — but never the admin JWT itself: a stolen cookie
 * must not work as a bearer token on the admin API. The cookie holds its expiry and the
 * admin's subject, signed with HMAC-SHA256, and is accepted only by the stats views (read
 * only). Nothing is stored: every replica with the same key accepts it.
 */
export class StatsSessions {
  private readonly key: Buffer;

  /** `secret`: the report-link key; the session key is derived from it (HKDF), never reused as is. */
  constructor(
    secret: Buffer,
    readonly ttlSec: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secret, '', 'stats-page-session', 32));
  }

  /** A cookie value for this admin, valid for ttlSec (never past `notAfterSec`, the token's exp). */
  issue(
    subject: string,
    notAfterSec: number = Number.POSITIVE_INFINITY,
  ): { value: string; maxAgeSec: number } {
    const nowSec = Math.floor(this.now() / 1000);
    const expires = Math.min(nowSec + this.ttlSec, Math.floor(notAfterSec));
    const body = `${expires}.${Buffer.from(subject, 'utf8').toString('base64url')}`;
    return { value: `${body}.${this.mac(body)}`, maxAgeSec: Math.max(0, expires - nowSec) };
  }

  /** The admin's subject when the value is ours, unaltered and unexpired; else null. */
  verify(value: string | undefined): string | null {
    if (value === undefined) return null;
    const parts = value.split('.');
    if (parts.length !== 3 || !/^\d{1,12}$/.test(parts[0]!)) return null;
    const body = `${parts[0]}.${parts[1]}`;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(parts[2]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    if (this.now() >= Number(parts[0]) * 1000) return null;
    return Buffer.from(parts[1]!, 'base64url').toString('utf8');
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(`stats-page-session\n${body}`).digest('base64url');
  }
}

/** The Set-Cookie value: HttpOnly, Secure, SameSite=Strict, for the whole origin's stats views. */
export function sessionCookie(name: string, value: string, maxAgeSec: number): string {
  return `${name}=${value}; Max-Age=${maxAgeSec}; Path=/; HttpOnly; Secure; SameSite=Strict`;
}
