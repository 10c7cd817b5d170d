import type { Config } from '../../../lib/config/config.js';
import { uuidParam } from '../../../lib/contracts/stream-fields.js';
import { principalOf, requireAuth } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { route, type Route } from '../http/route.js';
import { EventStatusBody, type EventStatusService } from './event-status.js';

export interface StatusRoutesDeps {
  verify: TokenVerifier;
  admin: Pick<Config['admin'], 'role'>;
  statuses: EventStatusService;
}

/** "Where is my event?": any viewer for their own events, an admin for anyone's. */
export function statusRoutes(deps: StatusRoutesDeps): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/events/{event_id}/status',
      summary: 'Where an event is: stored, dead-lettered, accepted (in Kafka, not stored yet) or unknown',
      description:
        "Works for progress events and user actions alike, with the `event_id` the 202 answered (the client's, or the one derived from the content). A viewer finds only their own events (another viewer's id answers `unknown`); a token with the admin role finds anyone's.",
      auth: requireAuth(deps.verify),
      params: { event_id: { schema: uuidParam(), notFound: 'event' } },
      responses: {
        200: { description: 'Where the event is', schema: EventStatusBody },
        503: 'ClickHouse or Kafka unavailable; retry after `Retry-After` seconds',
      },
      handle: async (ctx, { params }) => {
        const principal = principalOf(ctx.state);
        const admin = principal.roles.includes(deps.admin.role);
        ctx.body = await deps.statuses.status(
          params.event_id.toLowerCase(),
          admin ? undefined : principal.subject,
        );
      },
    }),
  ];
}
