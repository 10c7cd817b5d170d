import type { Context, Middleware } from 'koa';
import { ForbiddenError, UnauthorizedError } from '../../../lib/errors.js';
import { bearerToken } from './auth.middleware.js';
import { guarded, opensWithSession } from './guard.js';
import type { TokenVerifier } from './jwt-verifier.js';

export interface RoleOptions {
  role: string;
  /**
   * Also accept a browser session from this cookie (a plain HTML page cannot send a bearer
   * header). `verify` answers the session's subject, or null when it is not a valid session;
   * a session is never a JWT, so the cookie grants nothing on routes without this option.
   */
  session?: { cookie: string; verify: (value: string | undefined) => string | null };
}

/** Authenticated and holding `role` (JWT `role` or `roles` claim), else 401 / 403. */
export function requireRole(verify: TokenVerifier, opts: RoleOptions): Middleware {
  const middleware = guarded(async (ctx: Context, next) => {
    const token = bearerToken(ctx);
    if (token === undefined && opts.session !== undefined) {
      const cookie = ctx.cookies.get(opts.session.cookie);
      const subject = opts.session.verify(cookie);
      if (subject !== null) {
        ctx.state.principal = { subject, roles: [opts.role], expiresAtSec: 0 };
        await next();
        return;
      }
      if (cookie !== undefined)
        throw new UnauthorizedError(
          'the session has expired or is not valid: sign in again',
          'invalid_token',
        );
    }
    if (token === undefined || token === '')
      throw new UnauthorizedError('missing bearer token', 'invalid_request');
    const principal = await verify(token);
    if (!principal.roles.includes(opts.role)) throw new ForbiddenError(`requires the ${opts.role} role`);
    ctx.state.principal = principal;
    await next();
  }, `role:${opts.role}`);
  return opts.session === undefined ? middleware : opensWithSession(middleware, opts.session.cookie);
}
