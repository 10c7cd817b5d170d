import { z } from 'zod';
import { createProgressSchemas } from '../../../lib/contracts/progress.js';
import type { PropertiesLimits } from '../../../lib/contracts/properties.js';
import {
  AcceptedBatch,
  AcceptedOne,
  ErrorBody,
  Health,
  LatestPosition,
  Readiness,
} from '../http/responses.js';
import type { TimeLimits } from '../../../lib/contracts/time.js';
import { createUserEventSchemas } from '../../../lib/contracts/user-event.js';
import {
  CreateSegment,
  createSegmentChangeSchema,
  HistoryLink,
  Segment,
  SegmentList,
  UserSegments,
} from '../../../lib/contracts/segment.js';
import {
  CreateExperiment,
  DEVICE_TOKEN,
  DeviceExperiments,
  Experiment,
  ExperimentList,
  StatsReport,
  UpdateWeights,
} from '../../../lib/contracts/experiment.js';

export interface OpenApiOptions {
  time: TimeLimits;
  properties: PropertiesLimits;
  batchMaxEvents: number;
}

const json = (schema: z.ZodType) => ({
  'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) },
});
const error = (description: string) => ({ description, content: json(ErrorBody) });
/**
 * A batch as JSON, or as a beacon: the same JSON sent as `text/plain` (what
 * `navigator.sendBeacon` sends, no preflight) with the token in `access_token`, since a
 * beacon cannot send an Authorization header.
 */
const beaconBatch = (schema: z.ZodType) => {
  const body = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, unknown>;
  };
  const withToken = {
    ...body,
    properties: {
      access_token: { type: 'string', description: 'the bearer token, when no Authorization header is sent' },
      ...body.properties,
    },
  };
  return { 'application/json': { schema: withToken }, 'text/plain': { schema: withToken } };
};
const ENCODINGS =
  ' Bodies may be compressed (`Content-Encoding: gzip`, `deflate` or `br`); the body limit applies to the inflated size.';
const COMMON = {
  '400': error('Invalid input: every bad field in `details`'),
  '401': error('Missing or invalid token (`WWW-Authenticate` says which)'),
  '413': error('Body larger than the limit'),
  '415': error(
    'Not `application/json` (or `text/plain` where a beacon is taken), or an unknown `Content-Encoding`',
  ),
  '503': error('Kafka did not acknowledge in time; retry after `Retry-After` seconds'),
};
const experimentKey = { name: 'key', in: 'path', required: true, schema: { type: 'string' } };
const segmentSlug = { name: 'slug', in: 'path', required: true, schema: { type: 'string' } };
const userIdParam = {
  name: 'user_id',
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
};
const ADMIN = {
  '401': COMMON['401'],
  '403': error('Token lacks the admin role'),
  '503': error('PostgreSQL unavailable'),
};
const filmId = { name: 'film_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

/**
 * OpenAPI 3.1 for the whole API, generated from the zod schemas that validate the
 * requests (same factories, same limits) and describe the responses. A test checks that
 * every route the app serves is here and that real answers match it.
 */
export function buildOpenApi(opts: OpenApiOptions): Record<string, unknown> {
  const progress = createProgressSchemas(opts.time, opts.batchMaxEvents);
  const events = createUserEventSchemas(opts.time, opts.properties, opts.batchMaxEvents);
  const secured = { security: [{ bearerAuth: [] }] };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Streaming analytics API',
      version: '1.0.0',
      description:
        'Playback progress and user actions from the streaming apps. 202 means the event is durably in Kafka (acks=all); ' +
        'duplicates (same event_id, or same content without one) are answered like a first send and stored once.',
    },
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths: {
      '/api/v1/progress/films/{film_id}': {
        post: {
          summary: `Record the playback position of the calling viewer.${ENCODINGS}`,
          ...secured,
          parameters: [filmId],
          requestBody: { required: true, content: json(progress.single) },
          responses: { '202': { description: 'Durably accepted', content: json(AcceptedOne) }, ...COMMON },
        },
        get: {
          summary: "The caller's latest position for this film (resume playback)",
          ...secured,
          parameters: [filmId],
          responses: {
            '200': { description: 'Latest position by client time', content: json(LatestPosition) },
            '400': COMMON['400'],
            '401': COMMON['401'],
            '404': error('No position recorded for this film'),
            '503': error('ClickHouse unavailable'),
          },
        },
      },
      '/api/v1/progress/batch': {
        post: {
          summary: `Up to ${opts.batchMaxEvents} progress events (offline buffer), all or nothing; also as a beacon (text/plain, token in \`access_token\`).${ENCODINGS}`,
          ...secured,
          requestBody: { required: true, content: beaconBatch(progress.batch) },
          responses: {
            '202': { description: 'All durably accepted', content: json(AcceptedBatch) },
            ...COMMON,
          },
        },
      },
      '/api/v1/events': {
        post: {
          summary: `Record one user action (button press, search, player control).${ENCODINGS}`,
          ...secured,
          requestBody: { required: true, content: json(events.item) },
          responses: { '202': { description: 'Durably accepted', content: json(AcceptedOne) }, ...COMMON },
        },
      },
      '/api/v1/events/batch': {
        post: {
          summary: `Up to ${opts.batchMaxEvents} user actions, all or nothing; also as a beacon (text/plain, token in \`access_token\`).${ENCODINGS}`,
          ...secured,
          requestBody: { required: true, content: beaconBatch(events.batch) },
          responses: {
            '202': { description: 'All durably accepted', content: json(AcceptedBatch) },
            ...COMMON,
          },
        },
      },
      '/api/v1/experiments': {
        get: {
          summary: 'The device\'s experiments and values: [{"<experiment>": <value>}, ...]',
          description:
            'Sticky: a device keeps its value forever. Only experiments created before the device was first seen apply. ' +
            'An optional viewer token (bearer) is recorded on the exposure events; a segment-targeted ' +
            "experiment is served only when it is sent and its user is active in the experiment's segments.",
          parameters: [
            {
              name: 'Device-Token',
              in: 'header',
              required: true,
              schema: { type: 'string', pattern: DEVICE_TOKEN.source },
            },
          ],
          responses: {
            '200': { description: 'One single-key object per experiment', content: json(DeviceExperiments) },
            '400': error('Device-Token missing or malformed'),
            '401': error('A bearer token was sent and is invalid'),
            '429': error(
              'Too many device requests from this client (at the edge); retry after `Retry-After` seconds',
            ),
            '503': error(
              'PostgreSQL unavailable or too many devices waiting for it; retry after `Retry-After` seconds',
            ),
          },
        },
      },
      '/api/v1/admin/experiments': {
        post: {
          summary: 'Create an experiment (admin)',
          ...secured,
          requestBody: { required: true, content: json(CreateExperiment) },
          responses: {
            '201': { description: 'Created, running', content: json(Experiment) },
            '400': COMMON['400'],
            '409': error('An experiment with this key exists'),
            ...ADMIN,
          },
        },
        get: {
          summary: 'List experiments (admin)',
          ...secured,
          responses: { '200': { description: 'All experiments', content: json(ExperimentList) }, ...ADMIN },
        },
      },
      '/api/v1/admin/experiments/{key}': {
        get: {
          summary: 'One experiment (admin)',
          ...secured,
          parameters: [experimentKey],
          responses: {
            '200': { description: 'The experiment', content: json(Experiment) },
            '404': error('No such experiment'),
            ...ADMIN,
          },
        },
        patch: {
          summary: 'Change the weights for devices assigned from now on (admin)',
          ...secured,
          parameters: [experimentKey],
          requestBody: { required: true, content: json(UpdateWeights) },
          responses: {
            '200': { description: 'The experiment', content: json(Experiment) },
            '400': COMMON['400'],
            '404': error('No such experiment'),
            ...ADMIN,
          },
        },
      },
      '/api/v1/admin/experiments/{key}/stop': {
        post: {
          summary: 'Stop serving an experiment (admin); assignments and stats stay',
          ...secured,
          parameters: [experimentKey],
          responses: {
            '200': { description: 'The stopped experiment', content: json(Experiment) },
            '404': error('No such experiment'),
            ...ADMIN,
          },
        },
      },
      '/api/v1/experiments/stats': {
        get: {
          summary: 'Per experiment: devices per option, SRM test, watch completion with 95% CI (admin)',
          ...secured,
          responses: { '200': { description: 'Stats report', content: json(StatsReport) }, ...ADMIN },
        },
      },
      '/api/v1/experiments/stats.csv': {
        get: {
          summary: 'The stats report as CSV, one row per option (admin)',
          ...secured,
          responses: { '200': { description: 'CSV', content: { 'text/csv': {} } }, ...ADMIN },
        },
      },
      '/pages/experiment-stats': {
        get: {
          summary:
            'The stats report as an HTML page (admin: a bearer token, or the session cookie that signing in sets)',
          ...secured,
          responses: { '200': { description: 'HTML', content: { 'text/html': {} } }, ...ADMIN },
        },
      },
      '/pages/experiment-stats/login': {
        get: {
          summary: 'The sign-in form of the stats page (no JavaScript): paste an admin token once',
          responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
      '/pages/experiment-stats/session': {
        post: {
          summary:
            'Exchanges an admin token (form field `token`, or a bearer header) for the stats session cookie (HttpOnly, Secure, SameSite=Strict; opens the stats views only), then redirects to the page',
          requestBody: {
            required: false,
            content: {
              'application/x-www-form-urlencoded': {
                schema: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] },
              },
            },
          },
          responses: {
            '303': { description: 'Signed in: Set-Cookie, and Location of the page' },
            '401': COMMON['401'],
            '403': error('Not an admin, or a sign-in posted from another origin'),
            '415': error('Not a form'),
          },
        },
      },
      '/api/v1/segments': {
        post: {
          summary:
            'Create a segment (admin); with `percent`, that share of users (existing and later) get it',
          ...secured,
          requestBody: { required: true, content: json(CreateSegment) },
          responses: {
            '201': { description: 'Created', content: json(Segment) },
            '400': COMMON['400'],
            '409': error('A segment with this slug exists'),
            ...ADMIN,
          },
        },
        get: {
          summary: 'List segments with their active member counts (admin)',
          ...secured,
          responses: { '200': { description: 'Segments', content: json(SegmentList) }, ...ADMIN },
        },
      },
      '/api/v1/segments/history': {
        get: {
          summary:
            'A link to the segment history of one month as CSV (admin). The link needs no token, expires after REPORT_LINK_TTL_SECONDS, and streams `user;segment;operation;timestamp`',
          ...secured,
          parameters: [
            {
              name: 'period',
              in: 'query',
              required: true,
              schema: { type: 'string', pattern: '^\\d{4}-\\d{2}$', example: '2026-11' },
            },
          ],
          responses: {
            '200': { description: 'The download link', content: json(HistoryLink) },
            '400': error('Not a month (YYYY-MM), or a future one'),
            ...ADMIN,
          },
        },
      },
      '/api/v1/segments/history/download': {
        get: {
          summary:
            'Download the report (signed link from /api/v1/segments/history; gzip when accepted). Every add and removal of the month up to now, ordered by time, `;`-separated with a header line',
          parameters: ['period', 'expires', 'signature'].map((name) => ({
            name,
            in: 'query',
            required: true,
            schema: { type: 'string' },
          })),
          responses: {
            '200': { description: 'CSV, streamed', content: { 'text/csv': {} } },
            '400': error('Link parameters missing'),
            '403': error('Link altered or signed with another key (`invalid_signature`)'),
            '410': error('Link expired (`link_expired`)'),
            '503': error(
              'PostgreSQL unavailable, or REPORT_MAX_CONCURRENT downloads already streaming (`busy`)',
            ),
          },
        },
      },
      '/api/v1/segments/{slug}': {
        get: {
          summary: 'One segment (admin)',
          ...secured,
          parameters: [segmentSlug],
          responses: {
            '200': { description: 'The segment', content: json(Segment) },
            '404': error('No such segment'),
            ...ADMIN,
          },
        },
        delete: {
          summary: 'Delete a segment (admin): every member loses it, each removal recorded',
          ...secured,
          parameters: [segmentSlug],
          responses: { '204': { description: 'Deleted' }, '404': error('No such segment'), ...ADMIN },
        },
      },
      '/api/v1/users/{user_id}/segments': {
        get: {
          summary: "A user's active segments (the user or an admin)",
          ...secured,
          parameters: [userIdParam],
          responses: {
            '200': { description: 'Active segments', content: json(UserSegments) },
            '400': COMMON['400'],
            '404': error('No such user'),
            ...ADMIN,
          },
        },
        post: {
          summary:
            "Add and remove a user's segments in one atomic change (admin); adds may carry expires_at or ttl_seconds",
          ...secured,
          parameters: [userIdParam],
          requestBody: { required: true, content: json(createSegmentChangeSchema()) },
          responses: {
            '200': { description: 'Active segments after the change', content: json(UserSegments) },
            '400': COMMON['400'],
            '404': error('No such user or segment'),
            ...ADMIN,
          },
        },
      },
      '/api/v1/dev/users': {
        post: {
          summary: 'Dev only (DEV_ROUTES): create a user (production users come from the users topic)',
          ...secured,
          responses: { '201': { description: 'Created' }, ...ADMIN },
        },
      },
      '/api/v1/dev/users/{user_id}': {
        delete: {
          summary: 'Dev only (DEV_ROUTES): delete a user and its memberships',
          ...secured,
          parameters: [userIdParam],
          responses: { '204': { description: 'Deleted' }, ...ADMIN },
        },
      },
      '/healthz': {
        get: {
          summary: 'Process alive',
          responses: { '200': { description: 'Alive', content: json(Health) } },
        },
      },
      '/readyz': {
        get: {
          summary: 'Kafka producer connected and ClickHouse reachable',
          responses: {
            '200': { description: 'Ready', content: json(Readiness) },
            '503': { description: 'Not ready', content: json(Readiness) },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Text exposition format', content: { 'text/plain': {} } } },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
        },
      },
      '/docs/assets/{file}': {
        get: {
          summary: 'Static assets of the interactive documentation',
          parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'CSS or JavaScript' }, '404': error('Unknown asset') },
        },
      },
      '/docs': {
        get: {
          summary: 'Interactive documentation',
          responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
    },
  };
}
