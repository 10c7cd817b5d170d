import { pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Config } from '../../../lib/config/config.js';
import {
  createHistoryPeriodSchema,
  HistoryDownloadQuery,
  HistoryLink,
} from '../../../lib/contracts/segment.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { requireRole } from '../auth/require-role.js';
import { route, type Route } from '../http/route.js';
import type { SegmentHistoryExport } from './history-export.js';
import type { HistoryLinks } from './history-links.js';

export interface HistoryRoutesDeps {
  verify: TokenVerifier;
  admin: Pick<Config['admin'], 'role'>;
  links: HistoryLinks;
  exporter: SegmentHistoryExport;
  /** publicBaseUrl: origin of handed-out links (PUBLIC_BASE_URL); undefined: a root-relative link. */
  reports: Pick<Config['reports'], 'publicBaseUrl'>;
  now?: () => number;
}

export const HISTORY_DOWNLOAD_PATH = '/api/v1/segments/history/download';

/**
 * The segment history report: an admin asks for a month and gets a link; the link (no
 * token: it is signed and expires) streams the CSV.
 */
export function historyRoutes(deps: HistoryRoutesDeps): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/segments/history',
      summary:
        'A link to the segment history of one month as CSV (admin). The link needs no token, expires after REPORT_LINK_TTL_SECONDS, and streams `user;segment;operation;timestamp`',
      auth: requireRole(deps.verify, { role: deps.admin.role }),
      query: { period: createHistoryPeriodSchema(deps.now) },
      responses: {
        200: { description: 'The download link', schema: HistoryLink },
        400: 'Not a month (YYYY-MM), or a future one',
      },
      handle: (ctx, { query }) => {
        const link = deps.links.sign(query.period);
        // The origin comes from config only. Host and X-Forwarded-Host are whatever the client
        // sent: a link built from them could point a signed, working credential at any host.
        // Without PUBLIC_BASE_URL the link is root-relative (resolved against wherever it was
        // asked for, as a browser does).
        const origin = (deps.reports.publicBaseUrl ?? '').replace(/\/$/, '');
        ctx.set('Cache-Control', 'no-store');
        ctx.body = {
          url: `${origin}${HISTORY_DOWNLOAD_PATH}?${link.query}`,
          expires_at: link.expiresAt.toISOString(),
        };
      },
    }),
    route({
      method: 'GET',
      path: HISTORY_DOWNLOAD_PATH,
      summary:
        'Download the report (signed link from /api/v1/segments/history; gzip when accepted). Every add and removal of the month up to now, ordered by time, `;`-separated with a header line',
      auth: 'public',
      query: HistoryDownloadQuery,
      responses: {
        200: { description: 'CSV, streamed', type: 'text/csv' },
        400: 'Link parameters missing or malformed',
        403: 'Link altered or signed with another key (`invalid_signature`)',
        410: 'Link expired (`link_expired`)',
        503: 'PostgreSQL unavailable, or REPORT_MAX_CONCURRENT downloads already streaming (`busy`)',
      },
      handle: async (ctx, { query: q }) => {
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
      },
    }),
  ];
}
