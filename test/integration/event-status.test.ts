import { expect } from 'chai';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID } from '../helpers/ids.js';
import { murmur2 } from '../../api/src/ingest/murmur2.js';
import { testKafka, waitFor, withAdmin } from '../helpers/kafka-helpers.js';
import { testEnv } from '../helpers/test-env.js';

/** GET /api/v1/events/{event_id}/status answers where an event is, for its viewer or an admin. */
describe('event status: where is my event?', function () {
  this.timeout(120_000);
  let h: Harness;
  const admin = () => h.token(randomUUID(), { roles: [h.config.admin.role] });
  const status = async (id: string, token: string) =>
    request(`${h.url}/api/v1/events/${id}/status`, { token });
  const until = (id: string, token: string, wanted: string) =>
    waitFor(
      `status ${wanted} of ${id}`,
      async () => (await status(id, token)).body as { status: string } & Record<string, unknown>,
      (b) => b.status === wanted,
      30_000,
      100,
    );

  before(async () => {
    h = await startHarness({ etl: true });
  });
  after(async () => {
    await h.stop();
  });

  it('answers stored, with its table and lag, for a progress event (derived id) and a user action (client id)', async () => {
    const viewer = randomUUID();
    const token = await h.token(viewer);
    const film = randomUUID();
    const progress = await request(`${h.url}/api/v1/progress/films/${film}`, {
      token,
      body: { position_sec: 60, duration_sec: 600 },
    });
    expect(progress.status).to.equal(202);
    const clientId = randomUUID();
    const action = await request(`${h.url}/api/v1/events`, {
      token,
      body: { event_id: clientId.toUpperCase(), event_type: 'search' },
    });
    expect(action.body.event_id).to.equal(clientId);

    const p = await until(progress.body.event_id as string, token, 'stored');
    expect(p.table).to.equal('progress_events');
    expect(p.lag_ms).to.be.a('number').at.least(0);
    expect(Date.parse(p.stored_at as string)).to.be.closeTo(Date.now(), 60_000);
    // Either case of the id finds it.
    const a = await until(clientId.toUpperCase(), token, 'stored');
    expect(a).to.include({ event_id: clientId, table: 'user_events' });
  });

  it("answers unknown for another viewer's event and for an id never sent; an admin sees any viewer's", async () => {
    const viewer = randomUUID();
    const token = await h.token(viewer);
    const sent = await request(`${h.url}/api/v1/events`, { token, body: { event_type: 'button.press' } });
    const id = sent.body.event_id as string;
    await until(id, token, 'stored');
    const other = await status(id, await h.token());
    expect(other.status).to.equal(200);
    expect(other.body).to.deep.equal({ event_id: id, status: 'unknown' });
    expect((await status(id, await admin())).body).to.include({ status: 'stored', table: 'user_events' });
    const never = randomUUID();
    expect((await status(never, token)).body).to.deep.equal({ event_id: never, status: 'unknown' });
  });

  it('answers 404 in the error shape for a malformed id and 401 without a token', async () => {
    const bad = await status('not-a-uuid', await h.token());
    expect(bad.status).to.equal(404);
    expect(bad.body.error.code).to.equal('not_found');
    // A long id is named, not echoed whole.
    const long = await status('x'.repeat(5000), await h.token());
    expect(long.status).to.equal(404);
    expect(long.body.error.message).to.equal(`no event ${'x'.repeat(64)}… (5000 characters)`);
    expect((await request(`${h.url}/api/v1/events/${randomUUID()}/status`)).status).to.equal(401);
  });

  it('answers dead_lettered with the reason, and the letter is a row of dead_letters', async () => {
    const viewer = randomUUID();
    const id = randomUUID();
    const bad = {
      schema_version: 1,
      event_id: id,
      viewer_id: viewer,
      film_id: randomUUID(),
      position_sec: -5,
      duration_sec: 600,
      occurred_at: new Date().toISOString(),
      received_at: new Date().toISOString(),
    };
    const producer = testKafka(testEnv().brokers).producer();
    await producer.connect();
    await producer.send({
      topic: h.config.topics.progress,
      messages: [{ key: viewer, value: JSON.stringify(bad) }],
    });
    await producer.disconnect();
    const letter = await until(id, await h.token(viewer), 'dead_lettered');
    expect(letter.stage).to.equal('decode');
    expect(letter.reason).to.contain('position_sec');
    const rs = await testEnv().clickhouse.query({
      query: `SELECT toString(viewer_id) AS viewer, source_topic, message_value FROM ${h.config.clickhouse.database}.dead_letters WHERE event_id = {id:UUID}`,
      query_params: { id },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ viewer: string; source_topic: string; message_value: string }>();
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ viewer, source_topic: h.config.topics.progress });
    expect(JSON.parse(rows[0]!.message_value)).to.deep.equal(bad);
  });

  describe('without an ETL running', () => {
    let apiOnly: Harness;
    before(async () => {
      apiOnly = await startHarness();
    });
    after(async () => {
      await apiOnly.stop();
    });

    it('answers accepted with the partition and offset Kafka gave it', async () => {
      const viewer = randomUUID();
      const token = await apiOnly.token(viewer);
      // Another viewer's events before it: the search finds this one among them.
      for (let i = 0; i < 3; i++)
        await request(`${apiOnly.url}/api/v1/events`, {
          token: await apiOnly.token(),
          body: { event_type: 'search' },
        });
      const sent = await request(`${apiOnly.url}/api/v1/events`, { token, body: { event_type: 'search' } });
      const id = sent.body.event_id as string;
      const res = await request(`${apiOnly.url}/api/v1/events/${id}/status`, { token });
      expect(res.status).to.equal(200);
      // Sent last, awaited: the newest message of its viewer's partition.
      const ends = await withAdmin(testEnv().brokers, (a) =>
        a.fetchTopicOffsets(apiOnly.config.topics.events),
      );
      const partition = (murmur2(Buffer.from(viewer)) & 0x7fffffff) % ends.length;
      const high = ends.find((e) => e.partition === partition)!.high;
      expect(res.body).to.deep.equal({
        event_id: id,
        status: 'accepted',
        topic: apiOnly.config.topics.events,
        partition,
        offset: String(Number(high) - 1),
      });
      // Someone else's token does not find it in Kafka either.
      const other = await request(`${apiOnly.url}/api/v1/events/${id}/status`, {
        token: await apiOnly.token(),
      });
      expect(other.body.status).to.equal('unknown');
    });
  });
});
