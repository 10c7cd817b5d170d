import Router from '@koa/router';

/**
 * Every router of the API matches paths exactly: letter case counts and a trailing slash is
 * another path. @koa/router matches routes case-insensitively by default while the pattern
 * of a router-level middleware is built case-sensitively, so `/API/...` once reached a
 * handler without passing the auth middleware of its router. One set of options for every
 * router (the root included) leaves no path that matches a route but not its guards: a
 * variant in case or slashes is simply no route (404).
 */
export const ROUTER_OPTIONS = { sensitive: true, strict: true } as const;

export function createRouter(prefix?: string): Router {
  return new Router(prefix === undefined ? ROUTER_OPTIONS : { ...ROUTER_OPTIONS, prefix });
}
