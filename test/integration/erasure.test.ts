import { expect } from 'chai';
import { viewerCondition } from '../../api/src/erasure/clickhouse-eraser.js';
import { ANONYMOUS, type ErasureJob } from '../../api/src/erasure/erasure-store.js';
import { readDeadLetters } from '../../etl/src/dead-letter-reader.js';
import { buildEtl } from '../../etl/src/build-etl.js';
import { toProgressMessage } from '../../lib/contracts/progress.js';
import { viewerTables } from '../../lib/contracts/tables.js';
import { UserStore } from '../../api/src/segments/user-store.js';
import { createKafka, kafkaClientOptions } from '../../lib/kafka/client.js';
import { stopEach } from '../../lib/lifecycle.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics } from '../../lib/metrics/registry.js';
import { adminToken } from '../helpers/experiments.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { groupLag, testKafka, waitFor } from '../helpers/kafka-helpers.js';
import { testEnv } from '../helpers/test-env.js';

type Counts = Record<string, number>;
const TABLES = viewerTables();

/**
 * Erasure end to end: ingest for several viewers, erase one, and their rows are gone from
 * every ClickHouse table the stream definitions name and from PostgreSQL; re-consuming the
 * topics from the start, replaying the dead letters and late sends bring nothing back; the
 * other viewers' rows are exactly as before.
 */
describe('erasure of a viewer', function () {
  this.timeout(240_000);
  let h: Harness;
  let admin: string;
  let segment: string;

  before(async () => {
    h = await startHarness({
      etl: true,
      env: {
        DEV_ROUTES: 'true',
        ERASURE_LIST_REFRESH_MS: '200',
        ERASURE_SETTLE_MS: '1500',
        ERASURE_POLL_MS: '100',
        ERASURE_BACKLOG_POLL_MS: '1000',
      },
    });
    admin = await adminToken(h);
    segment = `ERASE_${randomUUID().slice(0, 6).toUpperCase()}`;
    expect(
      (await request(`${h.url}/api/v1/segments`, { token: admin, body: { slug: segment } })).status,
    ).to.equal(201);
  });
  after(async () => {
    await h.stop();
  });

  const clickhouseCount = async (table: string, viewer: string): Promise<number> => {
    const t = TABLES.find((x) => x.table === table)!;
    const rs = await testEnv().clickhouse.query({
      query: `SELECT count() AS n FROM ${h.config.clickhouse.database}.${table} WHERE ${viewerCondition(t)}`,
      query_params: { viewer },
      format: 'JSONEachRow',
    });
    return Number((await rs.json<{ n: string }>())[0]!.n);
  };
  /** The erasure backlog as the API's /metrics shows it. */
  const backlog = async () => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
    return { open: value('erasure_jobs_open'), oldestSeconds: value('erasure_oldest_open_seconds') };
  };
  const pgCount = async (sql: string, viewer: string) =>
    Number((await h.pool.query<{ n: string }>(sql, [viewer])).rows[0]!.n);
  const counts = async (viewer: string): Promise<Counts> => {
    const out: Counts = {};
    for (const t of TABLES) out[t.table] = await clickhouseCount(t.table, viewer);
    out['pg.users'] = await pgCount('SELECT count(*) AS n FROM users WHERE id = $1', viewer);
    out['pg.user_segments'] = await pgCount(
      'SELECT count(*) AS n FROM user_segments WHERE user_id = $1',
      viewer,
    );
    out['pg.segment_history'] = await pgCount(
      'SELECT count(*) AS n FROM segment_history WHERE user_id = $1',
      viewer,
    );
    out['pg.progress_resume'] = await pgCount(
      'SELECT count(*) AS n FROM progress_resume WHERE viewer_id = $1',
      viewer,
    );
    return out;
  };
  const produce = async (topic: string, messages: { key: string; value: string }[]) => {
    const producer = testKafka(testEnv().brokers).producer();
    await producer.connect();
    await producer.send({ topic, messages });
    await producer.disconnect();
  };
  const caughtUp = async (groups: { groupId: string; topic: string }[]) => {
    for (const g of groups)
      await waitFor(
        `${g.groupId} caught up`,
        () => groupLag(testEnv().brokers, g.groupId, g.topic),
        (n) => n === 0,
        90_000,
      );
  };
  const mainGroups = () => [
    { groupId: h.config.etl.groupId, topic: h.config.topics.progress },
    { groupId: h.config.etl.eventsGroupId, topic: h.config.topics.events },
    { groupId: h.config.etl.exposuresGroupId, topic: h.config.topics.exposures },
    { groupId: h.config.resume.groupId, topic: h.config.topics.progress },
  ];

  /** Everything a viewer leaves: a user in a segment, progress, actions, an exposure, a dead letter. */
  async function ingest(viewer: string): Promise<void> {
    expect(
      (await request(`${h.url}/api/v1/dev/users`, { token: admin, body: { user_id: viewer } })).status,
    ).to.equal(201);
    const joined = await request(`${h.url}/api/v1/users/${viewer}/segments`, {
      token: admin,
      body: { add: [segment] },
    });
    expect(joined.status).to.equal(200);
    const token = await h.token(viewer);
    const films = [randomUUID(), randomUUID()];
    const progress = await request(`${h.url}/api/v1/progress/batch`, {
      token,
      body: { events: films.map((film_id) => ({ film_id, position_sec: 100, duration_sec: 1000 })) },
    });
    expect(progress.status).to.equal(202);
    const actions = await request(`${h.url}/api/v1/events/batch`, {
      token,
      body: { events: [{ event_type: 'search' }, { event_type: 'player.pause' }] },
    });
    expect(actions.status).to.equal(202);
    const now = new Date().toISOString();
    await produce(h.config.topics.exposures, [
      {
        key: `dev-${viewer.slice(0, 8)}`,
        value: JSON.stringify({
          schema_version: 1,
          event_id: randomUUID(),
          device_id: `dev-${viewer.slice(0, 8)}`,
          viewer_id: viewer,
          experiment: 'price',
          option_index: 0,
          value: '1',
          received_at: now,
        }),
      },
    ]);
    // Not a valid event (negative position): a dead letter.
    await produce(h.config.topics.progress, [
      {
        key: viewer,
        value: JSON.stringify({
          schema_version: 1,
          event_id: randomUUID(),
          viewer_id: viewer,
          film_id: randomUUID(),
          position_sec: -1,
          duration_sec: 10,
          occurred_at: now,
          received_at: now,
        }),
      },
    ]);
  }

  const expected: Counts = {
    progress_events: 2,
    progress_latest: 2,
    progress_daily: 2,
    user_events: 2,
    experiment_exposures: 1,
    dead_letters: 1,
    'pg.users': 1,
    'pg.user_segments': 1,
    'pg.segment_history': 1,
    'pg.progress_resume': 2,
  };
  const none: Counts = Object.fromEntries(Object.keys(expected).map((k) => [k, 0]));

  const erase = async (viewer: string) => {
    const res = await request(`${h.url}/api/v1/admin/erasures`, {
      token: admin,
      body: { viewer_id: viewer },
    });
    expect(res.status).to.equal(202);
    expect(res.headers.get('location')).to.equal(`/api/v1/admin/erasures/${res.body.id}`);
    return res.body as ErasureJob;
  };
  const done = (id: string) =>
    waitFor(
      `erasure ${id} done`,
      async () => (await request(`${h.url}/api/v1/admin/erasures/${id}`, { token: admin })).body,
      (b: ErasureJob) => b.state === 'done',
      60_000,
      100,
    );

  it('removes the viewer everywhere, keeps them out through replays and late sends, and leaves others as they were', async () => {
    const [target, ...others] = [randomUUID(), randomUUID(), randomUUID()] as [string, ...string[]];
    for (const v of [target, ...others]) await ingest(v);
    await caughtUp(mainGroups());
    await waitFor(
      'every row stored',
      () => counts(target),
      (c) => JSON.stringify(c) === JSON.stringify(expected),
    );
    // Every table the definitions name is covered by this test.
    expect(TABLES.map((t) => t.table).sort()).to.deep.equal(
      Object.keys(expected)
        .filter((k) => !k.startsWith('pg.'))
        .sort(),
    );
    const before = new Map<string, Counts>();
    for (const v of others) before.set(v, await counts(v));

    const job = await erase(target);
    expect(job.state).to.be.oneOf(['pending', 'running']);
    expect((await erase(target.toUpperCase())).id, 'asking again answers the same job').to.equal(job.id);
    const finished = await done(job.id);
    expect(finished.removed).to.deep.equal({
      clickhouse: {
        progress_events: 2,
        progress_latest: 2,
        progress_daily: 2,
        user_events: 2,
        experiment_exposures: 1,
        dead_letters: 1,
      },
      postgres: { users: 1, user_segments: 1, segment_optouts: 0, segment_history: 1, progress_resume: 2 },
    });
    expect(await counts(target)).to.deep.equal(none);
    const anonymous = await pgCount(
      'SELECT count(*) AS n FROM segment_history WHERE user_id = $1',
      ANONYMOUS,
    );
    expect(anonymous, 'the history keeps its rows, anonymised').to.equal(1);

    // The topics consumed again from the earliest offset, by a new ETL (its own groups).
    const config = {
      ...h.config,
      etl: {
        ...h.config.etl,
        groupId: uniqueName('etl_again'),
        eventsGroupId: uniqueName('etl_events_again'),
        exposuresGroupId: uniqueName('etl_exposures_again'),
      },
    };
    const log = createLogger({ level: 'silent', pretty: false, name: 'etl-again' });
    const again = buildEtl(config, {
      kafka: createKafka(kafkaClientOptions(config, 'etl-again'), log),
      clickhouse: testEnv().clickhouse,
      log,
      metrics: createMetrics(),
    });
    for (const s of again.services) await s.start();
    try {
      // The dead letters replayed to their source topic, as `npm run dlq -- replay` does.
      const letters: { key: string; value: string }[] = [];
      await readDeadLetters(
        createKafka(kafkaClientOptions(config, 'dlq'), log),
        h.config.topics.deadLetters,
        uniqueName('replay'),
        (batch) => {
          for (const l of batch) letters.push({ key: l.key!.toString(), value: l.value!.toString() });
          return Promise.resolve();
        },
      );
      expect(letters.length).to.be.at.least(3);
      await produce(h.config.topics.progress, letters);
      // Sent late by an offline app: refused by the API, which knows of the erasure...
      const token = await h.token(target);
      const late = await request(`${h.url}/api/v1/progress/films/${randomUUID()}`, {
        token,
        body: { position_sec: 5, duration_sec: 50 },
      });
      expect([late.status, late.body.error.code]).to.deep.equal([403, 'viewer_erased']);
      const lateBatch = await request(`${h.url}/api/v1/events/batch`, {
        token,
        body: { events: [{ event_type: 'search' }] },
      });
      expect([lateBatch.status, lateBatch.body.error.code]).to.deep.equal([403, 'viewer_erased']);
      // ...and, through a replica that had not read it yet, accepted but never stored.
      const unaware = toProgressMessage(
        { film_id: randomUUID(), position_sec: 5, duration_sec: 50 },
        target,
        Date.now(),
      );
      await produce(h.config.topics.progress, [{ key: target, value: JSON.stringify(unaware) }]);
      await caughtUp([
        ...mainGroups(),
        { groupId: config.etl.groupId, topic: config.topics.progress },
        { groupId: config.etl.eventsGroupId, topic: config.topics.events },
        { groupId: config.etl.exposuresGroupId, topic: config.topics.exposures },
      ]);
    } finally {
      await stopEach([...again.services].reverse(), 30_000);
    }
    // The users topic replaying the user's creation does not bring them back either.
    expect(await new UserStore(h.pool).apply({ user_id: target, version: 1e12, op: 'created' })).to.equal(
      'stale',
    );
    expect(await counts(target)).to.deep.equal(none);
    for (const v of others) {
      // A letter still bad is lettered again each time it is read (re-consumed, replayed).
      const { dead_letters: letters, ...rest } = await counts(v);
      const { dead_letters: lettersBefore, ...restBefore } = before.get(v)!;
      expect(rest, v).to.deep.equal(restBefore);
      expect(letters).to.be.at.least(lettersBefore!);
    }
    const dropped = (await h.metrics.registry.getSingleMetric('etl_erased_events_dropped_total')!.get())
      .values;
    // The main ETL: the replayed letter and the late event at least.
    expect(dropped.reduce((n, v) => n + v.value, 0)).to.be.at.least(2);

    // The audit log says who asked, when and what was removed, and never names the viewer.
    const audit = await h.pool.query<{ actor: string; action: string; detail: unknown }>(
      'SELECT actor, action, detail FROM erasure_audit WHERE erasure_id = $1 ORDER BY id',
      [job.id],
    );
    expect(audit.rows.map((r) => r.action)).to.deep.equal(['requested', 'requested_again', 'completed']);
    expect(audit.rows[2]!.detail).to.deep.equal(finished.removed);
    expect(JSON.stringify(audit.rows).toLowerCase()).not.to.contain(target);
  });

  it('refuses the new events of a viewer erased through another API process once it has read the erasure', async () => {
    const viewer = randomUUID();
    const token = await h.token(viewer);
    const send = () =>
      request(`${h.url}/api/v1/events`, { token, body: { event_type: 'search' } }).then((r) => r.status);
    expect(await send()).to.equal(202);
    // As another replica takes the request: a row in PostgreSQL, nothing said to this process.
    await h.pool.query('INSERT INTO erasures (viewer_id) VALUES ($1)', [viewer]);
    await waitFor('the erasure read by this process', send, (status) => status === 403, 30_000, 250);
  });

  it('is finished by the next runner when the one running it stops half way', async () => {
    const viewer = randomUUID();
    await ingest(viewer);
    await caughtUp(mainGroups());
    await waitFor(
      'every row stored',
      () => counts(viewer),
      (c) => JSON.stringify(c) === JSON.stringify(expected),
    );
    const job = await erase(viewer);
    const last = TABLES.at(-1)!.table;
    // Between the two delete passes (the settle wait): the process stops.
    await waitFor(
      'the first delete pass',
      async () =>
        (
          await h.pool.query<{ steps_done: string[] }>('SELECT steps_done FROM erasures WHERE id = $1', [
            job.id,
          ])
        ).rows[0]!.steps_done,
      (steps) => steps.includes(`delete:1:${last}`),
      60_000,
      20,
    );
    await h.api.erasures!.stop();
    const left = (await request(`${h.url}/api/v1/admin/erasures/${job.id}`, { token: admin })).body;
    expect(left.state).to.equal('running');
    // What ErasureOverdue reads: the open job, its age growing while nothing runs it.
    const open = await waitFor(
      'the open job in the metrics',
      backlog,
      (b) => b.open === 1 && b.oldestSeconds > 0,
    );
    await new Promise((r) => setTimeout(r, 1100));
    expect((await backlog()).oldestSeconds).to.be.greaterThan(open.oldestSeconds + 1);
    await h.api.erasures!.start();
    const finished = await done(job.id);
    await waitFor('no open job in the metrics', backlog, (b) => b.open === 0 && b.oldestSeconds === 0);
    expect(finished.removed.clickhouse).to.deep.equal({
      progress_events: 2,
      progress_latest: 2,
      progress_daily: 2,
      user_events: 2,
      experiment_exposures: 1,
      dead_letters: 1,
    });
    expect(await counts(viewer)).to.deep.equal(none);
    // Asked again once done: the same job runs again (every step is safe to repeat).
    const again = await erase(viewer);
    expect(again).to.include({ id: job.id, state: 'pending' });
    // A new run, requested now: an overdue alert counts its age from here.
    expect(Date.parse(again.requested_at)).to.be.greaterThan(Date.parse(finished.finished_at!));
    expect((await done(job.id)).removed).to.deep.equal(finished.removed);
  });

  it('answers 400 in the error shape for a bad viewer id and 404 for an unknown job', async () => {
    const bad = await request(`${h.url}/api/v1/admin/erasures`, { token: admin, body: { viewer_id: 'me' } });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal('validation_failed');
    const nil = await request(`${h.url}/api/v1/admin/erasures`, {
      token: admin,
      body: { viewer_id: '00000000-0000-0000-0000-000000000000' },
    });
    expect(nil.status).to.equal(400);
    expect(nil.body.error.details[0]).to.include({
      path: 'viewer_id',
      message: 'must not be the nil or max UUID',
    });
    const unknown = await request(`${h.url}/api/v1/admin/erasures/${randomUUID()}`, { token: admin });
    expect(unknown.status).to.equal(404);
  });
});
