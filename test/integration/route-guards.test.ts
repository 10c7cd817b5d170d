import { expect } from 'chai';
import { routeTable, type RouteEntry } from '../../api/src/http/routes-of.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID } from '../helpers/ids.js';
import { topicMessageCount } from '../helpers/kafka-helpers.js';
import { pathVariants } from '../helpers/path-variants.js';
import { tableDigests } from '../helpers/table-digests.js';
import { rawRequest } from '../helpers/raw-request.js';

/** Routes anyone may call: what protects each is said here, and nowhere else is a route public. */
const PUBLIC: Record<string, string> = {
  'GET /healthz': 'liveness probe',
  'GET /readyz': 'readiness probe',
  'GET /metrics': 'answers private networks only (METRICS_ALLOWED_CIDRS); nginx never forwards it',
  'GET /openapi.json': 'the API description',
  'GET /docs': 'interactive docs',
  'GET /docs/assets/{file}': 'assets of the docs',
  'GET /api/v1/experiments': 'the device endpoint (Device-Token; a viewer token is optional)',
  'GET /api/v1/segments/history/download': 'the link itself is signed and expires',
  'GET /pages/experiment-stats/login': 'the sign-in form of the stats page',
  'POST /pages/experiment-stats/session': 'checks the admin token it is sent',
};

/** Values for path parameters that name something real, so a reached handler would act. */
const PARAMS: Record<string, string> = {
  film_id: randomUUID(),
  key: 'price',
  slug: 'premium_trial',
  user_id: randomUUID(),
  file: 'swagger-ui.css',
  event_id: randomUUID(),
  erasure_id: randomUUID(),
};

/** Bodies a reached handler would accept and write (none for GET and DELETE). */
function bodyFor(route: RouteEntry): unknown {
  if (route.path.startsWith('/api/v1/progress/batch'))
    return { events: [{ film_id: randomUUID(), position_sec: 1, duration_sec: 2 }] };
  if (route.path.startsWith('/api/v1/progress')) return { position_sec: 1, duration_sec: 2 };
  if (route.path === '/api/v1/events/batch') return { events: [{ event_type: 'search' }] };
  if (route.path === '/api/v1/events') return { event_type: 'search' };
  if (route.path === '/api/v1/admin/erasures') return { viewer_id: randomUUID() };
  if (route.path === '/api/v1/admin/experiments') return { key: 'pwned', options: [{ value: 1, weight: 1 }] };
  if (route.method === 'PATCH') return { weights: [1, 0, 0, 0] };
  if (route.path === '/api/v1/segments') return { slug: 'pwned', name: 'pwned' };
  if (route.path.endsWith('/segments')) return { add: ['premium_trial'] };
  return {};
}

const TABLES = [
  'experiments',
  'experiment_options',
  'devices',
  'assignments',
  'users',
  'segments',
  'segment_history',
  'user_segments',
  'segment_optouts',
  'progress_resume',
  'erasures',
  'erasure_audit',
];

describe('auth cannot be routed around by the shape of a path', function () {
  this.timeout(300_000);
  let h: Harness;
  let routes: RouteEntry[];
  let viewer: string;

  /** What a reached handler could have written: every topic's size and every table's content. */
  async function snapshot(): Promise<Record<string, string | number>> {
    const out: Record<string, string | number> = {};
    const c = h.config.topics;
    for (const topic of [c.progress, c.events, c.exposures, c.users]) {
      out[topic] = await topicMessageCount(h.config.kafka.brokers, topic);
    }
    Object.assign(out, await tableDigests(h.pool, TABLES));
    return out;
  }

  before(async () => {
    h = await startHarness({ env: { DEV_ROUTES: 'true' } });
    routes = routeTable(h.api.app);
    viewer = await h.token();
  });
  after(async () => {
    await h.stop();
  });

  it('has a guard on every route that is not listed as public', () => {
    const unguarded = routes.filter((r) => r.guard === undefined).map((r) => `${r.method} ${r.path}`);
    expect(unguarded.sort()).to.deep.equal(Object.keys(PUBLIC).sort());
    expect(routes.filter((r) => r.guard !== undefined).length).to.be.greaterThan(15);
  });

  it('answers 401, 403 or 404 to every variant of every protected path, reaches no handler and writes nothing', async () => {
    const before = await snapshot();
    const failures: string[] = [];
    let tried = 0;
    // Every route not listed as public, whatever guard the table shows (or fails to show).
    for (const route of routes.filter((r) => PUBLIC[`${r.method} ${r.path}`] === undefined)) {
      const literal = (segment: string) => !/^\{\w+\}$/.test(segment);
      const variantsOf = pathVariants(route.path, literal);
      const path = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => PARAMS[name]!);
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : bodyFor(route);
      // The path as declared reaches the guard: 401 without a token, 403 for a viewer on a role route.
      const plain = await rawRequest(h.url, { method: route.method, path, body });
      if (plain.status !== 401) failures.push(`${route.method} ${path} without a token: ${plain.status}`);
      if (route.guard !== 'viewer') {
        const wrongRole = await rawRequest(h.url, { method: route.method, path, token: viewer, body });
        if (wrongRole.status !== 403)
          failures.push(`${route.method} ${path} as a viewer: ${wrongRole.status}`);
      }
      for (const variant of variantsOf) {
        const filled = variant.replace(/\{(\w+)\}/g, (_m, name: string) => PARAMS[name]!);
        for (const token of route.guard === 'viewer' ? [undefined] : [undefined, viewer]) {
          tried += 1;
          const res = await rawRequest(h.url, { method: route.method, path: filled, token, body });
          const ok = [401, 403, 404].includes(res.status);
          let shaped = false;
          try {
            shaped = typeof (JSON.parse(res.body) as { error?: { code?: unknown } }).error?.code === 'string';
          } catch {
            // not JSON: reported below
          }
          if (!ok || !shaped) {
            failures.push(
              `${route.method} ${filled} ${token === undefined ? 'without a token' : 'as a viewer'}: ${res.status} ${res.body.slice(0, 80)}`,
            );
          }
        }
      }
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect(tried).to.be.greaterThan(300);
    expect(await snapshot()).to.deep.equal(before);
  });
});
