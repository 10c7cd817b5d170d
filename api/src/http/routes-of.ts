import type Koa from 'koa';
import { ROUTERS } from '../app.js';

/** `METHOD /path/{param}` for every route of the app (HEAD, implied by GET, left out). */
export function routesOf(app: Koa): string[] {
  const out = new Set<string>();
  for (const router of ROUTERS.get(app) ?? []) {
    for (const layer of router.stack) {
      const path = String(layer.path).replace(/:(\w+)/g, '{$1}');
      for (const method of layer.methods) if (method !== 'HEAD') out.add(`${method} ${path}`);
    }
  }
  return [...out].sort();
}
