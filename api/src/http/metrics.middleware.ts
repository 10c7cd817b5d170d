import type { Middleware } from 'koa';
import type { Metrics } from '../../../lib/metrics/registry.js';
import { nameTransaction } from '../../../lib/apm/tracing.js';

/**
 * Request duration (and the APM transaction name) by route *pattern* (`/api/v1/progress/films/:film_id`, never the raw
 * path: ids would explode label cardinality) and status; 503s counted as shed requests.
 */
export function metricsMiddleware(metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const end = metrics.httpRequestDuration.startTimer();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      end({ method: ctx.method, route, status: String(ctx.status) });
      nameTransaction(`${ctx.method} ${route}`);
      if (ctx.status === 503) {
        const code = (ctx.body as { error?: { code?: string } } | undefined)?.error?.code ?? 'unavailable';
        metrics.httpRequestsShed.inc({ reason: code });
      }
    }
  };
}
