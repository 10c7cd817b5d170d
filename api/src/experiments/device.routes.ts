import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { DEVICE_TOKEN } from '../../../lib/contracts/experiment.js';
import { ValidationError } from '../../../lib/errors.js';
import type { Metrics } from '../../../lib/metrics/registry.js';
import { optionalPrincipal } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import type { AssignmentService } from './assignment-service.js';
import { exposureMessages, type ExposureEmitter } from './exposures.js';

export interface DeviceRoutesDeps {
  verify: TokenVerifier;
  assignments: AssignmentService;
  exposures: ExposureEmitter;
  metrics: Metrics;
  now?: () => number;
}

export function deviceToken(header: string): string {
  if (header === '') {
    throw new ValidationError('Device-Token header is required', {
      details: [
        { path: 'Device-Token', code: 'required', message: 'send the id the app generated for this install' },
      ],
    });
  }
  if (!DEVICE_TOKEN.test(header)) {
    throw new ValidationError('Device-Token header is malformed', {
      details: [
        {
          path: 'Device-Token',
          code: 'invalid_format',
          message: 'must be 8–128 characters of A–Z a–z 0–9 . _ ~ -',
        },
      ],
    });
  }
  return header;
}

/**
 * GET /api/v1/experiments — the device's experiments as the spec shapes them:
 * `[{"button_color": "#FF0000"}, {"price": 10}]`. A viewer token is optional; when sent it
 * must be valid, the exposures then record the viewer, and the device may enter
 * experiments that target the viewer's segments.
 */
export function deviceExperimentRoutes(deps: DeviceRoutesDeps): Router {
  const now = deps.now ?? Date.now;
  const router = createRouter();
  router.get('/api/v1/experiments', async (ctx) => {
    const device = deviceToken(ctx.get('Device-Token'));
    const viewer = await optionalPrincipal(ctx, deps.verify);
    const assignments = await deps.assignments.assign(device, viewer?.subject ?? null);
    for (const a of assignments) {
      if (a.isNew) deps.metrics.experimentAssignments.inc({ experiment: a.experiment.key });
    }
    deps.exposures.emit(exposureMessages(assignments, device, viewer?.subject ?? null, now()));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = assignments.map((a) => ({ [a.experiment.key]: a.value }));
  });
  return router;
}
