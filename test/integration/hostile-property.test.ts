import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import { adminToken } from '../helpers/experiments.js';
import { request as jsonRequest, startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID } from '../helpers/ids.js';
import { topicMessageCount } from '../helpers/kafka-helpers.js';
import { pathVariants } from '../helpers/path-variants.js';
import { rawRequest } from '../helpers/raw-request.js';
import { tableDigests } from '../helpers/table-digests.js';

const FILM = randomUUID();

/** The JSON endpoints that publish, with a valid body each generated body starts from. */
const ENDPOINTS: readonly Endpoint[] = [
  { path: `/api/v1/progress/films/${FILM}`, valid: { position_sec: 1, duration_sec: 2 } },
  {
    path: '/api/v1/progress/batch',
    valid: { events: [{ film_id: FILM, position_sec: 1, duration_sec: 2 }] },
  },
  { path: '/api/v1/events', valid: { event_type: 'search', properties: { q: 'x' } } },
  { path: '/api/v1/events/batch', valid: { events: [{ event_type: 'search' }] } },
];

/** The harness's URL, for the helpers below the suite. */
const HARNESS_URL = { value: '' };

const ENCODE: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => gzipSync(b),
  deflate: (b) => deflateSync(b),
  br: (b) => brotliCompressSync(b),
};

/** Hostile bodies: random JSON, random bytes, deep nesting, prototype keys, valid bodies bent. */
function bodies(valid: object): fc.Arbitrary<Buffer> {
  const text = (s: string) => Buffer.from(s);
  return fc.oneof(
    fc.jsonValue().map((v) => text(JSON.stringify(v) ?? 'null')),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.string({ maxLength: 200, unit: 'binary' }).map(text),
    fc
      .tuple(fc.integer({ min: 50, max: 30_000 }), fc.boolean())
      .map(([n, arrays]) =>
        text(
          arrays
            ? `{"properties":{"x":${'['.repeat(n)}${']'.repeat(n)}}}`
            : `{"properties":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`,
        ),
      ),
    fc
      .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'access_token'), fc.jsonValue())
      .map(([key, v]) =>
        text(JSON.stringify(valid).replace(/^\{/, `{"${key}":${JSON.stringify(v) ?? 'null'},`)),
      ),
    fc
      .tuple(fc.string({ maxLength: 20 }), fc.jsonValue())
      .map(([key, v]) => text(JSON.stringify({ ...valid, [key]: v }))),
    fc.constant(text(JSON.stringify(valid))),
  );
}

describe('hostile requests to every JSON endpoint (property-based)', function () {
  this.timeout(300_000);
  let h: Harness;
  let token: string;

  before(async () => {
    // Nothing writes PostgreSQL by itself here, so the tables hold still between two requests:
    // no erasure job (a requested erasure stays a row), no resume projection (the accepted
    // progress events would land in progress_resume later). Dev routes: a user to change.
    h = await startHarness({
      env: { ERASURE_JOBS_ENABLED: 'false', RESUME_PROJECTION_ENABLED: 'false', DEV_ROUTES: 'true' },
    });
    HARNESS_URL.value = h.url;
    token = await h.token();
  });
  after(async () => {
    await h.stop();
  });

  it('never answers 5xx, always answers errors in the one shape, and publishes only what it accepted', async () => {
    const topics = [h.config.topics.progress, h.config.topics.events];
    const count = async () =>
      (await Promise.all(topics.map((t) => topicMessageCount(h.config.kafka.brokers, t)))).reduce(
        (a, b) => a + b,
      );
    const before = await count();
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(hostileRequest(ENDPOINTS, 'POST'), async (r) => {
        const res = await send(r, { valid: `Bearer ${token}` });
        if (res.status >= 400) refused += 1;
        else {
          expect(res.status).to.equal(202);
          const answer = JSON.parse(res.body) as { accepted?: number };
          accepted += answer.accepted ?? 1;
        }
      }),
      // A fixed seed by default, so CI runs the same 400 requests every time; FC_SEED explores.
      { numRuns: 400, seed: Number(process.env.FC_SEED ?? 20261206) },
    );
    expect(refused, 'most generated requests are hostile').to.be.greaterThan(200);
    expect(accepted, 'some generated requests are valid').to.be.greaterThan(0);
    expect(await count()).to.equal(before + accepted);
  });

  it('the admin JSON endpoints: never 5xx, errors in the one shape, and a refused request writes nothing', async () => {
    const admin = await adminToken(h);
    const api = (path: string, body: unknown) => jsonRequest(`${h.url}${path}`, { token: admin, body });
    // What the generated requests start from: an experiment, a segment and a user to change.
    const experiment = `prop_${randomUUID().slice(0, 8)}`;
    const segment = `PROP_${randomUUID().slice(0, 8).toUpperCase()}`;
    const options = [
      { value: 'x', weight: 1 },
      { value: 'y', weight: 1 },
    ];
    expect((await api('/api/v1/admin/experiments', { key: experiment, options })).status).to.equal(201);
    expect((await api('/api/v1/segments', { slug: segment })).status).to.equal(201);
    const user = ((await api('/api/v1/dev/users', {})).body as { user_id: string }).user_id;
    const admins: Endpoint[] = [
      {
        path: '/api/v1/admin/experiments',
        valid: { key: `${experiment}_b`, description: 'd', options },
      },
      { path: `/api/v1/admin/experiments/${experiment}`, valid: { weights: [1, 3] }, method: 'PATCH' },
      { path: '/api/v1/segments', valid: { slug: `${segment}_B`, percent: 0 } },
      { path: `/api/v1/users/${user}/segments`, valid: { add: [segment], remove: [] } },
      { path: '/api/v1/admin/erasures', valid: { viewer_id: randomUUID() } },
    ];
    let refused = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(hostileRequest(admins, 'POST'), async (r) => {
        const before = await tableDigests(h.pool);
        const res = await send(r, { valid: `Bearer ${admin}`, viewer: `Bearer ${token}` });
        if (res.status < 400) {
          accepted += 1;
          return;
        }
        refused += 1;
        expect(await tableDigests(h.pool), `${r.method} ${r.path} ${res.status} wrote`).to.deep.equal(before);
      }),
      { numRuns: 250, seed: Number(process.env.FC_SEED ?? 20261206) },
    );
    expect(refused, 'most generated requests are hostile').to.be.greaterThan(125);
    expect(accepted, 'some generated requests are valid').to.be.greaterThan(0);
  });
});

interface Endpoint {
  path: string;
  valid: object;
  method?: 'POST' | 'PATCH';
}

interface HostileRequest {
  method: string;
  path: string;
  body: Buffer;
  contentType: string;
  encoding: string;
  compress: boolean;
  auth: string;
}

/** A request to one of `endpoints`, bent in path, body, content type, encoding and auth. */
function hostileRequest(endpoints: readonly Endpoint[], method: 'POST'): fc.Arbitrary<HostileRequest> {
  return fc.constantFrom(...endpoints).chain((endpoint) =>
    fc.record({
      method: fc.constant(endpoint.method ?? method),
      path: fc.oneof(
        { weight: 4, arbitrary: fc.constant(endpoint.path) },
        { weight: 1, arbitrary: fc.constantFrom(...pathVariants(endpoint.path)) },
      ),
      body: bodies(endpoint.valid),
      contentType: fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'text/plain;charset=UTF-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        '',
        'application/json; charset=latin1',
      ),
      encoding: fc.constantFrom('', 'identity', 'gzip', 'deflate', 'br', 'zstd', 'gzip, br'),
      compress: fc.boolean(),
      auth: fc.constantFrom('valid', 'viewer', 'none', 'lower', 'garbage', 'two', 'basic'),
    }),
  );
}

/**
 * Sends `r` over raw HTTP and checks what every answer must be: never a 5xx, and an error in
 * the one JSON shape. `tokens.valid` is the right caller's bearer header.
 */
async function send(
  r: HostileRequest,
  tokens: { valid: string; viewer?: string },
): Promise<{ status: number; body: string }> {
  const headers: Record<string, string | string[]> = {};
  if (r.contentType !== '') headers['Content-Type'] = r.contentType;
  if (r.encoding !== '') headers['Content-Encoding'] = r.encoding;
  const token = tokens.valid.slice('Bearer '.length);
  const auth: Record<string, string | string[] | undefined> = {
    valid: tokens.valid,
    viewer: tokens.viewer ?? tokens.valid,
    none: undefined,
    lower: `bearer ${token}`,
    garbage: 'Bearer a.b.c',
    two: [tokens.valid, tokens.valid],
    basic: 'Basic dXNlcjpwYXNz',
  };
  if (auth[r.auth] !== undefined) headers.Authorization = auth[r.auth]!;
  const encode = ENCODE[r.encoding];
  const body = r.compress && encode !== undefined ? encode(r.body) : r.body;
  const res = await rawRequest(HARNESS_URL.value, { method: r.method, path: r.path, body, headers });
  expect(res.status, `${r.method} ${r.path} ${res.status} ${res.body.slice(0, 200)}`).to.be.within(200, 499);
  if (res.status >= 400) {
    const parsed = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } };
    expect(parsed.error?.code, res.body).to.be.a('string');
    expect(parsed.error?.message, res.body).to.be.a('string');
  }
  return res;
}
