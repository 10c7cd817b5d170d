import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { CreateExperiment, EXPERIMENT_KEY, UpdateWeights } from '../../../lib/contracts/experiment.js';
import { parseOrThrow } from '../../../lib/contracts/validation.js';
import { NotFoundError } from '../../../lib/errors.js';
import { requireRole } from '../auth/require-role.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { readJsonBody } from '../http/json-body.js';
import type { ExperimentStore } from './experiment-store.js';
import { experimentView } from './experiment-view.js';
import type { RunningExperiments } from './running-experiments.js';

// Full paths, not a router prefix: in strict routing a prefixed '/' would mean a trailing slash.
const BASE = '/api/v1/admin/experiments';

export interface AdminRoutesDeps {
  verify: TokenVerifier;
  adminRole: string;
  store: ExperimentStore;
  running: RunningExperiments;
  bodyLimitBytes: number;
}

function keyParam(raw: string | undefined): string {
  // An invalid key cannot name an experiment: same answer as an unknown one.
  if (raw === undefined || !EXPERIMENT_KEY.test(raw)) throw new NotFoundError(`no experiment ${raw ?? ''}`);
  return raw;
}

/** Admin API (JWT with the admin role): create, list, get, reweight, stop. */
export function adminExperimentRoutes(deps: AdminRoutesDeps): Router {
  const router = createRouter();
  const admin = requireRole(deps.verify, { role: deps.adminRole });

  router.post(BASE, admin, async (ctx) => {
    const input = parseOrThrow(
      CreateExperiment,
      await readJsonBody(ctx, deps.bodyLimitBytes),
      'request body',
    );
    const created = await deps.store.create(input);
    deps.running.invalidate();
    ctx.status = 201;
    ctx.set('Location', `/api/v1/admin/experiments/${created.key}`);
    ctx.body = experimentView(created);
  });

  router.get(BASE, admin, async (ctx) => {
    ctx.body = { experiments: (await deps.store.list()).map(experimentView) };
  });

  router.get(`${BASE}/:key`, admin, async (ctx) => {
    ctx.body = experimentView(await deps.store.get(keyParam(ctx.params.key)));
  });

  router.patch(`${BASE}/:key`, admin, async (ctx) => {
    const key = keyParam(ctx.params.key);
    const input = parseOrThrow(UpdateWeights, await readJsonBody(ctx, deps.bodyLimitBytes), 'request body');
    const updated = await deps.store.updateWeights(key, input.weights);
    deps.running.invalidate();
    ctx.body = experimentView(updated);
  });

  router.post(`${BASE}/:key/stop`, admin, async (ctx) => {
    const stopped = await deps.store.stop(keyParam(ctx.params.key));
    deps.running.invalidate();
    ctx.body = experimentView(stopped);
  });

  return router;
}
