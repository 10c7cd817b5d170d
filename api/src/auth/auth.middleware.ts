import type { Context, Middleware } from 'koa';
import { UnauthorizedError } from '../../../lib/errors.js';
import { guarded } from './guard.js';
import type { Principal, TokenVerifier } from './jwt-verifier.js';

const BEARER = /^Bearer ([A-Za-z0-9\-_.]+)$/;

/** The bearer token of the request; undefined without an Authorization header, 401 when malformed. */
export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('Authorization');
  if (header === '') return undefined;
  const match = BEARER.exec(header);
  if (match === null)
    throw new UnauthorizedError('Authorization header must be "Bearer <token>"', 'invalid_request');
  return match[1]!;
}

/** Puts the verified Principal on ctx.state.principal or answers 401. */
export function requireAuth(verify: TokenVerifier): Middleware {
  return guarded(async (ctx, next) => {
    const token = bearerToken(ctx);
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
