import type { Middleware } from 'koa';
import { AppError, UnauthorizedError, UnavailableError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { errorBody, HTTP_STATUS_CODES } from './error-shape.js';

/**
 * Top of the stack: every error becomes the one JSON shape. AppErrors carry their status
 * and code; http-errors from Koa middleware (405, 413...) keep their 4xx status; anything
 * else is a bug: 500 with no internals, logged with its stack.
 */
export function errorMiddleware(rootLog: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body !== undefined) return;
      // The router's answer for a method a path does not serve (405, with Allow) or one no
      // route serves at all (501: TRACE, PROPFIND, made-up ones): the client's mistake either
      // way, so a 405 in the one shape, never a 5xx; on a path no route serves (its Allow
      // empty), a 404 whatever the method.
      const allow = ctx.status === 405 || ctx.status === 501 ? ctx.response.get('Allow') : undefined;
      if (allow !== undefined && allow !== '') {
        ctx.status = 405;
        ctx.body = errorBody('method_not_allowed', `${ctx.method} is not allowed here (allowed: ${allow})`);
      } else if (ctx.status === 404 || allow === '') {
        ctx.remove('Allow');
        ctx.status = 404;
        ctx.body = errorBody('not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      const log = (ctx.state.log as Logger | undefined) ?? rootLog;
      if (err instanceof AppError) {
        ctx.status = err.status;
        ctx.body = errorBody(err.code, err.message, err.details);
        if (err instanceof UnauthorizedError) {
          ctx.set('WWW-Authenticate', `Bearer realm="api", error="${err.bearerError}"`);
        }
        if (err instanceof UnavailableError) ctx.set('Retry-After', String(err.retryAfterSec));
        if (err.status >= 500) log.warn({ err }, 'request_unavailable');
        return;
      }
      const status = (err as { status?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        ctx.status = status;
        const expose = (err as { expose?: boolean }).expose === true;
        ctx.body = errorBody(
          HTTP_STATUS_CODES[status] ?? 'bad_request',
          expose ? (err as Error).message : 'bad request',
        );
        const allow = (err as { headers?: Record<string, string> }).headers?.Allow;
        if (allow !== undefined) ctx.set('Allow', allow);
        return;
      }
      log.error({ err }, 'request_failed');
      ctx.status = 500;
      ctx.body = errorBody('internal_error', 'internal error');
    }
  };
}
