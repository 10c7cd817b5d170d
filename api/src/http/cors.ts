import cors from '@koa/cors';
import type { Context, Middleware } from 'koa';

/**
 * CORS for the player page. Origins come from config; an unlisted origin gets no CORS
 * headers (the browser blocks it), `*` allows any origin (tokens travel in the
 * Authorization header, never in cookies, so credentials are not enabled).
 */
export function corsMiddleware(allowedOrigins: readonly string[]): Middleware {
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  return cors({
    origin: (ctx: Context) => {
      const origin = ctx.get('Origin');
      if (any) return '*';
      return allowed.has(origin) ? origin : '';
    },
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Device-Token'],
    exposeHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: 600,
  });
}
