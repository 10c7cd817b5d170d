import type { Registry } from 'prom-client';
import { route, type Route } from '../http/route.js';

/** Prometheus scrape endpoint. */
export function metricsRoutes(registry: Registry): Route[] {
  return [
    route({
      method: 'GET',
      path: '/metrics',
      summary: 'Prometheus metrics',
      auth: 'public',
      responses: { 200: { description: 'Text exposition format', type: 'text/plain' } },
      handle: async (ctx) => {
        ctx.set('Content-Type', registry.contentType);
        ctx.body = await registry.metrics();
      },
    }),
  ];
}
