import type { Config } from '../../../lib/config/config.js';
import { NotFoundError } from '../../../lib/errors.js';
import {
  ContinueWatchingLimit,
  createProgressSchemas,
  FilmIdParam,
  toProgressMessage,
} from '../../../lib/contracts/progress.js';
import { requireAuth, principalOf } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { POSTGRES_UNAVAILABLE, route, type Route } from '../http/route.js';
import { ContinueWatching, LatestPosition } from '../http/responses.js';
import type { EventPublisher } from '../ingest/kafka-publisher.js';
import { ACCEPTED_BATCH, ACCEPTED_ONE, acceptBatch, acceptOne, type AcceptTo } from '../ingest/accept.js';
import type { ProgressReader } from './resume-store.js';

export interface ProgressRoutesDeps {
  verify: TokenVerifier;
  publisher: EventPublisher;
  reader: ProgressReader;
  topic: string;
  /** Refuses an erased viewer's events (403). */
  erased?: AcceptTo['erased'];
  http: Pick<Config['http'], 'bodyLimitBytes'>;
  events: Pick<Config['events'], 'batchMaxEvents' | 'maxPastMs' | 'maxFutureMs'>;
  now?: () => number;
}

export function progressRoutes(deps: ProgressRoutesDeps): Route[] {
  const now = deps.now ?? Date.now;
  const schemas = createProgressSchemas(deps.events, deps.events.batchMaxEvents, now);
  const auth = requireAuth(deps.verify);
  // The batch route also takes a beacon: text/plain, the token in the body.
  const beacon = requireAuth(deps.verify, { bodyToken: { limitBytes: deps.http.bodyLimitBytes } });
  const params = { film_id: FilmIdParam };

  return [
    route({
      method: 'POST',
      path: '/api/v1/progress/films/{film_id}',
      summary: 'Record the playback position of the calling viewer',
      auth,
      params,
      body: { schema: schemas.single, fast: schemas.fast.single },
      responses: ACCEPTED_ONE,
      handle: async (ctx, { params, body }) => {
        const viewer = principalOf(ctx.state).subject;
        const message = toProgressMessage({ ...body, film_id: params.film_id.toLowerCase() }, viewer, now());
        await acceptOne(ctx, deps, message);
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/progress/batch',
      summary: `Up to ${deps.events.batchMaxEvents} progress events (offline buffer), all or nothing`,
      auth: beacon,
      body: { schema: schemas.batch, fast: schemas.fast.batch, beacon: true },
      responses: ACCEPTED_BATCH,
      handle: async (ctx, { body }) => {
        const viewer = principalOf(ctx.state).subject;
        const receivedAt = now();
        const messages = body.events.map((item) =>
          toProgressMessage({ ...item, film_id: item.film_id.toLowerCase() }, viewer, receivedAt),
        );
        await acceptBatch(ctx, deps, messages);
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/progress/films/{film_id}',
      summary: "The caller's latest position for this film (resume playback)",
      auth,
      params,
      responses: {
        200: {
          description: 'Latest position by client time; `watched` past MAX_RESUME_PCT of the duration',
          schema: LatestPosition,
        },
        404: 'No position recorded for this film',
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx, { params }) => {
        const latest = await deps.reader.latest(principalOf(ctx.state).subject, params.film_id.toLowerCase());
        if (latest === null) throw new NotFoundError('no progress recorded for this film');
        ctx.body = latest;
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/progress',
      summary: "Continue watching: the caller's films in progress, most recently watched first",
      description:
        'Films played at least MIN_RESUME_PCT and at most MAX_RESUME_PCT of their duration (past that a film counts as watched). `last_watched_at` is the client time of the newest position.',
      auth,
      query: { limit: ContinueWatchingLimit },
      responses: {
        200: { description: 'In-progress films, newest first', schema: ContinueWatching },
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx, { query }) => {
        ctx.body = { items: await deps.reader.inProgress(principalOf(ctx.state).subject, query.limit) };
      },
    }),
  ];
}
