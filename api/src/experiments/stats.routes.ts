import type Router from '@koa/router';
import type { Context } from 'koa';
import { createRouter } from '../http/router.js';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../../../lib/errors.js';
import { requireRole } from '../auth/require-role.js';
import { bearerToken } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { readBodyText } from '../http/json-body.js';
import { sessionCookie, type StatsSessions } from './stats-session.js';
import { signInPage } from './stats-sign-in.js';
import { statsCsv } from './stats-csv.js';
import { statsPage } from './stats-page.js';
import type { StatsService } from './stats-service.js';

export interface StatsRoutesDeps {
  verify: TokenVerifier;
  adminRole: string;
  adminCookie: string;
  sessions: StatsSessions;
  stats: StatsService;
}

const PAGE = '/pages/experiment-stats';
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/** The admin token a sign-in carries: the form's `token` field, or a bearer header. */
async function signInToken(ctx: Context): Promise<string> {
  const bearer = bearerToken(ctx);
  if (bearer !== undefined) return bearer;
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new ValidationError('send the form (application/x-www-form-urlencoded) with a token field', {
      status: 415,
      code: 'unsupported_media_type',
    });
  }
  const token = new URLSearchParams(await readBodyText(ctx, 16384)).get('token')?.trim();
  if (token === undefined || token === '') throw new UnauthorizedError('missing token', 'invalid_request');
  return token;
}

/**
 * Experiment stats for product managers: HTML page, JSON and CSV of the same report.
 * Admin role required: a bearer token, or in a browser the session cookie that signing in
 * on the login form sets (read-only: it opens these three views and nothing else).
 */
export function statsRoutes(deps: StatsRoutesDeps): Router {
  const router = createRouter();
  const auth = requireRole(deps.verify, {
    role: deps.adminRole,
    session: { cookie: deps.adminCookie, verify: (value) => deps.sessions.verify(value) },
  });

  router.get(`${PAGE}/login`, (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = signInPage();
  });

  // Exchanges an admin token for the page's session cookie, then shows the page.
  router.post(`${PAGE}/session`, async (ctx) => {
    const origin = ctx.get('Origin');
    if (origin !== '' && origin !== 'null' && new URL(origin).host !== ctx.host) {
      throw new ForbiddenError('sign in from the stats page itself', { code: 'cross_origin' });
    }
    const principal = await deps.verify(await signInToken(ctx));
    if (!principal.roles.includes(deps.adminRole))
      throw new ForbiddenError(`requires the ${deps.adminRole} role`);
    const session = deps.sessions.issue(principal.subject, principal.expiresAtSec);
    ctx.append('Set-Cookie', sessionCookie(deps.adminCookie, session.value, session.maxAgeSec));
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(PAGE);
  });

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

  router.get(PAGE, auth, async (ctx) => {
    const html = statsPage(await deps.stats.report());
    ctx.set('Cache-Control', 'no-store');
    // Nothing on the page runs scripts or loads anything from elsewhere.
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = html;
  });

  return router;
}
