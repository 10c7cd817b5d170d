import type { Context, Middleware } from 'koa';
import { ForbiddenError, UnauthorizedError } from '../../../lib/errors.js';
import { bearerToken } from './auth.middleware.js';
import type { TokenVerifier } from './jwt-verifier.js';

export interface RoleOptions {
  role: string;
  /** Also read the token from this cookie (a plain HTML page cannot send a bearer header). */
  cookie?: string;
}

/** Authenticated and holding `role` (JWT `role` or `roles` claim), else 401 / 403. */
export function requireRole(verify: TokenVerifier, opts: RoleOptions): Middleware {
  return async (ctx: Context, next) => {
    const token = bearerToken(ctx) ?? (opts.cookie === undefined ? undefined : ctx.cookies.get(opts.cookie));
    if (token === undefined || token === '')
      throw new UnauthorizedError('missing bearer token', 'invalid_request');
    const principal = await verify(token);
    if (!principal.roles.includes(opts.role)) throw new ForbiddenError(`requires the ${opts.role} role`);
    ctx.state.principal = principal;
    await next();
  };
}
