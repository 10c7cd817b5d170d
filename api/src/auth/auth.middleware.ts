import type { Middleware } from 'koa';
import { UnauthorizedError } from '../../../lib/errors.js';
import type { Principal, TokenVerifier } from './jwt-verifier.js';

const BEARER = /^Bearer ([A-Za-z0-9\-_.]+)$/;

/** Puts the verified Principal on ctx.state.principal or answers 401. */
export function requireAuth(verify: TokenVerifier): Middleware {
  return async (ctx, next) => {
    const header = ctx.get('Authorization');
    if (header === '') throw new UnauthorizedError('missing bearer token', 'invalid_request');
    const match = BEARER.exec(header);
    if (match === null)
      throw new UnauthorizedError('Authorization header must be "Bearer <token>"', 'invalid_request');
    ctx.state.principal = await verify(match[1]!);
    await next();
  };
}

export function principalOf(state: Record<string, unknown>): Principal {
  return state.principal as Principal;
}
