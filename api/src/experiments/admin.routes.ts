import { z } from 'zod';
import type { Config } from '../../../lib/config/config.js';
import {
  CreateExperiment,
  EXPERIMENT_KEY,
  Experiment,
  ExperimentList,
  UpdateWeights,
} from '../../../lib/contracts/experiment.js';
import { requireRole } from '../auth/require-role.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { POSTGRES_UNAVAILABLE, route, type Route } from '../http/route.js';
import type { ExperimentStore } from './experiment-store.js';
import { experimentView } from './experiment-view.js';
import type { RunningExperiments } from './running-experiments.js';

const BASE = '/api/v1/admin/experiments';

export interface AdminRoutesDeps {
  verify: TokenVerifier;
  admin: Pick<Config['admin'], 'role'>;
  store: ExperimentStore;
  running: RunningExperiments;
}

// An invalid key cannot name an experiment: same answer as an unknown one.
const params = { key: { schema: z.string().regex(EXPERIMENT_KEY), notFound: 'experiment' } };

/** Admin API (JWT with the admin role): create, list, get, reweight, stop. */
export function adminExperimentRoutes(deps: AdminRoutesDeps): Route[] {
  const auth = requireRole(deps.verify, { role: deps.admin.role });
  const one = (description: string) => ({ description, schema: Experiment });

  return [
    route({
      method: 'POST',
      path: BASE,
      summary: 'Create an experiment (admin)',
      auth,
      body: { schema: CreateExperiment },
      responses: {
        201: one('Created, running'),
        409: 'An experiment with this key exists',
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx, { body }) => {
        const created = await deps.store.create(body);
        deps.running.invalidate();
        ctx.status = 201;
        ctx.set('Location', `${BASE}/${created.key}`);
        ctx.body = experimentView(created);
      },
    }),
    route({
      method: 'GET',
      path: BASE,
      summary: 'List experiments (admin)',
      auth,
      responses: {
        200: { description: 'All experiments', schema: ExperimentList },
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx) => {
        ctx.body = { experiments: (await deps.store.list()).map(experimentView) };
      },
    }),
    route({
      method: 'GET',
      path: `${BASE}/{key}`,
      summary: 'One experiment (admin)',
      auth,
      params,
      responses: { 200: one('The experiment'), 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx, { params }) => {
        ctx.body = experimentView(await deps.store.get(params.key));
      },
    }),
    route({
      method: 'PATCH',
      path: `${BASE}/{key}`,
      summary: 'Change the weights for devices assigned from now on (admin)',
      auth,
      params,
      body: { schema: UpdateWeights },
      responses: {
        200: one('The experiment'),
        409: 'The experiment is stopped: its weights stay as they ran',
        503: POSTGRES_UNAVAILABLE,
      },
      handle: async (ctx, { params, body }) => {
        const updated = await deps.store.updateWeights(params.key, body.weights);
        deps.running.invalidate();
        ctx.body = experimentView(updated);
      },
    }),
    route({
      method: 'POST',
      path: `${BASE}/{key}/stop`,
      summary: 'Stop serving an experiment (admin); assignments and stats stay',
      auth,
      params,
      responses: { 200: one('The stopped experiment'), 503: POSTGRES_UNAVAILABLE },
      handle: async (ctx, { params }) => {
        const stopped = await deps.store.stop(params.key);
        deps.running.invalidate();
        ctx.body = experimentView(stopped);
      },
    }),
  ];
}
