import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { NotFoundError } from '../../../lib/errors.js';
import { createProgressSchemas, FilmIdParam, toProgressMessage } from '../../../lib/contracts/progress.js';
import { parseOrThrow } from '../../../lib/contracts/validation.js';
import { requireAuth, principalOf } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import type { EventPublisher } from '../ingest/kafka-publisher.js';
import { keyedByViewer } from '../ingest/keyed.js';
import { readJsonBody } from '../http/json-body.js';
import type { ProgressReader } from './progress-reader.js';

export interface ProgressRoutesDeps {
  verify: TokenVerifier;
  publisher: EventPublisher;
  reader: ProgressReader;
  topic: string;
  bodyLimitBytes: number;
  batchMaxEvents: number;
  eventMaxPastMs: number;
  eventMaxFutureMs: number;
  now?: () => number;
}

export function progressRoutes(deps: ProgressRoutesDeps): Router {
  const now = deps.now ?? Date.now;
  const schemas = createProgressSchemas(
    { maxPastMs: deps.eventMaxPastMs, maxFutureMs: deps.eventMaxFutureMs },
    deps.batchMaxEvents,
    now,
  );
  const router = createRouter('/api/v1/progress');
  const auth = requireAuth(deps.verify);
  // The batch routes also take a beacon: text/plain, the token in the body.
  const beacon = requireAuth(deps.verify, { bodyToken: { limitBytes: deps.bodyLimitBytes } });

  router.post('/films/:film_id', auth, async (ctx) => {
    const filmId = parseOrThrow(FilmIdParam, ctx.params.film_id, 'film_id');
    const body = parseOrThrow(schemas.single, await readJsonBody(ctx, deps.bodyLimitBytes), 'request body');
    const viewer = principalOf(ctx.state).subject;
    const message = toProgressMessage({ ...body, film_id: filmId.toLowerCase() }, viewer, now());
    await deps.publisher.publish(deps.topic, [keyedByViewer(message)]);
    ctx.status = 202;
    ctx.body = { event_id: message.event_id };
  });

  router.post('/batch', beacon, async (ctx) => {
    const body = parseOrThrow(
      schemas.batch,
      await readJsonBody(ctx, deps.bodyLimitBytes, { textPlain: true }),
      'request body',
    );
    const viewer = principalOf(ctx.state).subject;
    const receivedAt = now();
    const messages = body.events.map((item) =>
      toProgressMessage({ ...item, film_id: item.film_id.toLowerCase() }, viewer, receivedAt),
    );
    await deps.publisher.publish(deps.topic, messages.map(keyedByViewer));
    ctx.status = 202;
    ctx.body = { accepted: messages.length, event_ids: messages.map((m) => m.event_id) };
  });

  router.get('/films/:film_id', auth, async (ctx) => {
    const filmId = parseOrThrow(FilmIdParam, ctx.params.film_id, 'film_id').toLowerCase();
    const latest = await deps.reader.latest(principalOf(ctx.state).subject, filmId);
    if (latest === null) throw new NotFoundError('no progress recorded for this film');
    ctx.body = latest;
  });

  return router;
}
