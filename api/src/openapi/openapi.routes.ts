import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { NotFoundError } from '../../../lib/errors.js';

const ASSETS = new Map([
  ['swagger-ui.css', 'text/css'],
  ['swagger-ui-bundle.js', 'application/javascript'],
]);

/** /openapi.json and /docs (Swagger UI served from the swagger-ui-dist package: no CDN). */
export function openApiRoutes(document: Record<string, unknown>): Router {
  const router = createRouter();
  const assetDir = (
    createRequire(import.meta.url)('swagger-ui-dist') as { getAbsoluteFSPath(): string }
  ).getAbsoluteFSPath();
  const body = JSON.stringify(document);
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = body;
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html';
    ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Streaming analytics API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script>
</body></html>`;
  });
  router.get('/docs/assets/:file', (ctx) => {
    const type = ASSETS.get(ctx.params.file ?? '');
    if (type === undefined) throw new NotFoundError('no such asset');
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = readFileSync(join(assetDir, ctx.params.file!));
  });
  return router;
}
