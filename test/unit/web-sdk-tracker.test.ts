import { expect } from 'chai';
import { createTracker, type TrackerError, type TrackerOptions } from '../../sdk/web/src/index.js';
import { FakePage, type FakeAnswer } from './web-sdk-fakes.js';

const API = 'https://api.example';
const FILM = '1d6f0b0e-2b1f-4f7a-9c3e-5a4b3c2d1e0f';

function jwt(expSec: number, n = 0): string {
  return `h.${Buffer.from(JSON.stringify({ sub: 'v', exp: expSec, n })).toString('base64url')}.s`;
}

describe('web SDK: tracker', () => {
  let page: FakePage;
  let errors: TrackerError[];
  const start = (opts: Partial<TrackerOptions> = {}) =>
    createTracker(
      {
        url: API,
        token: 'tok',
        onError: (e) => errors.push(e),
        flushIntervalMs: 1000,
        batchSize: 3,
        ...opts,
      },
      page.env(),
    );
  beforeEach(() => {
    page = new FakePage();
    errors = [];
  });

  it('sends a batch as soon as batchSize events wait, to the stream’s endpoint, with the bearer token', async () => {
    const t = start();
    const ids = [t.progress(FILM, 1, 100), t.progress(FILM, 2, 100)];
    await page.settle();
    expect(page.requests).to.have.length(0);
    ids.push(t.progress(FILM, 3, 100));
    await page.settle();
    expect(page.requests).to.have.length(1);
    const [req] = page.requests;
    expect(req!.url).to.equal(`${API}/api/v1/progress/batch`);
    expect(req!.init.headers).to.deep.equal({
      Authorization: 'Bearer tok',
      'Content-Type': 'application/json',
    });
    expect(req!.body.events.map((e: any) => e.event_id)).to.deep.equal(ids);
    expect(req!.body.events[0]).to.deep.equal({
      event_id: ids[0],
      occurred_at: '2026-03-01T12:00:00.000Z',
      film_id: FILM,
      position_sec: 1,
      duration_sec: 100,
    });
    expect(t.pending).to.equal(0);
    expect(page.storage.map.size).to.equal(0);
  });

  it('sends fewer events after flushIntervalMs, and each stream to its own endpoint', async () => {
    const t = start();
    t.track('search', { q: 'matrix' });
    t.progress(FILM, 5, 100);
    await page.advance(999);
    expect(page.requests).to.have.length(0);
    await page.advance(1);
    expect(page.requests.map((r) => r.url)).to.deep.equal([
      `${API}/api/v1/events/batch`,
      `${API}/api/v1/progress/batch`,
    ]);
    expect(page.requests[0]!.body.events[0]).to.include({ event_type: 'search' });
    expect(t.pending).to.equal(0);
  });

  it('keeps the events through 503s, waits as Retry-After asks and backs off, then sends them once accepted', async () => {
    const statuses = [503, 503, 503, 202];
    page.answer = (): FakeAnswer => {
      const status = statuses.shift()!;
      return { status, headers: status === 503 ? { 'Retry-After': '2' } : {} };
    };
    const t = start({ retryBaseMs: 1000, retryMaxMs: 8000 });
    const ids = [t.track('a'), t.track('b'), t.track('c')];
    await page.settle();
    expect(page.requests).to.have.length(1);
    expect(t.pending).to.equal(3);
    // Retry-After 2 s beats the first backoff (750 ms with random 0.5).
    expect(page.nextTimerIn()).to.equal(2000);
    // Events queued while backing off wait with the rest instead of bypassing the wait.
    const d = t.track('d');
    await page.advance(1999);
    expect(page.requests).to.have.length(1);
    await page.advance(1);
    expect(page.requests).to.have.length(2);
    // Second retry: Retry-After (2 s) still beats the backoff (1500 ms); the third's backoff
    // (ceiling 4000 ms, random 0.5 → 3000 ms) beats Retry-After.
    expect(page.nextTimerIn()).to.equal(2000);
    await page.advance(2000);
    expect(page.nextTimerIn()).to.equal(3000);
    await page.advance(3000);
    expect(page.requests).to.have.length(4);
    expect(t.pending).to.equal(0);
    expect(page.requests.map((r) => r.body.events.length)).to.deep.equal([3, 4, 4, 4]);
    expect(page.requests[3]!.body.events.map((e: any) => e.event_id)).to.deep.equal([...ids, d]);
    expect(errors).to.deep.equal([]);
  });

  it('retries after a network failure, and never retries a 400: it drops the batch and reports it', async () => {
    const answers: (Error | { status: number; body?: unknown })[] = [
      new TypeError('Failed to fetch'),
      { status: 400, body: { error: { code: 'invalid_request' } } },
    ];
    page.answer = () => answers.shift() ?? { status: 202 };
    const t = start();
    t.track('a');
    t.track('b');
    t.track('c');
    await page.settle();
    expect(t.pending).to.equal(3);
    await page.advance(500);
    expect(page.requests).to.have.length(2);
    expect(t.pending).to.equal(0);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.include({ reason: 'rejected' });
    expect(errors[0]!.details).to.deep.include({
      status: 400,
      dropped: 3,
      body: { error: { code: 'invalid_request' } },
    });
    await page.advance(60_000);
    expect(page.requests).to.have.length(2);
  });

  it('on 401 asks getToken once more and sends again; a second 401 drops the batch', async () => {
    let calls = 0;
    const getToken = () => `token-${++calls}`;
    page.answer = (req) => ({ status: req.init.headers.Authorization === 'Bearer token-2' ? 202 : 401 });
    const t = start({ token: undefined, getToken });
    await page.settle();
    t.track('a');
    await t.flush();
    expect(page.requests.map((r) => r.init.headers.Authorization)).to.deep.equal([
      'Bearer token-1',
      'Bearer token-2',
    ]);
    expect(t.pending).to.equal(0);
    page.answer = () => ({ status: 401 });
    t.track('b');
    await t.flush();
    expect(calls).to.equal(3);
    expect(page.requests).to.have.length(4);
    expect(errors.map((e) => e.details.status)).to.deep.equal([401]);
  });

  it('asks getToken again before the cached token expires', async () => {
    const tokens = [jwt(page.now / 1000 + 60, 1), jwt(page.now / 1000 + 3600, 2)];
    const t = start({ token: undefined, getToken: () => tokens.shift()! });
    t.track('a');
    await t.flush();
    page.now += 45_000;
    t.track('b');
    await t.flush();
    const sent = page.requests.map((r) => r.init.headers.Authorization);
    expect(sent[0]).to.not.equal(sent[1]);
    expect(tokens).to.have.length(0);
  });

  it('hands the queue to sendBeacon when the page is hidden: text/plain JSON with the token in access_token', async () => {
    const t = start({ batchSize: 100 });
    const ids = [t.progress(FILM, 1, 10), t.track('player.close')];
    page.visibility = 'hidden';
    page.fire('visibilitychange');
    expect(page.beacons.map((b) => b.url)).to.deep.equal([
      `${API}/api/v1/progress/batch`,
      `${API}/api/v1/events/batch`,
    ]);
    const bodies = page.beacons.map((b) => JSON.parse(b.body));
    expect(bodies[0].access_token).to.equal('tok');
    expect([...bodies[0].events, ...bodies[1].events].map((e: any) => e.event_id)).to.deep.equal(ids);
    // pagehide right after the same hiding does not send them a second time.
    page.fire('pagehide');
    expect(page.beacons).to.have.length(2);
    // They stay queued (a beacon's answer is never seen) and go again once the page lives on.
    expect(t.pending).to.equal(2);
    page.visibility = 'visible';
    page.fire('visibilitychange');
    await page.advance(1000);
    expect(page.sentIds()).to.deep.equal(ids);
    expect(t.pending).to.equal(0);
  });

  it('uses a keepalive fetch without sendBeacon, and leaves events unmarked when the beacon is refused', async () => {
    const t = createTracker({ url: API, token: 'tok', batchSize: 100 }, page.env({ sendBeacon: undefined }));
    t.track('a');
    page.fire('pagehide');
    await page.settle();
    expect(page.requests).to.have.length(1);
    expect(page.requests[0]!.init).to.deep.include({
      keepalive: true,
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(page.requests[0]!.body.access_token).to.equal('tok');

    const other = new FakePage();
    other.beaconAccepted = false;
    const refused = createTracker({ url: API, token: 'tok', batchSize: 100 }, other.env());
    refused.track('b');
    other.fire('pagehide');
    const stored = JSON.parse([...other.storage.map.values()][0]!);
    expect(stored.beaconAt).to.equal(undefined);
  });

  it('after a reload sends what the earlier page left, once, before any new event', async () => {
    page.answer = () => ({ status: 503, headers: { 'Retry-After': '1' } });
    const before = start();
    const ids = [before.track('a'), before.track('b'), before.track('c'), before.progress(FILM, 9, 99)];
    await page.settle();
    before.stop();
    // The reload: a new tracker on the same storage.
    page.answer = () => ({ status: 202 });
    const after = start();
    expect(after.pending).to.equal(4);
    await page.advance(0);
    expect(after.pending).to.equal(0);
    expect(page.sentIds().slice(3)).to.deep.equal(ids);
    expect(page.storage.map.size).to.equal(0);
  });

  it('keeps at most maxQueued events, dropping the oldest and reporting it', async () => {
    page.answer = () => new TypeError('offline');
    const t = start({ maxQueued: 3, batchSize: 100 });
    const ids = ['a', 'b', 'c', 'd', 'e'].map((e) => t.track(e));
    expect(t.pending).to.equal(3);
    expect(page.storage.map.size).to.equal(3);
    expect(errors.map((e) => e.reason)).to.deep.equal(['queue_full', 'queue_full']);
    page.answer = () => ({ status: 202 });
    await t.flush();
    expect(page.sentIds().slice(-3)).to.deep.equal(ids.slice(2));
  });

  it('flush sends now, and during a backoff resolves after the retry it waits for', async () => {
    const t = start({ batchSize: 100 });
    t.track('a');
    await t.flush();
    expect(t.pending).to.equal(0);
    page.answer = () => ({ status: 429, headers: { 'Retry-After': '5' } });
    t.track('b');
    await t.flush();
    expect(t.pending).to.equal(1);
    page.answer = () => ({ status: 202 });
    let done = false;
    void t.flush().then(() => (done = true));
    await page.advance(4999);
    expect(done).to.equal(false);
    await page.advance(1);
    expect(done).to.equal(true);
    expect(t.pending).to.equal(0);
  });

  it('resumes from the server’s position, or from a newer one still queued, or null', async () => {
    page.answer = (req) =>
      req.url.endsWith(FILM)
        ? {
            status: 200,
            body: {
              film_id: FILM,
              position_sec: 300,
              duration_sec: 5400,
              occurred_at: '2026-03-01T11:00:00.000Z',
              event_id: 'e',
              watched: false,
            },
          }
        : { status: 404, body: { error: { code: 'not_found' } } };
    const t = start({ batchSize: 100 });
    expect(await t.resume(FILM.toUpperCase())).to.deep.equal({
      filmId: FILM,
      positionSec: 300,
      durationSec: 5400,
      occurredAt: '2026-03-01T11:00:00.000Z',
      watched: false,
    });
    expect(page.requests[0]!.url).to.equal(`${API}/api/v1/progress/films/${FILM}`);
    expect(page.requests[0]!.init).to.deep.equal({ method: 'GET', headers: { Authorization: 'Bearer tok' } });
    expect(await t.resume('0b9b5a4e-7d0c-4a5e-9d7f-2f1e3c4b5a69')).to.equal(null);
    page.answer = () => new TypeError('offline');
    t.progress(FILM, 420, 5400);
    page.answer = (req) => (req.url.includes('/films/') ? { status: 404 } : new TypeError('offline'));
    expect(await t.resume(FILM)).to.deep.include({
      positionSec: 420,
      occurredAt: '2026-03-01T12:00:00.000Z',
    });
  });

  it('lists continue watching in the SDK’s names, and throws a TrackerError when the read fails', async () => {
    page.answer = () => ({
      status: 200,
      body: {
        items: [
          {
            film_id: FILM,
            position_sec: 600,
            duration_sec: 6000,
            percent: 10,
            last_watched_at: '2026-03-01T11:59:00.000Z',
          },
        ],
      },
    });
    const t = start();
    expect(await t.continueWatching({ limit: 5 })).to.deep.equal([
      {
        filmId: FILM,
        positionSec: 600,
        durationSec: 6000,
        percent: 10,
        lastWatchedAt: '2026-03-01T11:59:00.000Z',
      },
    ]);
    expect(page.requests[0]!.url).to.equal(`${API}/api/v1/progress?limit=5`);
    page.answer = () => ({ status: 503, body: { error: { code: 'clickhouse_unavailable' } } });
    const err = await t.continueWatching().then(
      () => undefined,
      (e: TrackerError) => e,
    );
    expect(err).to.include({ name: 'TrackerError', reason: 'request' });
    expect(err!.details.status).to.equal(503);
  });

  it('stops its timers and page listeners on stop, leaving the queue stored', async () => {
    const t = start({ batchSize: 100 });
    t.track('a');
    t.stop();
    await page.advance(10_000);
    page.fire('pagehide');
    expect(page.requests).to.have.length(0);
    expect(page.beacons).to.have.length(0);
    expect(page.storage.map.size).to.equal(1);
  });

  it('needs a token or getToken', () => {
    expect(() => createTracker({ url: API }, page.env())).to.throw(TypeError, /token/);
  });
});
