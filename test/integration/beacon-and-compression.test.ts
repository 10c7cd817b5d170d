import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import { brotliCompressSync, constants, createBrotliCompress, deflateSync, gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID } from '../helpers/ids.js';
import { readAll, topicMessageCount } from '../helpers/kafka-helpers.js';
import { rawRequest } from '../helpers/raw-request.js';

/** `mib` MiB of spaces, brotli-compressed as a stream (never held whole). */
async function brotliBomb(mib: number): Promise<Buffer> {
  const chunk = Buffer.alloc(1 << 20, 0x20);
  let sent = 0;
  const source = new Readable({
    read() {
      this.push(sent++ < mib ? chunk : null);
    },
  });
  const out: Buffer[] = [];
  const compress = createBrotliCompress({
    params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: 24 },
  });
  for await (const part of source.pipe(compress)) out.push(part as Buffer);
  return Buffer.concat(out);
}

describe('beacon and compressed uploads', function () {
  this.timeout(120_000);
  let h: Harness;
  let viewer: string;
  let token: string;

  before(async () => {
    h = await startHarness();
    viewer = randomUUID();
    token = await h.token(viewer);
  });
  after(async () => {
    await h.stop();
  });

  const post = (path: string, body: Buffer, headers: Record<string, string>) =>
    rawRequest(h.url, { method: 'POST', path, body, headers });
  const progressBatch = (filmId: string) => ({
    events: [{ film_id: filmId, position_sec: 42, duration_sec: 100 }],
  });

  it('takes a beacon: text/plain, the token in the body, and keeps the token out of Kafka and the logs', async () => {
    const filmId = randomUUID();
    const body = Buffer.from(JSON.stringify({ access_token: token, ...progressBatch(filmId) }));
    const res = await post('/api/v1/progress/batch', body, { 'Content-Type': 'text/plain;charset=UTF-8' });
    expect(res.status, res.body).to.equal(202);
    const events = await post(
      '/api/v1/events/batch',
      Buffer.from(JSON.stringify({ access_token: token, events: [{ event_type: 'player.close' }] })),
      { 'Content-Type': 'text/plain' },
    );
    expect(events.status, events.body).to.equal(202);
    const progress = await readAll(h.config.kafka.brokers, h.config.topics.progress);
    const ours = progress
      .map((m) => JSON.parse(m.value!) as Record<string, unknown>)
      .find((m) => m.film_id === filmId)!;
    expect(ours).to.include({ viewer_id: viewer, position_sec: 42 });
    expect(ours).to.not.have.property('access_token');
    const everything = [...progress, ...(await readAll(h.config.kafka.brokers, h.config.topics.events))];
    for (const m of everything) expect(m.value).to.not.include(token);
    expect(h.rawLogs.join('\n')).to.not.include(token);
  });

  it('refuses a beacon without a valid token, and text/plain where no beacon is expected', async () => {
    const before = await topicMessageCount(h.config.kafka.brokers, h.config.topics.progress);
    const plain = { 'Content-Type': 'text/plain' };
    const without = await post(
      '/api/v1/progress/batch',
      Buffer.from(JSON.stringify(progressBatch(randomUUID()))),
      plain,
    );
    expect(without.status).to.equal(401);
    const forged = await post(
      '/api/v1/progress/batch',
      Buffer.from(JSON.stringify({ access_token: `${token}x`, ...progressBatch(randomUUID()) })),
      plain,
    );
    expect(forged.status).to.equal(401);
    expect(forged.body).to.not.include(token);
    const notString = await post(
      '/api/v1/progress/batch',
      Buffer.from(JSON.stringify({ access_token: 42, ...progressBatch(randomUUID()) })),
      plain,
    );
    expect(notString.status).to.equal(401);
    const single = await post(
      `/api/v1/progress/films/${randomUUID()}`,
      Buffer.from(JSON.stringify({ position_sec: 1, duration_sec: 2 })),
      { ...plain, Authorization: `Bearer ${token}` },
    );
    expect(single.status).to.equal(415);
    expect(await topicMessageCount(h.config.kafka.brokers, h.config.topics.progress)).to.equal(before);
  });

  it('takes gzip, deflate and br bodies on every JSON endpoint, stored exactly as sent', async () => {
    const encoders: Record<string, (b: Buffer) => Buffer> = {
      gzip: (b) => gzipSync(b),
      deflate: (b) => deflateSync(b),
      br: (b) => brotliCompressSync(b),
    };
    const queries: string[] = [];
    for (const [encoding, encode] of Object.entries(encoders)) {
      const headers = {
        'Content-Type': 'application/json',
        'Content-Encoding': encoding,
        Authorization: `Bearer ${token}`,
      };
      const filmId = randomUUID();
      const single = await post(
        `/api/v1/progress/films/${filmId}`,
        encode(Buffer.from(JSON.stringify({ position_sec: 7, duration_sec: 70 }))),
        headers,
      );
      expect(single.status, `${encoding}: ${single.body}`).to.equal(202);
      const query = `séance ${encoding} 🎬`;
      const event = await post(
        '/api/v1/events',
        encode(Buffer.from(JSON.stringify({ event_type: 'search', properties: { q: query } }))),
        headers,
      );
      expect(event.status, `${encoding}: ${event.body}`).to.equal(202);
      queries.push(query);
    }
    const stored = (await readAll(h.config.kafka.brokers, h.config.topics.events)).map(
      (m) => (JSON.parse(m.value!) as { properties: { q?: string } }).properties.q,
    );
    for (const query of queries) expect(stored, query).to.include(query);
  });

  it('answers 400 to a corrupt compressed body and 415 to an unknown encoding', async () => {
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
    const corrupt = gzipSync(Buffer.from('{"event_type":"search"}')).subarray(0, 12);
    const bad = await post('/api/v1/events', corrupt, { ...headers, 'Content-Encoding': 'gzip' });
    expect(bad.status, bad.body).to.equal(400);
    expect((JSON.parse(bad.body) as { error: { code: string } }).error.code).to.equal('invalid_encoding');
    const notGzip = await post('/api/v1/events', Buffer.from('{"event_type":"search"}'), {
      ...headers,
      'Content-Encoding': 'gzip',
    });
    expect(notGzip.status).to.equal(400);
    const unknown = await post('/api/v1/events', Buffer.from('{}'), {
      ...headers,
      'Content-Encoding': 'zstd',
    });
    expect(unknown.status).to.equal(415);
  });

  it('answers a body it stops reading part-way and keeps the next request on that connection whole', async () => {
    // One kept-alive socket, so the second request goes where the first one was refused.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
    const valid = Buffer.from(JSON.stringify({ event_type: 'search' }));
    try {
      // Larger than the socket buffers: most of it is still unread when the answer goes out.
      const junk = Buffer.alloc(160_000, 0x7b);
      const refusals = [
        { encoding: 'br', body: junk, status: 400 },
        { encoding: 'gzip', body: junk, status: 400 },
        { encoding: 'gzip', body: gzipSync(Buffer.alloc(100 << 20, 0x20), { level: 9 }), status: 413 },
      ];
      for (const r of refusals) {
        const res = await rawRequest(h.url, {
          method: 'POST',
          path: '/api/v1/events',
          body: r.body,
          headers: { ...headers, 'Content-Encoding': r.encoding },
          agent,
        });
        expect(res.status, `${r.encoding}: ${res.body}`).to.equal(r.status);
        const next = await rawRequest(h.url, {
          method: 'POST',
          path: '/api/v1/events',
          body: valid,
          headers,
          agent,
        });
        expect(next.status, `after ${r.encoding} ${r.status}: ${next.body}`).to.equal(202);
      }
    } finally {
      agent.destroy();
    }
  });

  it('stops a zip bomb at the body limit while inflating: 413, and no memory spike', async () => {
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
    const br = await brotliBomb(1024);
    expect(br.length).to.be.lessThan(1024);
    const gz = gzipSync(Buffer.alloc(100 << 20, 0x20), { level: 9 });
    expect(gz.length).to.be.lessThan(h.config.http.bodyLimitBytes);
    const rssBefore = process.memoryUsage().rss;
    for (const [encoding, body] of [
      ['br', br],
      ['gzip', gz],
    ] as const) {
      const res = await post('/api/v1/events', body, { ...headers, 'Content-Encoding': encoding });
      expect(res.status, `${encoding}: ${res.body}`).to.equal(413);
      expect((JSON.parse(res.body) as { error: { code: string } }).error.code).to.equal('payload_too_large');
    }
    // The API runs in this process: a 1 GiB inflation would show here.
    expect(process.memoryUsage().rss - rssBefore).to.be.lessThan(64 << 20);
  });
});
