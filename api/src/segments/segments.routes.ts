import { z } from 'zod';
import type { Config } from '../../../lib/config/config.js';
import {
  CreateSegment,
  createSegmentChangeSchema,
  Segment,
  SEGMENT_SLUG,
  SegmentList,
  UserSegments,
} from '../../../lib/contracts/segment.js';
import { uuidParam } from '../../../lib/contracts/stream-fields.js';
import { ForbiddenError } from '../../../lib/errors.js';
import { principalOf, requireAuth } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { requireRole } from '../auth/require-role.js';
import { POSTGRES_UNAVAILABLE, route, type Route } from '../http/route.js';
import type { SegmentStore } from './segment-store.js';
import type { UserStore } from './user-store.js';

export interface SegmentRoutesDeps {
  verify: TokenVerifier;
  admin: Pick<Config['admin'], 'role'>;
  segments: SegmentStore;
  users: UserStore;
  /** devRoutes: create and delete users over HTTP (production users come from Kafka). */
  config: Pick<Config['segments'], 'devRoutes'>;
  now?: () => number;
}

const UserId = uuidParam();
const userParams = { user_id: UserId };
// An invalid slug cannot name a segment: same answer as an unknown one.
const slugParams = { slug: { schema: z.string().regex(SEGMENT_SLUG), notFound: 'segment' } };

/**
 * Segments (admin: create, list, delete) and a user's segments (read: the user or an
 * admin; change: an admin, since a segment may grant a feature or a price).
 */
export function segmentRoutes(deps: SegmentRoutesDeps): Route[] {
  const now = deps.now ?? Date.now;
  const { role } = deps.admin;
  const admin = requireRole(deps.verify, { role });

  const routes = [
    route({
      method: 'POST',
      path: '/api/v1/segments',
      summary: 'Create a segment (admin); with `percent`, that share of users (existing and later) get it',
      auth: admin,
      body: { schema: CreateSegment },
      responses: {
        201: { description: 'Created', schema: Segment },
        409: 'A segment with this slug exists',
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx, { body }) => {
        const created = await deps.segments.create(body);
        ctx.status = 201;
        ctx.set('Location', `/api/v1/segments/${created.slug}`);
        ctx.body = created;
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/segments',
      summary: 'List segments with their active member counts (admin)',
      auth: admin,
      responses: { 200: { description: 'Segments', schema: SegmentList }, 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx) => {
        ctx.body = { segments: await deps.segments.list() };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/segments/{slug}',
      summary: 'One segment (admin)',
      auth: admin,
      params: slugParams,
      responses: { 200: { description: 'The segment', schema: Segment }, 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx, { params }) => {
        ctx.body = await deps.segments.get(params.slug);
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/v1/segments/{slug}',
      summary: 'Delete a segment (admin): every member loses it, each removal recorded',
      auth: admin,
      params: slugParams,
      responses: { 204: { description: 'Deleted' }, 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx, { params }) => {
        await deps.segments.delete(params.slug);
        ctx.status = 204;
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/users/{user_id}/segments',
      summary: `A user's active segments (the user or the ${role} role)`,
      auth: requireAuth(deps.verify),
      params: userParams,
      responses: {
        200: { description: 'Active segments', schema: UserSegments },
        403: `Neither the user nor the ${role} role`,
        404: 'No such user',
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx, { params }) => {
        const userId = params.user_id.toLowerCase();
        const principal = principalOf(ctx.state);
        if (principal.subject !== userId && !principal.roles.includes(role)) {
          throw new ForbiddenError(`only the user or the ${role} role may read these segments`);
        }
        ctx.set('Cache-Control', 'no-store');
        ctx.body = await deps.segments.forUser(userId);
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/users/{user_id}/segments',
      summary:
        "Add and remove a user's segments in one atomic change (admin); adds may carry expires_at or ttl_seconds",
      auth: admin,
      params: userParams,
      body: { schema: createSegmentChangeSchema(now) },
      responses: {
        200: { description: 'Active segments after the change', schema: UserSegments },
        404: 'No such user or segment',
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx, { params, body }) => {
        ctx.body = await deps.segments.change(params.user_id.toLowerCase(), body, now);
      },
    }),
  ];
  if (!deps.config.devRoutes) return routes;
  return [
    ...routes,
    route({
      method: 'POST',
      path: '/api/v1/dev/users',
      summary: 'Dev only (DEV_ROUTES): create a user (production users come from the users topic)',
      auth: admin,
      // JSON null stands for an empty object.
      body: { schema: z.strictObject({ user_id: UserId.optional() }).nullable() },
      responses: {
        201: { description: 'Created', schema: z.strictObject({ user_id: z.uuid() }) },
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx, { body }) => {
        const userId = (body?.user_id ?? crypto.randomUUID()).toLowerCase();
        await deps.users.apply({ user_id: userId, version: now(), op: 'created' });
        ctx.status = 201;
        ctx.body = { user_id: userId };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/v1/dev/users/{user_id}',
      summary: 'Dev only (DEV_ROUTES): delete a user and its memberships',
      auth: admin,
      params: userParams,
      responses: { 204: { description: 'Deleted' }, 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx, { params }) => {
        await deps.users.apply({ user_id: params.user_id.toLowerCase(), version: now(), op: 'deleted' });
        ctx.status = 204;
      },
    }),
  ];
}
