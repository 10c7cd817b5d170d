import type { Context, Middleware } from 'koa';
import { UnauthorizedError } from '../../../lib/errors.js';
import { headerCount } from '../http/header-count.js';
import { keepReadBody, readJsonBody } from '../http/json-body.js';
import { guarded } from './guard.js';
import type { Principal, TokenVerifier } from './jwt-verifier.js';

// RFC 7235: the scheme is case-insensitive, and one or more spaces separate it from the token.
const BEARER = /^Bearer +([A-Za-z0-9\-_.]+)$/i;

/** The bearer token of the request; undefined without an Authorization header, 401 when malformed. */
export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('Authorization');
  if (header === '') return undefined;
  if (headerCount(ctx, 'authorization') > 1)
    throw new UnauthorizedError('send one Authorization header, not several', 'invalid_request');
  const match = BEARER.exec(header);
  if (match === null)
    throw new UnauthorizedError('Authorization header must be "Bearer <token>"', 'invalid_request');
  return match[1]!;
}

/** The body field a beacon carries its token in (RFC 6750's name for a token in a body). */
export const BODY_TOKEN_FIELD = 'access_token';

/**
 * The token a body carries in BODY_TOKEN_FIELD, taken out of it: the rest of the body waits
 * for the handler, so the token never reaches validation, Kafka or a dead letter.
 */
async function tokenFromBody(ctx: Context, limitBytes: number): Promise<string | undefined> {
  const body = await readJsonBody(ctx, limitBytes, { textPlain: true });
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !(BODY_TOKEN_FIELD in body)) {
    keepReadBody(ctx, body);
    return undefined;
  }
  const { [BODY_TOKEN_FIELD]: token, ...rest } = body as Record<string, unknown>;
  keepReadBody(ctx, rest);
  if (typeof token !== 'string' || token === '')
    throw new UnauthorizedError(`${BODY_TOKEN_FIELD} must be a token string`, 'invalid_request');
  return token;
}

export interface AuthOptions {
  /**
   * Without an Authorization header, take the token from the body's `access_token`:
   * `navigator.sendBeacon` (a tab closing) cannot send headers. The body is read here, within
   * this limit, and handed on to the route.
   */
  bodyToken?: { limitBytes: number };
}

/** Puts the verified Principal on ctx.state.principal or answers 401. */
export function requireAuth(verify: TokenVerifier, opts: AuthOptions = {}): Middleware {
  return guarded(async (ctx, next) => {
    let token = bearerToken(ctx);
    if (token === undefined && opts.bodyToken !== undefined && ctx.method === 'POST') {
      token = await tokenFromBody(ctx, opts.bodyToken.limitBytes);
    }
    if (token === undefined) throw new UnauthorizedError('missing bearer token', 'invalid_request');
    ctx.state.principal = await verify(token);
    await next();
  }, 'viewer');
}

/** The viewer when a token is sent (and valid: a bad one is still 401), else null. */
export async function optionalPrincipal(ctx: Context, verify: TokenVerifier): Promise<Principal | null> {
  const token = bearerToken(ctx);
  return token === undefined ? null : verify(token);
}

export function principalOf(state: Record<string, unknown>): Principal {
  return state.principal as Principal;
}
