import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { sleep } from '../../lib/retry.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { waitFor } from '../helpers/kafka-helpers.js';
import { NginxEdge } from '../helpers/nginx.js';
import { pathVariants } from '../helpers/path-variants.js';
import { rawRequest } from '../helpers/raw-request.js';
import { testEnv } from '../helpers/test-env.js';

describe('nginx edge in front of two API instances', function () {
  this.timeout(120_000);
  let a: Harness;
  let b: Harness;
  let edge: NginxEdge;
  let token: string;

  before(async () => {
    a = await startHarness();
    b = await startHarness({
      env: {
        KAFKA_TOPIC_PROGRESS: a.config.topics.progress,
        JWT_SECRET: a.secret,
        CLICKHOUSE_DATABASE: a.config.clickhouse.database,
      },
    });
    edge = new NginxEdge(
      join(testEnv().workDir, uniqueName('nginx')),
      [a.url, b.url].map((u) => u.replace('http://', '')),
    );
    await edge.start();
    token = await a.token();
  });
  after(async () => {
    await edge.stop();
    await b.stop();
    await a.stop();
  });

  const post = (headers: Record<string, string> = {}) =>
    request(`${edge.url}/api/v1/progress/films/${randomUUID()}`, {
      token,
      headers,
      body: { position_sec: 1, duration_sec: 2 },
    });

  it('passes normal traffic to both instances and keeps the request id end to end', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => post()));
    expect(results.map((r) => r.status)).to.deep.equal(Array(10).fill(202));
    const traced = await post({ 'X-Request-Id': 'trace-abc-123' });
    expect(traced.status).to.equal(202);
    expect(traced.headers.get('x-request-id')).to.equal('trace-abc-123');
    const apiLines = [...a.logs, ...b.logs].filter((l) => l.request_id === 'trace-abc-123');
    expect(apiLines.length, 'an API log line carries the edge request id').to.be.greaterThan(0);
    // Round robin reached both instances.
    const served = (h: Harness) => h.logs.filter((l) => l.msg === 'http_request').length;
    expect(served(a)).to.be.greaterThan(0);
    expect(served(b)).to.be.greaterThan(0);
  });

  it('writes one JSON access-log line per request', async () => {
    const id = `trace-${randomUUID()}`;
    expect((await post({ 'X-Request-Id': id })).status).to.equal(202);
    const logged = await waitFor(
      'the access-log line',
      async () =>
        readFileSync(edge.accessLog, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((l) => l.request_id === id),
      (lines) => lines.length > 0,
      10_000,
      50,
    );
    expect(logged).to.have.length(1);
    const traced = logged[0];
    expect(traced).to.include({ method: 'POST', status: 202 });
    expect(traced!.upstream).to.match(/^127\.0\.0\.1:\d+$/);
  });

  it('compresses large JSON responses', async () => {
    const events = Array.from({ length: 30 }, () => ({
      film_id: randomUUID(),
      position_sec: 1,
      duration_sec: 2,
    }));
    const res = await fetch(`${edge.url}/api/v1/progress/batch`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'accept-encoding': 'gzip',
      },
      body: JSON.stringify({ events }),
    });
    expect(res.status).to.equal(202);
    expect(res.headers.get('content-encoding')).to.equal('gzip');
    expect(((await res.json()) as { event_ids: string[] }).event_ids).to.have.length(30);
  });

  it('answers 413 in the JSON error shape for an oversize body, before any instance sees it', async () => {
    const res = await request(`${edge.url}/api/v1/progress/batch`, {
      token,
      rawBody: 'x'.repeat(2 * 1024 * 1024),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).to.equal(413);
    expect(res.body.error.code).to.equal('payload_too_large');
  });

  it('does not expose /metrics at the edge, in any shape of its path', async () => {
    expect((await fetch(`${edge.url}/metrics`)).status).to.equal(404);
    // The instance behind it does serve them: the edge is what stops them.
    expect(await (await fetch(`${a.url}/metrics`)).text()).to.include('# HELP');
    const shapes = [...pathVariants('/metrics'), '/metrics?x=1', '/metrics/x', '/%2Fmetrics', '/METRICS/'];
    const ids = new Map<string, string>();
    for (const path of shapes) {
      const id = `metrics-shape-${ids.size}`;
      ids.set(id, path);
      const res = await rawRequest(edge.url, { path, headers: { 'X-Request-Id': id } });
      expect(res.status, path).to.be.oneOf([400, 404]);
      expect(res.body, path).to.not.include('# HELP');
    }
    // Answered by nginx itself: not one of them was forwarded to an instance.
    const lines = await waitFor(
      'access-log lines of every /metrics shape',
      async () =>
        readFileSync(edge.accessLog, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"request_id":"metrics-shape-'))
          .map((l) => JSON.parse(l) as { request_id: string; upstream: string }),
      (logged) => logged.length === ids.size,
      10_000,
      50,
    );
    for (const line of lines) expect(line.upstream, ids.get(line.request_id)).to.equal('');
  });

  it('limits new Device-Tokens per client at the device endpoint, while other routes still pass', async () => {
    // Paced below the general per-client rate, so only the device endpoint's own limit can
    // answer 429: each request a device nobody has seen (a script minting tokens).
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof request>> | undefined;
    for (let i = 0; i < 100 && limited === undefined; i++) {
      const res = await request(`${edge.url}/api/v1/experiments`, {
        headers: { 'Device-Token': `dev-${randomUUID()}` },
      });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await sleep(100);
    }
    expect(limited, `statuses: ${statuses.join(',')}`).not.to.equal(undefined);
    expect(limited!.body.error.code).to.equal('too_many_requests');
    expect(limited!.headers.get('retry-after')).to.equal('1');
    expect(statuses.slice(0, -1)).to.deep.equal(Array(statuses.length - 1).fill(200));
    // The same client's other traffic is not held by it.
    const others = await Promise.all(Array.from({ length: 10 }, () => post()));
    expect(others.map((r) => r.status)).to.deep.equal(Array(10).fill(202));
  });

  it('answers 429 with Retry-After to a client over the rate limit', async () => {
    const results = await Promise.all(Array.from({ length: 150 }, () => post()));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).to.be.greaterThan(0);
    expect(limited[0]!.body.error.code).to.equal('too_many_requests');
    expect(limited[0]!.headers.get('retry-after')).to.equal('1');
    expect(results.filter((r) => r.status === 202).length).to.be.greaterThan(0);
  });

  it('routes around an instance that is down', async () => {
    await b.api.http.stop();
    // From a client address of its own: the per-client limit holds nothing from other tests.
    const results = [];
    for (let i = 0; i < 20; i++) {
      const res = await rawRequest(edge.url, {
        method: 'POST',
        path: `/api/v1/progress/films/${randomUUID()}`,
        token,
        body: { position_sec: 1, duration_sec: 2 },
        localAddress: '127.0.0.3',
      });
      results.push(res.status);
    }
    expect(results).to.deep.equal(Array(20).fill(202));
  });
});
