import { Lru } from '../lru.js';
import type { Principal, TokenVerifier } from './jwt-verifier.js';

export interface VerifiedTokenCacheOptions {
  /** Most tokens remembered; 0 turns the cache off. */
  maxEntries: number;
  /** Longest a verification is reused, whatever the token's exp (bounds a JWKS key removal). */
  ttlMs: number;
  /** Same skew jose tolerates on exp, so a cached token expires exactly when jose would say. */
  clockToleranceSec: number;
  now?: () => number;
}

interface Entry {
  principal: Principal;
  validUntilMs: number;
}

/**
 * Remembers tokens that verified, keyed by the token's exact text (header, claims and
 * signature), so a player that sends progress every few seconds with one token pays the
 * signature check once: in the single-event profile, jose's WebCrypto HMAC verify was the
 * largest single cost of a request. Only successes are cached: a bad
 * token is verified, and refused, every time. A hit is honoured until the token's exp (plus
 * the tolerated skew) or the TTL, whichever comes first; nbf needs no check, it had passed.
 * Eviction is least-recently-used (api/src/lru.ts): a player's token in use stays, one seen
 * once goes first, and a hit changes no Map entry (api/src/lru.ts: the Map-only version grew the
 * heap without end on every hit while this cache was below its bound).
 */
export function cachedVerifier(verify: TokenVerifier, opts: VerifiedTokenCacheOptions): TokenVerifier {
  if (opts.maxEntries <= 0) return verify;
  const now = opts.now ?? Date.now;
  const entries = new Lru<string, Entry>(opts.maxEntries);
  return async (token) => {
    const hit = entries.get(token);
    // An expired entry stays until re-verified (set replaces it) or evicted.
    if (hit !== undefined && now() < hit.validUntilMs) return hit.principal;
    const principal = await verify(token);
    const expiresMs = (principal.expiresAtSec + opts.clockToleranceSec) * 1000;
    const validUntilMs = Math.min(expiresMs, now() + opts.ttlMs);
    entries.set(token, { principal, validUntilMs });
    return principal;
  };
}
