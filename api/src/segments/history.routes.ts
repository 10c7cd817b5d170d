import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { createHistoryPeriodSchema, HistoryDownloadQuery } from '../../../lib/contracts/segment.js';
import { parseOrThrow } from '../../../lib/contracts/validation.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { requireRole } from '../auth/require-role.js';
import type { SegmentHistoryExport } from './history-export.js';
import type { HistoryLinks } from './history-links.js';

export interface HistoryRoutesDeps {
  verify: TokenVerifier;
  adminRole: string;
  links: HistoryLinks;
  exporter: SegmentHistoryExport;
  /** Origin of handed-out links (PUBLIC_BASE_URL); undefined: a root-relative link. */
  publicBaseUrl: string | undefined;
  now?: () => number;
}

export const HISTORY_DOWNLOAD_PATH = '/api/v1/segments/history/download';

/**
 * The segment history report: an admin asks for a month and gets a link; the link (no
 * token: it is signed and expires) streams the CSV.
 */
export function historyRoutes(deps: HistoryRoutesDeps): Router {
  const period = createHistoryPeriodSchema(deps.now);
  const router = createRouter();

  router.get('/api/v1/segments/history', requireRole(deps.verify, { role: deps.adminRole }), (ctx) => {
    const month = parseOrThrow(period, ctx.query.period, 'period');
    const link = deps.links.sign(month);
    // The origin comes from config only. Host and X-Forwarded-Host are whatever the client
    // sent: a link built from them could point a signed, working credential at any host.
    // Without PUBLIC_BASE_URL the link is root-relative (resolved against wherever it was
    // asked for, as a browser does).
    const origin = (deps.publicBaseUrl ?? '').replace(/\/$/, '');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      url: `${origin}${HISTORY_DOWNLOAD_PATH}?${link.query}`,
      expires_at: link.expiresAt.toISOString(),
    };
  });

  router.get(HISTORY_DOWNLOAD_PATH, async (ctx) => {
    const q = parseOrThrow(HistoryDownloadQuery, ctx.query, 'query');
    deps.links.verify(q.period, q.expires, q.signature);
    const csv = await deps.exporter.open(q.period);
    ctx.set('Content-Type', 'text/csv; charset=utf-8');
    ctx.set('Content-Disposition', `attachment; filename="segment-history-${q.period}.csv"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.vary('Accept-Encoding');
    // Compressed here, not by koa-compress: its plain pipe would leave the response open
    // if the database failed mid-download; pipeline() tears every stage down instead.
    ctx.compress = false;
    if (ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
      ctx.set('Content-Encoding', 'gzip');
      ctx.body = pipeline(csv, createGzip({ level: 4 }), () => undefined);
    } else {
      ctx.body = csv;
    }
  });

  return router;
}
