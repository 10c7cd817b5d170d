import type { webcrypto } from 'node:crypto';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { isNilOrMaxUuid, isUuidShape } from '../../../lib/contracts/fast-checks.js';
import { ConfigError, UnauthorizedError } from '../../../lib/errors.js';
import type { Config } from '../../../lib/config/config.js';

export interface Principal {
  /** The viewer: the token's `sub`, a UUID. Never taken from a request body. */
  subject: string;
  roles: string[];
  /** The token's `exp` (a required claim), in seconds since the epoch. */
  expiresAtSec: number;
}

export type JwtOptions = Pick<
  Config['auth'],
  'secret' | 'jwksUrl' | 'issuer' | 'audience' | 'clockToleranceSec' | 'maxLifetimeSec' | 'jwksCacheMaxAgeMs'
>;

export type TokenVerifier = (token: string) => Promise<Principal>;

const HS_ALGS = ['HS256'];
// NOTE: the accepted algorithms are pinned per key source. A JWKS setup never accepts HS*
// (so a token "signed" with the public key as an HMAC secret fails: algorithm confusion),
// and `none` is rejected by jose in every mode.
const ASYMMETRIC_ALGS = ['RS256', 'ES256', 'EdDSA'];

export function createJwtVerifier(opts: JwtOptions): TokenVerifier {
  if ((opts.secret === undefined) === (opts.jwksUrl === undefined)) {
    throw new ConfigError(
      'JWT_SECRET',
      opts.secret === undefined ? '' : '[set]',
      'exactly one of JWT_SECRET or JWT_JWKS_URL',
    );
  }
  let key: Promise<webcrypto.CryptoKey> | JWTVerifyGetKey;
  let algorithms: string[];
  if (opts.secret !== undefined) {
    const raw = new TextEncoder().encode(opts.secret);
    if (raw.length < 32) throw new ConfigError('JWT_SECRET', '[redacted]', 'at least 32 bytes for HS256');
    // Imported once: given raw bytes, jose imports the key again on every verify, a cost
    // as large as the verify itself.
    key = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    algorithms = HS_ALGS;
  } else {
    key = createRemoteJWKSet(new URL(opts.jwksUrl!), {
      cacheMaxAge: opts.jwksCacheMaxAgeMs,
      cooldownDuration: 30_000,
      timeoutDuration: 5_000,
    });
    algorithms = ASYMMETRIC_ALGS;
  }

  return async (token) => {
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, typeof key === 'function' ? key : await key, {
        algorithms,
        issuer: opts.issuer,
        audience: opts.audience,
        clockTolerance: opts.clockToleranceSec,
        requiredClaims: ['sub', 'exp'],
      });
      payload = verified.payload;
    } catch (err) {
      throw new UnauthorizedError(describe(err), 'invalid_token', { cause: err });
    }
    // jose checks `iat` only against a maximum token age; a token "issued" in the future is
    // a forged or mis-clocked one, refused like an early `nbf`.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + opts.clockToleranceSec) {
      throw new UnauthorizedError('token not yet valid (issued in the future)', 'invalid_token');
    }
    const issuedAtSec = typeof payload.iat === 'number' ? payload.iat : Date.now() / 1000;
    if (
      opts.maxLifetimeSec > 0 &&
      payload.exp! - issuedAtSec > opts.maxLifetimeSec + opts.clockToleranceSec
    ) {
      throw new UnauthorizedError(`token lifetime exceeds ${opts.maxLifetimeSec} s`, 'invalid_token');
    }
    if (!isUuidShape(payload.sub) || isNilOrMaxUuid(payload.sub)) {
      throw new UnauthorizedError('token subject must be a viewer UUID', 'invalid_token');
    }
    return { subject: payload.sub.toLowerCase(), roles: rolesOf(payload), expiresAtSec: payload.exp! };
  };
}

function rolesOf(payload: JWTPayload): string[] {
  const roles: string[] = [];
  if (typeof payload.role === 'string') roles.push(payload.role);
  if (Array.isArray(payload.roles))
    roles.push(...payload.roles.filter((r): r is string => typeof r === 'string'));
  return roles;
}

/** A client-safe reason: specific enough to fix the client, never echoing the token. */
function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') return 'token not yet valid';
    return `token claim ${err.claim} is invalid`;
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'token signed by an unknown key';
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return 'token malformed';
  if (err instanceof joseErrors.JWKSTimeout) return 'token keys unavailable';
  return 'token invalid';
}
