import Koa from 'koa';
import compress from 'koa-compress';
import type Router from '@koa/router';
import type { Config } from '../../lib/config/config.js';
import type { Logger } from '../../lib/log.js';
import { corsMiddleware } from './http/cors.js';
import { errorMiddleware } from './http/error.middleware.js';
import { metricsMiddleware } from './http/metrics.middleware.js';
import { routerOf, type Route } from './http/route.js';
import type { Metrics } from '../../lib/metrics/registry.js';
import { requestContextMiddleware } from './http/request-context.middleware.js';

/** The router an app serves (read by routeTable: what is really served, with its guards). */
export const ROUTER = new WeakMap<Koa, Router>();

export interface AppDeps {
  log: Logger;
  http: Pick<Config['http'], 'corsAllowedOrigins' | 'bodyLimitBytes'>;
  /** Matched in this order: the first route that matches answers. */
  routes: readonly Route[];
  metrics: Metrics;
}

/** Builds the Koa app from its dependencies; no I/O here, so tests can build it freely. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = true; // behind nginx: trust X-Forwarded-For for the client address
  app.silent = true; // errors are logged by errorMiddleware / the 'error' handler below
  app.on('error', (err: unknown) => deps.log.error({ err }, 'koa_error'));
  app.use(requestContextMiddleware(deps.log));
  app.use(metricsMiddleware(deps.metrics));
  app.use(errorMiddleware(deps.log));
  app.use(corsMiddleware(deps.http.corsAllowedOrigins));
  // Large answers only (a 500-event batch returns 500 ids): small ones are not worth the CPU.
  app.use(compress({ threshold: 1024, br: false, deflate: false }));
  // One router: a request is matched once, against every route. A middleware pair per
  // router made each request walk all of them in turn, and each read ctx.host (a header
  // parse behind a proxy): a large share of the API's CPU on a cached experiments request.
  // Guards sit on each route, and the router matches paths exactly (http/router.ts).
  const router = routerOf(deps.routes, deps.http);
  app.use(router.routes());
  // Not thrown: the router then sets Allow, and errorMiddleware writes the JSON body.
  app.use(router.allowedMethods());
  ROUTER.set(app, router);
  return app;
}
