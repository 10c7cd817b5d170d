import { expect } from 'chai';
import { ResumeStore } from '../../api/src/progress/resume-store.js';
import type { ProgressMessage } from '../../lib/contracts/progress.js';
import { randomUUID } from '../helpers/ids.js';
import { groupLag, testKafka, waitFor } from '../helpers/kafka-helpers.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { progressMessage } from '../helpers/progress-messages.js';
import { testEnv } from '../helpers/test-env.js';

const at = (base: number, sec: number) => new Date(base + sec * 1000).toISOString();

describe('continue watching and resume (the PostgreSQL read model)', function () {
  this.timeout(120_000);
  let h: Harness;
  /** The viewer whose row the store test moved on by itself: no event in the topic carries it. */
  let storeOnlyViewer = '';
  before(async () => {
    h = await startHarness({ etl: true });
  });
  after(async () => {
    await h.stop();
  });

  const list = async (token: string, query = '') => request(`${h.url}/api/v1/progress${query}`, { token });
  const resume = async (token: string, film: string) =>
    request(`${h.url}/api/v1/progress/films/${film}`, { token });

  /** Messages straight to the topic, as a broker redelivery or a producer retry would put them there. */
  async function produce(messages: ProgressMessage[]): Promise<void> {
    const producer = testKafka(testEnv().brokers).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: h.config.topics.progress,
        acks: -1,
        messages: messages.map((m) => ({ key: m.viewer_id, value: JSON.stringify(m) })),
      });
    } finally {
      await producer.disconnect();
    }
  }

  /** Waits until a projection (this harness's unless named) has applied everything in the topic. */
  async function applied(groupId = h.config.resume.groupId): Promise<void> {
    await waitFor(
      'resume projection caught up',
      () => groupLag(testEnv().brokers, groupId, h.config.topics.progress),
      (lag) => lag === 0,
      60_000,
      100,
    );
  }

  it('lists films from 5% to 90% watched, most recently watched first, and flags watched films', async () => {
    const viewer = randomUUID();
    const token = await h.token(viewer);
    const base = Date.now() - 3_600_000;
    const films = {
      under: randomUUID(), // 4.98%: not started, really
      atMin: randomUUID(), // 5%
      middle: randomUUID(), // 50%
      atMax: randomUUID(), // 90%
      over: randomUUID(), // 90.02%: watched
    };
    const events = [
      { film_id: films.under, position_sec: 269, duration_sec: 5400, occurred_at: at(base, 50) },
      { film_id: films.atMin, position_sec: 270, duration_sec: 5400, occurred_at: at(base, 10) },
      { film_id: films.middle, position_sec: 2700, duration_sec: 5400, occurred_at: at(base, 30) },
      { film_id: films.atMax, position_sec: 4860, duration_sec: 5400, occurred_at: at(base, 20) },
      { film_id: films.over, position_sec: 4861, duration_sec: 5400, occurred_at: at(base, 40) },
    ];
    expect((await request(`${h.url}/api/v1/progress/batch`, { token, body: { events } })).status).to.equal(
      202,
    );
    const res = await waitFor(
      'the list',
      () => list(token),
      (r) => r.status === 200 && r.body.items.length === 3,
    );
    expect(res.body).to.deep.equal({
      items: [
        {
          film_id: films.middle,
          position_sec: 2700,
          duration_sec: 5400,
          percent: 50,
          last_watched_at: at(base, 30),
        },
        {
          film_id: films.atMax,
          position_sec: 4860,
          duration_sec: 5400,
          percent: 90,
          last_watched_at: at(base, 20),
        },
        {
          film_id: films.atMin,
          position_sec: 270,
          duration_sec: 5400,
          percent: 5,
          last_watched_at: at(base, 10),
        },
      ],
    });
    // The single lookup answers for every film, listed or not, and says which count as watched.
    await applied();
    const watched = async (film: string) =>
      ((await resume(token, film)).body as { watched: boolean }).watched;
    expect(await watched(films.over)).to.equal(true);
    expect(await watched(films.atMax)).to.equal(false);
    expect(await watched(films.under)).to.equal(false);
    const over = await resume(token, films.over);
    expect(over.body).to.include({ film_id: films.over, position_sec: 4861, duration_sec: 5400 });
    expect(over.body.occurred_at).to.equal(at(base, 40));
    expect(over.body.event_id).to.match(/^[0-9a-f-]{36}$/);

    // limit: the newest ones; default 20, at most 100.
    const two = await list(token, '?limit=2');
    expect(two.body.items.map((i: { film_id: string }) => i.film_id)).to.deep.equal([
      films.middle,
      films.atMax,
    ]);
    for (const bad of ['0', '101', 'abc', '1.5', '', '2&limit=3']) {
      const r = await list(token, `?limit=${bad}`);
      expect(r.status, `limit=${bad}`).to.equal(400);
      expect(r.body.error.code).to.equal('validation_failed');
      // Each problem names the parameter, as body fields name theirs.
      expect(r.body.error.details.map((d: { path: string }) => d.path)).to.include('limit');
    }
    expect((await list(token, '?limit=100')).body.items).to.have.length(3);
  });

  it('answers 401 without a token and never lists another viewer’s films', async () => {
    const unauthenticated = await request(`${h.url}/api/v1/progress`);
    expect(unauthenticated.status).to.equal(401);
    expect(unauthenticated.body.error.code).to.be.a('string');
    const watcher = randomUUID();
    const film = randomUUID();
    const more = Array.from({ length: 24 }, () =>
      progressMessage({ viewer_id: watcher, position_sec: 1000 }),
    );
    await produce([progressMessage({ viewer_id: watcher, film_id: film, position_sec: 1000 }), ...more]);
    await applied();
    // 25 films in progress: 20 by default.
    expect((await list(await h.token(watcher))).body.items).to.have.length(20);
    const other = await list(await h.token());
    expect(other.status).to.equal(200);
    expect(other.body).to.deep.equal({ items: [] });
    expect((await resume(await h.token(), film)).status).to.equal(404);
  });

  it('stores one row per film when the same event is delivered twice, and an older event never moves it back', async () => {
    const viewer = randomUUID();
    storeOnlyViewer = viewer;
    const film = randomUUID();
    const token = await h.token(viewer);
    const base = Date.now() - 600_000;
    const newer = progressMessage({
      viewer_id: viewer,
      film_id: film,
      position_sec: 900,
      occurred_at: at(base, 60),
    });
    const older = progressMessage({
      viewer_id: viewer,
      film_id: film,
      position_sec: 300,
      occurred_at: at(base, 0),
    });
    // The same message twice (a redelivery), then the older event, in separate batches.
    await produce([newer]);
    await produce([newer]);
    await applied();
    await produce([older]);
    await applied();
    const rows = await h.pool.query(
      'SELECT position_sec, event_id FROM progress_resume WHERE viewer_id = $1',
      [viewer],
    );
    expect(rows.rows).to.deep.equal([{ position_sec: 900, event_id: newer.event_id }]);
    expect((await resume(token, film)).body).to.include({ position_sec: 900, event_id: newer.event_id });

    // The store alone: applying a batch again, or an older event, changes no row.
    const store = new ResumeStore(h.pool, h.config.resume);
    expect(await store.apply([newer, newer])).to.equal(0);
    expect(await store.apply([older])).to.equal(0);
    const newest = { ...newer, event_id: randomUUID(), position_sec: 950, occurred_at: at(base, 61) };
    expect(await store.apply([older, newest, newer])).to.equal(1);
    expect((await store.latest(viewer, film))?.position_sec).to.equal(950);
  });

  it('rebuilds the same read model when a new consumer group replays the whole topic', async () => {
    const before = await h.pool.query('SELECT * FROM progress_resume ORDER BY viewer_id, film_id');
    await h.pool.query('TRUNCATE progress_resume');
    const env = {
      KAFKA_TOPIC_PROGRESS: h.config.topics.progress,
      POSTGRES_URL: h.config.postgres.url,
      RESUME_PROJECTION_ENABLED: 'true',
    };
    // The API process never consumes the topic, whatever the option says: the consumers do.
    const apiOnly = await startHarness({ env });
    try {
      expect(apiOnly.resumeProjection).to.equal(undefined);
    } finally {
      await apiOnly.stop({ keepDatabase: true });
    }
    const replay = await startHarness({ etl: true, env });
    try {
      await applied(replay.config.resume.groupId);
      // What the ResumeProjectionStalled alert reads: every event counted, nothing behind.
      const values = async (name: string) =>
        (await replay.metrics.registry.getSingleMetric(name)!.get()).values;
      await waitFor(
        'the projection reports itself caught up',
        () => values('resume_projection_lag_messages'),
        (lag) => lag.length > 0 && lag.every((v) => v.value === 0),
        10_000,
        50,
      );
      const counted = (await values('resume_projection_events_total')).find(
        (v) => v.labels.result === 'applied',
      );
      expect(counted?.value).to.be.greaterThan(5).and.equal(replay.resumeProjection!.stats.applied);
    } finally {
      await replay.stop({ keepDatabase: true });
    }
    const after = await h.pool.query('SELECT * FROM progress_resume ORDER BY viewer_id, film_id');
    const fromTopic = (rows: { viewer_id: string }[]) => rows.filter((r) => r.viewer_id !== storeOnlyViewer);
    expect(after.rows.length).to.be.greaterThan(5);
    expect(fromTopic(after.rows)).to.deep.equal(fromTopic(before.rows));
  });

  it('answers concurrent lookups and lists from shared statements, each caller with its own rows', async () => {
    const batches: Array<[string, number]> = [];
    const store = new ResumeStore(h.pool, h.config.resume, {
      keys: (statement, keys) => batches.push([statement, keys]),
      wait: () => {},
    });
    const base = Date.now() - 600_000;
    const viewers = Array.from({ length: 20 }, () => randomUUID());
    const films = [randomUUID(), randomUUID(), randomUUID()];
    // Viewer v watched film f to a position of its own; later films more recently.
    const position = (v: number, f: number) => 600 + v * 30 + f * 7;
    const events = viewers.flatMap((viewer, v) =>
      films.map((film, f) =>
        progressMessage({
          viewer_id: viewer,
          film_id: film,
          position_sec: position(v, f),
          occurred_at: at(base, f),
        }),
      ),
    );
    expect(await store.apply(events)).to.equal(events.length);

    // All asked in one turn: the loader sends them together, in one statement per kind and limit.
    const lookups = viewers.flatMap((viewer) =>
      [...films, randomUUID()].map((film) => store.latest(viewer, film)),
    );
    const lists = viewers.map((viewer, v) => store.inProgress(viewer, (v % 3) + 1));
    const [found, listed] = await Promise.all([Promise.all(lookups), Promise.all(lists)]);
    viewers.forEach((_, v) => {
      films.forEach((film, f) => {
        expect(found[v * 4 + f], `viewer ${v} film ${f}`).to.include({
          film_id: film,
          position_sec: position(v, f),
        });
      });
      expect(found[v * 4 + 3], `viewer ${v}, a film never played`).to.equal(null);
      const limit = (v % 3) + 1;
      expect(listed[v]!.map((e) => [e.film_id, e.position_sec])).to.deep.equal(
        [2, 1, 0].slice(0, limit).map((f) => [films[f], position(v, f)]),
      );
    });
    expect(batches).to.deep.include.members([['resume-latest-many', 80]]);
    expect(
      batches
        .filter(([s]) => s === 'resume-in-progress-many')
        .map(([, n]) => n)
        .sort(),
    ).to.deep.equal([6, 7, 7]);
  });
});
