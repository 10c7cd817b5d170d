import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { z } from 'zod';
import { NotFoundError } from '../../../lib/errors.js';
import { route, type Route } from '../http/route.js';
import { buildOpenApi } from './document.js';

const ASSETS = new Map([
  ['swagger-ui.css', 'text/css'],
  ['swagger-ui-bundle.js', 'application/javascript'],
]);

/**
 * /openapi.json, built from the declarations of `routes` and of these routes, and /docs
 * (Swagger UI served from the swagger-ui-dist package: no CDN).
 */
export function openApiRoutes(routes: readonly Route[]): Route[] {
  const assetDir = (
    createRequire(import.meta.url)('swagger-ui-dist') as { getAbsoluteFSPath(): string }
  ).getAbsoluteFSPath();
  let document = '';
  const own = [
    route({
      method: 'GET',
      path: '/openapi.json',
      summary: 'This document',
      auth: 'public',
      responses: { 200: { description: 'OpenAPI 3.1', type: 'application/json' } },
      handle: (ctx) => {
        ctx.type = 'application/json';
        ctx.body = document;
      },
    }),
    route({
      method: 'GET',
      path: '/docs',
      summary: 'Interactive documentation',
      auth: 'public',
      responses: { 200: { description: 'HTML', type: 'text/html' } },
      handle: (ctx) => {
        ctx.type = 'text/html';
        ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Streaming analytics API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script>
</body></html>`;
      },
    }),
    route({
      method: 'GET',
      path: '/docs/assets/{file}',
      summary: 'Static assets of the interactive documentation',
      auth: 'public',
      params: { file: { schema: z.string(), notFound: 'asset' } },
      responses: { 200: { description: 'CSS or JavaScript' }, 404: 'Unknown asset' },
      handle: (ctx, { params }) => {
        const type = ASSETS.get(params.file);
        if (type === undefined) throw new NotFoundError('no such asset');
        ctx.type = type;
        ctx.set('Cache-Control', 'public, max-age=86400');
        ctx.body = readFileSync(join(assetDir, params.file));
      },
    }),
  ];
  document = JSON.stringify(buildOpenApi([...routes, ...own]));
  return own;
}
