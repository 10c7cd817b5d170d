import { z } from 'zod';
import type { Config } from '../../../lib/config/config.js';
import { uuidParam } from '../../../lib/contracts/stream-fields.js';
import { NotFoundError } from '../../../lib/errors.js';
import { principalOf } from '../auth/auth.middleware.js';
import { requireRole } from '../auth/require-role.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { POSTGRES_UNAVAILABLE, route, type Route } from '../http/route.js';
import { ErasureJob, type ErasureStore } from './erasure-store.js';

const BASE = '/api/v1/admin/erasures';
export const ErasureRequest = z.strictObject({ viewer_id: uuidParam() });

export interface ErasureRoutesDeps {
  verify: TokenVerifier;
  admin: Pick<Config['admin'], 'role'>;
  store: ErasureStore;
  /** Learns the erased viewer at once, so this process refuses their events from now on. */
  erased?: { add(viewerId: string): void };
  /** Tells the local runner a job waits (undefined: this process runs none). */
  poke?: () => void;
}

/** Erasure of a viewer (admin): ask for it, follow it. */
export function erasureRoutes(deps: ErasureRoutesDeps): Route[] {
  const auth = requireRole(deps.verify, { role: deps.admin.role });
  return [
    route({
      method: 'POST',
      path: BASE,
      summary: "Erase a viewer's data everywhere (admin)",
      description:
        "Removes the viewer's rows from every ClickHouse table with viewer data and from PostgreSQL (the segment history keeps its rows, anonymised), and suppresses the viewer: the ETL drops their events still in Kafka, replayed from the dead-letter topic or sent later. Asynchronous and idempotent: asking again answers the same job. architecture/guarantees.md says what it guarantees and where it ends.",
      auth,
      body: { schema: ErasureRequest },
      responses: {
        202: { description: 'The job (new, or the one already asked for)', schema: ErasureJob },
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx, { body }) => {
        const viewer = body.viewer_id.toLowerCase();
        const { job } = await deps.store.request(viewer, principalOf(ctx.state).subject);
        deps.erased?.add(viewer);
        deps.poke?.();
        ctx.status = 202;
        ctx.set('Location', `${BASE}/${job.id}`);
        ctx.body = job;
      },
    }),
    route({
      method: 'GET',
      path: `${BASE}/{erasure_id}`,
      summary: 'An erasure job: its state and, per store and table, the rows removed (admin)',
      auth,
      params: { erasure_id: { schema: uuidParam(), notFound: 'erasure' } },
      responses: { 200: { description: 'The job', schema: ErasureJob }, 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx, { params }) => {
        const job = await deps.store.get(params.erasure_id);
        if (job === undefined) throw new NotFoundError(`no erasure ${params.erasure_id}`);
        ctx.body = job;
      },
    }),
  ];
}
