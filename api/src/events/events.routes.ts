import type { Config } from '../../../lib/config/config.js';
import { createUserEventSchemas, toUserEventMessage } from '../../../lib/contracts/user-event.js';
import { principalOf, requireAuth } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { route, type Route } from '../http/route.js';
import type { EventPublisher } from '../ingest/kafka-publisher.js';
import { ACCEPTED_BATCH, ACCEPTED_ONE, acceptBatch, acceptOne, type AcceptTo } from '../ingest/accept.js';

export interface EventsRoutesDeps {
  verify: TokenVerifier;
  publisher: EventPublisher;
  topic: string;
  /** Refuses an erased viewer's events (403). */
  erased?: AcceptTo['erased'];
  http: Pick<Config['http'], 'bodyLimitBytes'>;
  events: Config['events'];
  now?: () => number;
}

/**
 * User actions. A duplicate (same event_id, or same content without one) is answered
 * exactly like a first send — 202 with the same event_id — and stored once by the ETL.
 */
export function eventsRoutes(deps: EventsRoutesDeps): Route[] {
  const now = deps.now ?? Date.now;
  const { events } = deps;
  const schemas = createUserEventSchemas(
    events,
    {
      maxBytes: events.propertiesMaxBytes,
      maxDepth: events.propertiesMaxDepth,
      maxKeys: events.propertiesMaxKeys,
    },
    events.batchMaxEvents,
    now,
  );
  // The batch route also takes a beacon: text/plain, the token in the body.
  const beacon = requireAuth(deps.verify, { bodyToken: { limitBytes: deps.http.bodyLimitBytes } });

  return [
    route({
      method: 'POST',
      path: '/api/v1/events',
      summary: 'Record one user action (button press, search, player control)',
      auth: requireAuth(deps.verify),
      body: { schema: schemas.item },
      responses: ACCEPTED_ONE,
      handle: async (ctx, { body }) => {
        const message = toUserEventMessage(body, principalOf(ctx.state).subject, now());
        await acceptOne(ctx, deps, message);
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/events/batch',
      summary: `Up to ${events.batchMaxEvents} user actions, all or nothing`,
      auth: beacon,
      body: { schema: schemas.batch, beacon: true },
      responses: ACCEPTED_BATCH,
      handle: async (ctx, { body }) => {
        const viewer = principalOf(ctx.state).subject;
        const receivedAt = now();
        const messages = body.events.map((item) => toUserEventMessage(item, viewer, receivedAt));
        await acceptBatch(ctx, deps, messages);
      },
    }),
  ];
}
