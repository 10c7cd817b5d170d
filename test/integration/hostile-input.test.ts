import { expect } from 'chai';
import { SignJWT } from 'jose';
import { startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID } from '../helpers/ids.js';
import { topicMessageCount } from '../helpers/kafka-helpers.js';
import { rawRequest, type RawAnswer } from '../helpers/raw-request.js';

/**
 * What a hostile client sends to the JSON endpoints: every answer a 4xx in the one error
 * shape, nothing silently changed, and nothing of a refused request on the topics.
 */
describe('hostile input to the JSON endpoints', function () {
  this.timeout(120_000);
  let h: Harness;
  let token: string;

  before(async () => {
    h = await startHarness();
    token = await h.token();
  });
  after(async () => {
    await h.stop();
  });

  const topics = () => [h.config.topics.progress, h.config.topics.events];
  const counts = async () => Promise.all(topics().map((t) => topicMessageCount(h.config.kafka.brokers, t)));

  const post = (path: string, body: Buffer | object, headers: Record<string, string | string[]> = {}) =>
    rawRequest(h.url, {
      method: 'POST',
      path,
      body: Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, ...headers },
    });

  function expectError(res: RawAnswer, status: number, code?: string): void {
    expect(res.status, res.body.slice(0, 200)).to.equal(status);
    const parsed = JSON.parse(res.body) as { error: { code: string; message: string } };
    expect(parsed.error.message).to.be.a('string');
    if (code !== undefined) expect(parsed.error.code).to.equal(code);
  }

  it('answers 400, not 500, to properties nested 20,000 levels deep (objects and arrays)', async () => {
    for (const [open, close] of [
      ['{"a":', '}'],
      ['[', ']'],
    ] as const) {
      const deep = `${open.repeat(20_000)}1${close.repeat(20_000)}`;
      const body = Buffer.from(`{"event_type":"search","properties":{"x":${deep}}}`);
      expect(body.length).to.be.lessThan(h.config.http.bodyLimitBytes);
      expectError(await post('/api/v1/events', body), 400, 'validation_failed');
      const batch = Buffer.from(`{"events":[{"event_type":"search","properties":{"x":${deep}}}]}`);
      expectError(await post('/api/v1/events/batch', batch), 400, 'validation_failed');
    }
  });

  it('answers 400 to __proto__, constructor and prototype keys instead of dropping them', async () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const raw = Buffer.from(`{"event_type":"search","properties":{"${key}":{"admin":true},"q":"x"}}`);
      const res = await post('/api/v1/events', raw);
      expectError(res, 400, 'validation_failed');
      expect(res.body).to.include(key);
    }
  });

  it('answers 400 to invalid UTF-8 and to lone surrogates instead of replacing them', async () => {
    const prefix = Buffer.from('{"event_type":"search","properties":{"q":"');
    const suffix = Buffer.from('"}}');
    for (const bad of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const res = await post('/api/v1/events', Buffer.concat([prefix, Buffer.from(bad), suffix]));
      expectError(res, 400, 'invalid_encoding');
    }
    const surrogate = Buffer.from('{"event_type":"search","properties":{"q":"a\\ud800b"}}');
    expectError(await post('/api/v1/events', surrogate), 400, 'validation_failed');
    // Valid multi-byte UTF-8 passes untouched.
    const ok = await post('/api/v1/events', { event_type: 'search', properties: { q: 'héllo 🎬 日本' } });
    expect(ok.status, ok.body).to.equal(202);
  });

  it('answers 400 to a key sent twice and to a number a double cannot hold, instead of keeping the last or a rounded one', async () => {
    const film = randomUUID();
    const twice = await post(
      `/api/v1/progress/films/${film}`,
      Buffer.from('{"position_sec":754,"duration_sec":5400,"position_sec":10}'),
    );
    expectError(twice, 400, 'validation_failed');
    expect(twice.body).to.include('position_sec');
    const batch = await post(
      '/api/v1/progress/batch',
      Buffer.from(
        `{"events":[{"film_id":"${film}","position_sec":1,"film_id":"${randomUUID()}","duration_sec":2}]}`,
      ),
    );
    expectError(batch, 400, 'validation_failed');
    expect(batch.body).to.include('events[0].film_id');
    for (const n of ['12345678901234567890123', '0.99999999999999999']) {
      const res = await post(
        '/api/v1/events',
        Buffer.from(`{"event_type":"search","properties":{"q":${n}}}`),
      );
      expectError(res, 400, 'validation_failed');
      expect(res.body).to.include('properties.q');
    }
    // Exact numbers however written, and the same key in two objects, pass.
    const ok = await post(
      '/api/v1/events',
      Buffer.from('{"event_type":"search","properties":{"a":{"n":1e3},"b":{"n":-0.5,"m":9007199254740991}}}'),
    );
    expect(ok.status, ok.body).to.equal(202);
  });

  it('answers 401 to a token issued in the future beyond the clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (iat: number) =>
      new SignJWT({ sub: randomUUID(), iat, exp: now + 3600 })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(h.secret));
    const future = await post(
      '/api/v1/events',
      { event_type: 'search' },
      {
        Authorization: `Bearer ${await sign(now + 10 * 365 * 86400)}`,
      },
    );
    expectError(future, 401, 'unauthorized');
    expect(future.body).to.include('issued in the future');
    const skewed = await post(
      '/api/v1/events',
      { event_type: 'search' },
      {
        Authorization: `Bearer ${await sign(now + 5)}`,
      },
    );
    expect(skewed.status, skewed.body).to.equal(202);
  });

  it('answers 401 to two Authorization headers, even when both hold valid tokens', async () => {
    const other = await h.token();
    const res = await post(
      '/api/v1/events',
      { event_type: 'search' },
      {
        Authorization: [`Bearer ${token}`, `Bearer ${other}`],
      },
    );
    expectError(res, 401, 'unauthorized');
  });

  it('answers 400 to two Content-Type headers, alike or not, instead of reading the first', async () => {
    const film = randomUUID();
    for (const [path, body] of [
      ['/api/v1/events', { event_type: 'search' }],
      [`/api/v1/progress/films/${film}`, { position_sec: 1, duration_sec: 2 }],
    ] as const) {
      for (const types of [
        ['application/json', 'application/json'],
        ['application/json', 'text/plain; charset=utf-16'],
      ]) {
        const res = await post(path, body, { 'Content-Type': types });
        expectError(res, 400, 'duplicate_header');
      }
    }
  });

  it('matches the Bearer scheme case-insensitively (RFC 7235)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await post(
        '/api/v1/events',
        { event_type: 'search' },
        { Authorization: `${scheme} ${token}` },
      );
      expect(res.status, `${scheme}: ${res.body}`).to.equal(202);
    }
  });

  it('wrote nothing for any refused request', async () => {
    const before = await counts();
    const refused = [
      post(
        '/api/v1/events',
        Buffer.from(`{"event_type":"search","properties":${'['.repeat(5000)}${']'.repeat(5000)}}`),
      ),
      post('/api/v1/events', Buffer.from('{"event_type":"search","properties":{"__proto__":1}}')),
      post(
        '/api/v1/progress/batch',
        Buffer.from(
          `{"events":[{"film_id":"${randomUUID()}","position_sec":1,"duration_sec":2,"__proto__":{}}]}`,
        ),
      ),
      post(`/api/v1/progress/films/${randomUUID()}`, Buffer.from([0x7b, 0xff, 0x7d])),
      post(
        `/api/v1/progress/films/${randomUUID()}`,
        Buffer.from('{"position_sec":754,"duration_sec":5400,"duration_sec":6000}'),
      ),
      post(
        '/api/v1/events',
        Buffer.from('{"event_type":"search","properties":{"q":12345678901234567890123}}'),
      ),
    ];
    for (const res of await Promise.all(refused)) expect(res.status, res.body).to.equal(400);
    expect(await counts()).to.deep.equal(before);
  });
});
