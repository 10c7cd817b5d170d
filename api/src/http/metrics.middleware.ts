import type { Middleware } from 'koa';
import type { Metrics } from '../../../lib/metrics/registry.js';
import { nameTransaction } from '../../../lib/apm/tracing.js';

const PROBES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

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
      // A probe's 503 (/readyz with a dependency down) sheds no client's request.
      if (ctx.status === 503 && !PROBES.has(route)) {
        const code = (ctx.body as { error?: { code?: string } } | undefined)?.error?.code ?? 'unavailable';
        metrics.httpRequestsShed.inc({ reason: code });
      }
    }
  };
}
