import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, GoneError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';

export interface SignedLink {
  /** Query string of the download URL (period, expires, signature). */
  query: string;
  expiresAt: Date;
}

/**
 * Download links for reports: the link itself is the credential (like a pre-signed
 * object-store URL), so a browser or `curl` can fetch it without a token. It names the
 * report, carries its expiry, and is signed with HMAC-SHA256; changing any part, or using
 * it after its expiry, is refused. Nothing is stored: any API replica with the same key
 * can serve it.
 */
export class HistoryLinks {
  constructor(
    private readonly key: Buffer,
    private readonly ttlSec: number,
    private readonly now: () => number = Date.now,
  ) {}

  sign(period: string): SignedLink {
    const expires = Math.floor(this.now() / 1000) + this.ttlSec;
    const signature = this.mac(period, expires);
    return {
      query: new URLSearchParams({ period, expires: String(expires), signature }).toString(),
      expiresAt: new Date(expires * 1000),
    };
  }

  /** Throws 403 for a link we did not sign (or that was changed), 410 once it expired. */
  verify(period: string, expires: number, signature: string): void {
    const expected = Buffer.from(this.mac(period, expires));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ForbiddenError('this link is not valid (altered, or signed with another key)', {
        code: 'invalid_signature',
      });
    }
    if (this.now() >= expires * 1000) {
      throw new GoneError('this link has expired: ask for a new one', { code: 'link_expired' });
    }
  }

  private mac(period: string, expires: number): string {
    return createHmac('sha256', this.key)
      .update(`segment-history\n${period}\n${expires}`)
      .digest('base64url');
  }
}

/**
 * The link key: REPORT_LINK_SECRET, else derived from the JWT secret (HKDF, so the JWT
 * key itself never signs anything else), else random for this process.
 */
export function linkKey(
  secrets: { reportLinkSecret: string | undefined; jwtSecret: string | undefined },
  log: Logger,
): Buffer {
  if (secrets.reportLinkSecret !== undefined) return Buffer.from(secrets.reportLinkSecret, 'utf8');
  if (secrets.jwtSecret !== undefined) {
    return Buffer.from(hkdfSync('sha256', secrets.jwtSecret, '', 'report-download-links', 32));
  }
  log.warn(
    'report links are signed with a random per-process key (set REPORT_LINK_SECRET so every API replica accepts them)',
  );
  return randomBytes(32);
}
