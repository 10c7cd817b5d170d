import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { z } from 'zod';
import { CreateSegment, createSegmentChangeSchema, SEGMENT_SLUG } from '../../../lib/contracts/segment.js';
import { parseOrThrow } from '../../../lib/contracts/validation.js';
import { ForbiddenError, NotFoundError } from '../../../lib/errors.js';
import { principalOf, requireAuth } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { requireRole } from '../auth/require-role.js';
import { readJsonBody } from '../http/json-body.js';
import type { SegmentStore } from './segment-store.js';
import type { UserStore } from './user-store.js';

export interface SegmentRoutesDeps {
  verify: TokenVerifier;
  adminRole: string;
  segments: SegmentStore;
  users: UserStore;
  bodyLimitBytes: number;
  /** Dev-only: create and delete users over HTTP (production users come from Kafka). */
  devRoutes: boolean;
  now?: () => number;
}

const UserId = z.uuid({ message: 'must be a UUID' });

function slugParam(raw: string | undefined): string {
  // An invalid slug cannot name a segment: same answer as an unknown one.
  if (raw === undefined || !SEGMENT_SLUG.test(raw)) throw new NotFoundError(`no segment ${raw ?? ''}`);
  return raw;
}

/**
 * Segments (admin: create, list, delete) and a user's segments (read: the user or an
 * admin; change: an admin, since a segment may grant a feature or a price).
 */
export function segmentRoutes(deps: SegmentRoutesDeps): Router {
  const now = deps.now ?? Date.now;
  const change = createSegmentChangeSchema(now);
  const admin = requireRole(deps.verify, { role: deps.adminRole });
  const router = createRouter('/api/v1');

  router.post('/segments', admin, async (ctx) => {
    const input = parseOrThrow(CreateSegment, await readJsonBody(ctx, deps.bodyLimitBytes), 'request body');
    const created = await deps.segments.create(input);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/segments/${created.slug}`);
    ctx.body = created;
  });

  router.get('/segments', admin, async (ctx) => {
    ctx.body = { segments: await deps.segments.list() };
  });

  router.get('/segments/:slug', admin, async (ctx) => {
    ctx.body = await deps.segments.get(slugParam(ctx.params.slug));
  });

  router.delete('/segments/:slug', admin, async (ctx) => {
    await deps.segments.delete(slugParam(ctx.params.slug));
    ctx.status = 204;
  });

  router.get('/users/:user_id/segments', requireAuth(deps.verify), async (ctx) => {
    const userId = parseOrThrow(UserId, ctx.params.user_id, 'user_id').toLowerCase();
    const principal = principalOf(ctx.state);
    if (principal.subject !== userId && !principal.roles.includes(deps.adminRole)) {
      throw new ForbiddenError(`only the user or the ${deps.adminRole} role may read these segments`);
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.segments.forUser(userId);
  });

  router.post('/users/:user_id/segments', admin, async (ctx) => {
    const userId = parseOrThrow(UserId, ctx.params.user_id, 'user_id').toLowerCase();
    const body = parseOrThrow(change, await readJsonBody(ctx, deps.bodyLimitBytes), 'request body');
    ctx.body = await deps.segments.change(userId, body, now);
  });

  if (deps.devRoutes) {
    router.post('/dev/users', admin, async (ctx) => {
      const body = parseOrThrow(
        z.strictObject({ user_id: UserId.optional() }),
        (await readJsonBody(ctx, deps.bodyLimitBytes)) ?? {},
        'request body',
      );
      const userId = (body.user_id ?? crypto.randomUUID()).toLowerCase();
      await deps.users.apply({ user_id: userId, version: now(), op: 'created' });
      ctx.status = 201;
      ctx.body = { user_id: userId };
    });
    router.delete('/dev/users/:user_id', admin, async (ctx) => {
      const userId = parseOrThrow(UserId, ctx.params.user_id, 'user_id').toLowerCase();
      await deps.users.apply({ user_id: userId, version: now(), op: 'deleted' });
      ctx.status = 204;
    });
  }

  return router;
}
