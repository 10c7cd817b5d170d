import type { Context } from 'koa';
import { z } from 'zod';
import type { Config } from '../../../lib/config/config.js';
import { StatsReport } from '../../../lib/contracts/experiment.js';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../../../lib/errors.js';
import { requireRole } from '../auth/require-role.js';
import { bearerToken } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { readBodyText, requireOneUtf8ContentType } from '../http/json-body.js';
import { POSTGRES_UNAVAILABLE, route, type Route } from '../http/route.js';
import { sessionCookie, type StatsSessions } from './stats-session.js';
import { signInPage } from './stats-sign-in.js';
import { statsCsv } from './stats-csv.js';
import { statsPage } from './stats-page.js';
import type { StatsService } from './stats-service.js';

export interface StatsRoutesDeps {
  verify: TokenVerifier;
  admin: Pick<Config['admin'], 'role' | 'cookie'>;
  sessions: StatsSessions;
  stats: StatsService;
}

const PAGE = '/pages/experiment-stats';
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/** The admin token a sign-in carries: the form's `token` field, or a bearer header. */
async function signInToken(ctx: Context): Promise<string> {
  const bearer = bearerToken(ctx);
  if (bearer !== undefined) return bearer;
  requireOneUtf8ContentType(ctx);
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new ValidationError('send the form (application/x-www-form-urlencoded) with a token field', {
      status: 415,
      code: 'unsupported_media_type',
    });
  }
  const fields = new URLSearchParams(await readBodyText(ctx, 16384));
  // One token field: with two, which one signs in would be a guess.
  if (fields.getAll('token').length > 1) throw new ValidationError('send one token field');
  const token = fields.get('token')?.trim();
  if (token === undefined || token === '') throw new UnauthorizedError('missing token', 'invalid_request');
  return token;
}

/**
 * Experiment stats for product managers: HTML page, JSON and CSV of the same report.
 * Admin role required: a bearer token, or in a browser the session cookie that signing in
 * on the login form sets (read-only: it opens these three views and nothing else).
 */
export function statsRoutes(deps: StatsRoutesDeps): Route[] {
  const { role, cookie } = deps.admin;
  const auth = requireRole(deps.verify, {
    role,
    session: { cookie, verify: (value) => deps.sessions.verify(value) },
  });
  const html = { 200: { description: 'HTML', type: 'text/html' } };

  return [
    route({
      method: 'GET',
      path: `${PAGE}/login`,
      summary: 'The sign-in form of the stats page (no JavaScript): paste an admin token once',
      auth: 'public',
      responses: html,
      handle: (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        ctx.set('Content-Security-Policy', PAGE_CSP);
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = signInPage();
      },
    }),
    // Exchanges an admin token for the page's session cookie, then shows the page.
    route({
      method: 'POST',
      path: `${PAGE}/session`,
      summary:
        'Exchanges an admin token (form field `token`, or a bearer header) for the stats session cookie (HttpOnly, Secure, SameSite=Strict; opens the stats views only), then redirects to the page',
      auth: 'public',
      form: z.object({ token: z.string() }),
      responses: {
        303: { description: 'Signed in: Set-Cookie, and Location of the page' },
        400: 'Two token fields, or two Content-Type headers',
        401: 'Missing or invalid token (`WWW-Authenticate` says which)',
        403: 'Not an admin, or a sign-in posted from another origin',
        413: 'Form larger than the limit',
        415: 'Not a form, or a charset other than UTF-8',
      },
      handle: async (ctx) => {
        const origin = ctx.get('Origin');
        if (origin !== '' && origin !== 'null' && new URL(origin).host !== ctx.host) {
          throw new ForbiddenError('sign in from the stats page itself', { code: 'cross_origin' });
        }
        const principal = await deps.verify(await signInToken(ctx));
        if (!principal.roles.includes(role)) throw new ForbiddenError(`requires the ${role} role`);
        const session = deps.sessions.issue(principal.subject, principal.expiresAtSec);
        ctx.append('Set-Cookie', sessionCookie(cookie, session.value, session.maxAgeSec));
        ctx.set('Cache-Control', 'no-store');
        ctx.status = 303;
        ctx.redirect(PAGE);
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/experiments/stats',
      summary: 'Per experiment: devices per option, SRM test, watch completion with 95% CI (admin)',
      auth,
      responses: { 200: { description: 'Stats report', schema: StatsReport }, 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = await deps.stats.report();
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/experiments/stats.csv',
      summary: 'The stats report as CSV, one row per option (admin)',
      auth,
      responses: { 200: { description: 'CSV', type: 'text/csv' }, 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx) => {
        const csv = statsCsv(await deps.stats.report());
        ctx.set('Cache-Control', 'no-store');
        ctx.set('Content-Disposition', 'attachment; filename="experiment-stats.csv"');
        ctx.type = 'text/csv; charset=utf-8';
        ctx.body = csv;
      },
    }),
    route({
      method: 'GET',
      path: PAGE,
      summary:
        'The stats report as an HTML page (admin: a bearer token, or the session cookie that signing in sets)',
      auth,
      responses: { ...html, 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx) => {
        const page = statsPage(await deps.stats.report());
        ctx.set('Cache-Control', 'no-store');
        // Nothing on the page runs scripts or loads anything from elsewhere.
        ctx.set('Content-Security-Policy', PAGE_CSP);
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = page;
      },
    }),
  ];
}
