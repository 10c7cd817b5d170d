import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { createUserEventSchemas, toUserEventMessage } from '../../../lib/contracts/user-event.js';
import type { PropertiesLimits } from '../../../lib/contracts/properties.js';
import { parseOrThrow } from '../../../lib/contracts/validation.js';
import { principalOf, requireAuth } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { readJsonBody } from '../http/json-body.js';
import type { EventPublisher } from '../ingest/kafka-publisher.js';
import { keyedByViewer } from '../ingest/keyed.js';

// Full paths, not a router prefix: in strict routing a prefixed '/' would mean a trailing slash.
const BASE = '/api/v1/events';

export interface EventsRoutesDeps {
  verify: TokenVerifier;
  publisher: EventPublisher;
  topic: string;
  bodyLimitBytes: number;
  batchMaxEvents: number;
  eventMaxPastMs: number;
  eventMaxFutureMs: number;
  properties: PropertiesLimits;
  now?: () => number;
}

/**
 * User actions. A duplicate (same event_id, or same content without one) is answered
 * exactly like a first send — 202 with the same event_id — and stored once by the ETL.
 */
export function eventsRoutes(deps: EventsRoutesDeps): Router {
  const now = deps.now ?? Date.now;
  const schemas = createUserEventSchemas(
    { maxPastMs: deps.eventMaxPastMs, maxFutureMs: deps.eventMaxFutureMs },
    deps.properties,
    deps.batchMaxEvents,
    now,
  );
  const router = createRouter();
  const auth = requireAuth(deps.verify);
  // The batch routes also take a beacon: text/plain, the token in the body.
  const beacon = requireAuth(deps.verify, { bodyToken: { limitBytes: deps.bodyLimitBytes } });

  router.post(BASE, auth, async (ctx) => {
    const item = parseOrThrow(schemas.item, await readJsonBody(ctx, deps.bodyLimitBytes), 'request body');
    const message = toUserEventMessage(item, principalOf(ctx.state).subject, now());
    await deps.publisher.publish(deps.topic, [keyedByViewer(message)]);
    ctx.status = 202;
    ctx.body = { event_id: message.event_id };
  });

  router.post(`${BASE}/batch`, beacon, async (ctx) => {
    const body = parseOrThrow(
      schemas.batch,
      await readJsonBody(ctx, deps.bodyLimitBytes, { textPlain: true }),
      'request body',
    );
    const viewer = principalOf(ctx.state).subject;
    const receivedAt = now();
    const messages = body.events.map((item) => toUserEventMessage(item, viewer, receivedAt));
    await deps.publisher.publish(deps.topic, messages.map(keyedByViewer));
    ctx.status = 202;
    ctx.body = { accepted: messages.length, event_ids: messages.map((m) => m.event_id) };
  });

  return router;
}
