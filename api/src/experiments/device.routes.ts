import { DEVICE_TOKEN, DeviceExperiments, DeviceToken } from '../../../lib/contracts/experiment.js';
import { ValidationError } from '../../../lib/errors.js';
import type { Metrics } from '../../../lib/metrics/registry.js';
import { optionalPrincipal } from '../auth/auth.middleware.js';
import type { TokenVerifier } from '../auth/jwt-verifier.js';
import { route, type Route } from '../http/route.js';
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
export function deviceExperimentRoutes(deps: DeviceRoutesDeps): Route[] {
  const now = deps.now ?? Date.now;
  return [
    route({
      method: 'GET',
      path: '/api/v1/experiments',
      summary: 'The device\'s experiments and values: [{"<experiment>": <value>}, ...]',
      description:
        'Sticky: a device keeps its value forever. Only experiments created before the device was first seen apply. ' +
        'An optional viewer token (bearer) is recorded on the exposure events; a segment-targeted ' +
        "experiment is served only when it is sent and its user is active in the experiment's segments.",
      auth: 'public',
      headers: { 'Device-Token': DeviceToken },
      responses: {
        200: { description: 'One single-key object per experiment', schema: DeviceExperiments },
        400: 'Device-Token missing or malformed',
        401: 'A bearer token was sent and is invalid',
        429: 'Too many device requests from this client (at the edge); retry after `Retry-After` seconds',
        503: 'PostgreSQL unavailable or too many devices waiting for it; retry after `Retry-After` seconds',
      },
      handle: async (ctx) => {
        const device = deviceToken(ctx.get('Device-Token'));
        const viewer = await optionalPrincipal(ctx, deps.verify);
        const assignments = await deps.assignments.assign(device, viewer?.subject ?? null);
        for (const a of assignments) {
          if (a.isNew) deps.metrics.experimentAssignments.inc({ experiment: a.experiment.key });
        }
        deps.exposures.emit(exposureMessages(assignments, device, viewer?.subject ?? null, now()));
        ctx.set('Cache-Control', 'no-store');
        ctx.body = assignments.map((a) => ({ [a.experiment.key]: a.value }));
      },
    }),
  ];
}
