import type { Registry } from 'prom-client';
import { ForbiddenError } from '../../../lib/errors.js';
import { addressMatcher, type Cidr } from '../../../lib/net/cidr.js';
import { route, type Route } from '../http/route.js';

/**
 * Prometheus scrape endpoint, for the networks Prometheus scrapes from only: the API port
 * faces players, and the figures (routes, rates, pools, topics) are no client's business.
 * The socket's address decides, never a forwarded header a client could write.
 */
export function metricsRoutes(registry: Registry, allowed: readonly Cidr[]): Route[] {
  const isAllowed = addressMatcher(allowed);
  return [
    route({
      method: 'GET',
      path: '/metrics',
      summary: 'Prometheus metrics (clients in METRICS_ALLOWED_CIDRS only)',
      auth: 'public',
      responses: {
        200: { description: 'Text exposition format', type: 'text/plain' },
        403: 'The client address is outside METRICS_ALLOWED_CIDRS',
      },
      handle: async (ctx) => {
        if (!isAllowed(ctx.req.socket.remoteAddress)) {
          throw new ForbiddenError('metrics are served to the networks in METRICS_ALLOWED_CIDRS only');
        }
        ctx.set('Content-Type', registry.contentType);
        ctx.body = await registry.metrics();
      },
    }),
  ];
}
