import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type { Registry } from 'prom-client';

/** Prometheus scrape endpoint. */
export function metricsRoutes(registry: Registry): Router {
  const router = createRouter();
  router.get('/metrics', async (ctx) => {
    ctx.set('Content-Type', registry.contentType);
    ctx.body = await registry.metrics();
  });
  return router;
}
