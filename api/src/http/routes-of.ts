import type Koa from 'koa';
import { ROUTER } from '../app.js';
import { guardOf, type Guard } from '../auth/guard.js';

export interface RouteEntry {
  method: string;
  /** OpenAPI style: `/api/v1/progress/films/{film_id}`. */
  path: string;
  /** What the route's own middleware demands; undefined: public. */
  guard: Guard | undefined;
}

/**
 * Every route the app serves (HEAD, implied by GET, left out), with its guard: read from the
 * Koa router itself, not from the declarations, so a test sees what is really served.
 */
export function routeTable(app: Koa): RouteEntry[] {
  const out = new Map<string, RouteEntry>();
  for (const layer of ROUTER.get(app)?.stack ?? []) {
    const path = String(layer.path).replace(/:(\w+)/g, '{$1}');
    const guard = guardOf(layer.stack);
    for (const method of layer.methods) {
      if (method !== 'HEAD') out.set(`${method} ${path}`, { method, path, guard });
    }
  }
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
}

/** `METHOD /path/{param}` for every route of the app. */
export function routesOf(app: Koa): string[] {
  return routeTable(app).map((r) => `${r.method} ${r.path}`);
}
