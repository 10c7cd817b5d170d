import Router from '@koa/router';
import { requireRole } from '../auth/require-role.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { statsCsv } from './stats-csv.js';
import { statsPage } from './stats-page.js';
import type { StatsService } from './stats-service.js';

export interface StatsRoutesDeps {
  verify: TokenVerifier;
  adminRole: string;
  adminCookie: string;
  stats: StatsService;
}

/**
 * Experiment stats for product managers: HTML page, JSON and CSV of the same report.
 * Admin role required; the token may come from the bearer header or, for the page in a
 * browser, from the admin cookie.
 */
export function statsRoutes(deps: StatsRoutesDeps): Router {
  const router = new Router();
  const auth = requireRole(deps.verify, { role: deps.adminRole, cookie: deps.adminCookie });

  router.get('/api/v1/experiments/stats', auth, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.stats.report();
  });

  router.get('/api/v1/experiments/stats.csv', auth, async (ctx) => {
    const csv = statsCsv(await deps.stats.report());
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Disposition', 'attachment; filename="experiment-stats.csv"');
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = csv;
  });

  router.get('/pages/experiment-stats', auth, async (ctx) => {
    const html = statsPage(await deps.stats.report());
    ctx.set('Cache-Control', 'no-store');
    // Nothing on the page runs scripts or loads anything from elsewhere.
    ctx.set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    );
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = html;
  });

  return router;
}
