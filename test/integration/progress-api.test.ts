import { expect } from 'chai';
import { randomUUID } from '../helpers/ids.js';
import { readAll, topicMessageCount } from '../helpers/kafka-helpers.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-request.js';
import { testEnv } from '../helpers/test-env.js';

describe('progress API → Kafka', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('answers 202 with the client event_id once the event is in the topic, keyed by viewer', async () => {
    const viewer = randomUUID();
    const film = randomUUID();
    const eventId = randomUUID();
    const res = await request(`${h.url}/api/v1/progress/films/${film}`, {
      token: await h.token(viewer),
      body: {
        position_sec: 754,
        duration_sec: 5400,
        event_id: eventId,
        occurred_at: new Date().toISOString(),
      },
    });
    expect(res.status).to.equal(202);
    expect(res.body).to.deep.equal({ event_id: eventId });
    // Answered only after the broker acknowledged: the message is readable right now.
    const messages = await readAll(testEnv().brokers, h.config.topics.progress);
    const mine = messages.filter((m) => m.key === viewer);
    expect(mine).to.have.length(1);
    const value = JSON.parse(mine[0]!.value!) as Record<string, unknown>;
    expect(value).to.include({
      schema_version: 1,
      event_id: eventId,
      viewer_id: viewer,
      film_id: film,
      position_sec: 754,
      duration_sec: 5400,
    });
    expect(Date.parse(value.received_at as string)).to.be.closeTo(Date.now(), 60_000);
  });

  it('generates an event_id when the client sends none and stamps occurred_at with received_at', async () => {
    const viewer = randomUUID();
    const res = await request(`${h.url}/api/v1/progress/films/${randomUUID()}`, {
      token: await h.token(viewer),
      body: { position_sec: 0, duration_sec: 60 },
    });
    expect(res.status).to.equal(202);
    expect(res.body.event_id).to.match(/^[0-9a-f-]{36}$/);
    const messages = await readAll(testEnv().brokers, h.config.topics.progress);
    const value = JSON.parse(messages.find((m) => m.key === viewer)!.value!) as Record<string, unknown>;
    expect(value.event_id).to.equal(res.body.event_id);
    expect(value.occurred_at).to.equal(value.received_at);
  });

  it('accepts a batch of 500 events and returns their ids in order', async () => {
    const viewer = randomUUID();
    const events = Array.from({ length: 500 }, (_, i) => ({
      film_id: randomUUID(),
      position_sec: i,
      duration_sec: 1000,
      ...(i % 2 === 0 ? { event_id: randomUUID() } : {}),
    }));
    const res = await request(`${h.url}/api/v1/progress/batch`, {
      token: await h.token(viewer),
      body: { events },
    });
    expect(res.status).to.equal(202);
    expect(res.body.accepted).to.equal(500);
    expect(res.body.event_ids).to.have.length(500);
    events.forEach((e, i) => {
      if (e.event_id !== undefined) expect(res.body.event_ids[i]).to.equal(e.event_id);
    });
    const messages = await readAll(testEnv().brokers, h.config.topics.progress);
    const mine = messages.filter((m) => m.key === viewer);
    expect(mine).to.have.length(500);
    // One viewer → one partition → order preserved.
    expect(new Set(mine.map((m) => m.partition)).size).to.equal(1);
    expect(mine.map((m) => (JSON.parse(m.value!) as { event_id: string }).event_id)).to.deep.equal(
      res.body.event_ids,
    );
  });

  it('serves /healthz and /readyz with Kafka, ClickHouse and PostgreSQL reachable', async () => {
    expect((await request(`${h.url}/healthz`)).body).to.deep.equal({ status: 'ok' });
    const ready = await request(`${h.url}/readyz`);
    expect(ready.status).to.equal(200);
    expect(ready.body).to.deep.equal({
      status: 'ready',
      checks: { kafka: 'ok', clickhouse: 'ok', postgres: 'ok' },
    });
  });

  it('answers 404 in the error shape for unknown routes and 405 for wrong methods', async () => {
    const unknown = await request(`${h.url}/api/v1/nope`);
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error.code).to.equal('not_found');
    const wrong = await request(`${h.url}/api/v1/progress/batch`, { method: 'PUT', token: await h.token() });
    expect(wrong.status).to.equal(405);
    expect(wrong.body.error.code).to.equal('method_not_allowed');
    const put = await fetch(`${h.url}/healthz`, { method: 'PUT' });
    expect(put.status).to.equal(405);
    expect(put.headers.get('allow')).to.equal('HEAD, GET');
    // Methods no route serves: a 405 in the error shape too, never a 500 (nor an error log).
    for (const [method, path] of [
      ['TRACE', '/healthz'],
      ['PROPFIND', '/api/v1/progress/batch'],
    ] as const) {
      const r = await rawRequest(h.url, { method, path });
      expect(r.status, `${method} ${path}`).to.equal(405);
      expect((JSON.parse(r.body) as { error: { code: string } }).error.code).to.equal('method_not_allowed');
    }
    // On a path no route serves, whatever the method: 404.
    const nowhere = await rawRequest(h.url, { method: 'MKCOL', path: '/api/v1/nope' });
    expect(nowhere.status).to.equal(404);
    expect((JSON.parse(nowhere.body) as { error: { code: string } }).error.code).to.equal('not_found');
    expect(h.logs.filter((l) => l.level === 'error')).to.deep.equal([]);
  });
});

describe('CORS for the player page', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { CORS_ALLOWED_ORIGINS: 'https://player.example.com' } });
  });
  after(async () => {
    await h.stop();
  });

  it('answers the preflight of an allowed origin', async () => {
    const res = await request(`${h.url}/api/v1/progress/batch`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://player.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    expect(res.status).to.equal(204);
    expect(res.headers.get('access-control-allow-origin')).to.equal('https://player.example.com');
    expect(res.headers.get('access-control-allow-methods')).to.contain('POST');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).to.contain('authorization');
  });

  it('gives an unlisted origin no CORS headers', async () => {
    const res = await request(`${h.url}/api/v1/progress/batch`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' },
    });
    expect(res.headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('adds the allow-origin header to real responses for an allowed origin', async () => {
    const res = await request(`${h.url}/api/v1/progress/films/${randomUUID()}`, {
      token: await h.token(),
      headers: { Origin: 'https://player.example.com' },
      body: { position_sec: 1, duration_sec: 2 },
    });
    expect(res.status).to.equal(202);
    expect(res.headers.get('access-control-allow-origin')).to.equal('https://player.example.com');
  });
});

describe('rejected requests never reach Kafka', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { API_BODY_LIMIT_BYTES: '65536' } });
  });
  after(async () => {
    await h.stop();
  });

  const film = randomUUID();
  const valid = { position_sec: 10, duration_sec: 100 };
  const cases: {
    name: string;
    path?: string;
    rawBody?: string;
    body?: unknown;
    contentType?: string;
    status: number;
    code: string;
    field?: string;
  }[] = [
    { name: 'malformed JSON', rawBody: '{"position_sec": 1,', status: 400, code: 'invalid_json' },
    { name: 'an empty body', rawBody: '', status: 400, code: 'invalid_json' },
    {
      name: 'a wrong content type',
      rawBody: JSON.stringify(valid),
      contentType: 'text/plain',
      status: 415,
      code: 'unsupported_media_type',
    },
    {
      name: 'a body declared in a charset other than UTF-8',
      rawBody: JSON.stringify(valid),
      contentType: 'application/json; charset=ISO-8859-1',
      status: 415,
      code: 'unsupported_media_type',
    },
    {
      name: 'another charset in a header a strict parser gives up on',
      rawBody: JSON.stringify(valid),
      contentType: 'application/json; charset=utf-16, text/plain',
      status: 415,
      code: 'unsupported_media_type',
    },
    {
      name: 'an oversize body',
      rawBody: JSON.stringify({ ...valid, pad: 'x'.repeat(70000) }),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'a missing field',
      body: { position_sec: 10 },
      status: 400,
      code: 'validation_failed',
      field: 'duration_sec',
    },
    {
      name: 'an unknown field',
      body: { ...valid, viewer_id: randomUUID() },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a wrong type',
      body: { ...valid, position_sec: '10' },
      status: 400,
      code: 'validation_failed',
      field: 'position_sec',
    },
    {
      name: 'a non-UUID film id',
      path: '/api/v1/progress/films/not-a-uuid',
      body: valid,
      status: 400,
      code: 'validation_failed',
      field: 'film_id',
    },
    {
      name: 'the nil UUID as film id',
      path: '/api/v1/progress/films/00000000-0000-0000-0000-000000000000',
      body: valid,
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'the max UUID as event id',
      body: { ...valid, event_id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' },
      status: 400,
      code: 'validation_failed',
      field: 'event_id',
    },
    {
      name: 'a non-UUID event id',
      body: { ...valid, event_id: '123' },
      status: 400,
      code: 'validation_failed',
      field: 'event_id',
    },
    {
      name: 'a negative position',
      body: { ...valid, position_sec: -1 },
      status: 400,
      code: 'validation_failed',
      field: 'position_sec',
    },
    {
      name: 'a fractional position',
      body: { ...valid, position_sec: 1.5 },
      status: 400,
      code: 'validation_failed',
      field: 'position_sec',
    },
    {
      name: 'a position beyond the duration',
      body: { position_sec: 101, duration_sec: 100 },
      status: 400,
      code: 'validation_failed',
      field: 'position_sec',
    },
    {
      name: 'a zero duration',
      body: { position_sec: 0, duration_sec: 0 },
      status: 400,
      code: 'validation_failed',
      field: 'duration_sec',
    },
    {
      name: 'a timestamp in 1970',
      body: { ...valid, occurred_at: '1970-01-01T00:00:00Z' },
      status: 400,
      code: 'validation_failed',
      field: 'occurred_at',
    },
    {
      name: 'a timestamp more precise than a millisecond',
      body: { ...valid, occurred_at: new Date(Date.now() - 1000).toISOString().replace('Z', '001Z') },
      status: 400,
      code: 'validation_failed',
      field: 'occurred_at',
    },
    {
      name: 'a timestamp in 2100',
      body: { ...valid, occurred_at: '2100-01-01T00:00:00Z' },
      status: 400,
      code: 'validation_failed',
      field: 'occurred_at',
    },
    {
      name: 'a timestamp without zone',
      body: { ...valid, occurred_at: '2026-01-01 10:00:00' },
      status: 400,
      code: 'validation_failed',
      field: 'occurred_at',
    },
    { name: 'a JSON array body', body: [valid], status: 400, code: 'validation_failed' },
    { name: 'a JSON null body', rawBody: 'null', status: 400, code: 'validation_failed' },
    {
      name: 'a batch over the limit',
      path: '/api/v1/progress/batch',
      body: { events: Array.from({ length: 501 }, () => ({ film_id: film, ...valid })) },
      status: 400,
      code: 'validation_failed',
      field: 'events',
    },
    {
      name: 'an empty batch',
      path: '/api/v1/progress/batch',
      body: { events: [] },
      status: 400,
      code: 'validation_failed',
      field: 'events',
    },
    {
      name: 'a batch with one bad item',
      path: '/api/v1/progress/batch',
      body: {
        events: [
          { film_id: film, ...valid },
          { film_id: film, ...valid },
          { film_id: film, position_sec: 5, duration_sec: 1 },
        ],
      },
      status: 400,
      code: 'validation_failed',
      field: 'events[2].position_sec',
    },
  ];

  for (const c of cases) {
    it(`answers ${c.status} ${c.code} for ${c.name}`, async () => {
      const res = await request(`${h.url}${c.path ?? `/api/v1/progress/films/${film}`}`, {
        token: await h.token(),
        ...(c.body !== undefined ? { body: c.body } : { rawBody: c.rawBody }),
        headers: { 'Content-Type': c.contentType ?? 'application/json' },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(c.status);
      expect(res.body).to.have.all.keys('error');
      expect(res.body.error).to.have.all.keys('code', 'message', 'details');
      expect(res.body.error.code).to.equal(c.code);
      expect(JSON.stringify(res.body)).not.to.match(/at .+\.(ts|js):\d+/); // no stack traces
      if (c.field !== undefined) {
        expect(res.body.error.details.map((d: { path: string }) => d.path)).to.include(c.field);
      }
    });
  }

  it('wrote nothing to the topic for any of those requests', async () => {
    expect(await topicMessageCount(testEnv().brokers, h.config.topics.progress)).to.equal(0);
  });
});
