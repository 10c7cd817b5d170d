import { expect } from 'chai';
import { randomUUID } from '../helpers/ids.js';
import { groupLag, topicMessageCount, waitFor } from '../helpers/kafka-helpers.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { testEnv } from '../helpers/test-env.js';

describe('user-action events', () => {
  let h: Harness;
  let table: string;
  before(async () => {
    h = await startHarness({ etl: true });
    table = `${h.config.clickhouse.database}.user_events`;
  });
  after(async () => {
    await h.stop();
  });

  const rows = async (where: string) => {
    await waitFor(
      'events lag 0',
      () => groupLag(testEnv().brokers, h.config.etl.eventsGroupId, h.config.topics.events),
      (n) => n === 0,
    );
    const rs = await testEnv().clickhouse.query({
      query: `SELECT toString(event_id) id, event_type, properties FROM ${table} WHERE ${where} ORDER BY occurred_at`,
      format: 'JSONEachRow',
    });
    return rs.json<{ id: string; event_type: string; properties: string }>();
  };

  it('stores a single event and a batch with their properties', async () => {
    const viewer = randomUUID();
    const token = await h.token(viewer);
    const one = await request(`${h.url}/api/v1/events`, {
      token,
      body: { event_type: 'search', properties: { query: 'the matrix', filters: { year: [1999] } } },
    });
    expect(one.status).to.equal(202);
    const batch = await request(`${h.url}/api/v1/events/batch`, {
      token,
      body: {
        events: [
          {
            event_type: 'player.pause',
            occurred_at: new Date(Date.now() - 2000).toISOString(),
            properties: { position_sec: 10 },
          },
          { event_type: 'button.press', occurred_at: new Date(Date.now() - 1000).toISOString() },
        ],
      },
    });
    expect(batch.status).to.equal(202);
    expect(batch.body.accepted).to.equal(2);
    const stored = await rows(`viewer_id = '${viewer}'`);
    expect(stored.map((r) => r.event_type).sort()).to.deep.equal(['button.press', 'player.pause', 'search']);
    const search = stored.find((r) => r.event_type === 'search')!;
    expect(search.id).to.equal(one.body.event_id);
    expect(JSON.parse(search.properties)).to.deep.equal({ query: 'the matrix', filters: { year: [1999] } });
  });

  it('answers a duplicate exactly like the first send and stores it once', async () => {
    const viewer = randomUUID();
    const token = await h.token(viewer);
    const withId = { event_type: 'button.press', event_id: randomUUID(), properties: { button: 'play' } };
    const withoutId = {
      event_type: 'search',
      occurred_at: new Date(Date.now() - 3000).toISOString(),
      properties: { q: 'x', page: 1 },
    };
    const sameWithoutId = { ...withoutId, properties: { page: 1, q: 'x' } }; // key order differs: same event
    const answers = [];
    for (const body of [withId, withId, withoutId, sameWithoutId])
      answers.push(await request(`${h.url}/api/v1/events`, { token, body }));
    expect(answers.map((a) => a.status)).to.deep.equal([202, 202, 202, 202]);
    expect(answers[0]!.body).to.deep.equal(answers[1]!.body);
    expect(answers[2]!.body).to.deep.equal(answers[3]!.body);
    expect(await rows(`viewer_id = '${viewer}'`)).to.have.length(2);
  });

  describe('bad input never reaches Kafka', () => {
    const cases: [string, unknown, string][] = [
      ['a missing event_type', { properties: {} }, 'event_type'],
      ['an event_type with spaces', { event_type: 'Button Press' }, 'event_type'],
      ['properties that are not an object', { event_type: 'a', properties: [1, 2] }, 'properties'],
      [
        'properties nested too deep',
        { event_type: 'a', properties: { a: { b: { c: { d: { e: { f: 1 } } } } } } },
        'properties',
      ],
      [
        'properties with too many keys',
        {
          event_type: 'a',
          properties: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i])),
        },
        'properties',
      ],
      ['properties too large', { event_type: 'a', properties: { blob: 'x'.repeat(9000) } }, 'properties'],
      ['an unknown field', { event_type: 'a', viewer_id: randomUUID() }, ''],
      ['a non-UUID event_id', { event_type: 'a', event_id: 'abc' }, 'event_id'],
    ];
    for (const [name, body, field] of cases) {
      it(`answers 400 for ${name}`, async () => {
        const res = await request(`${h.url}/api/v1/events`, { token: await h.token(), body });
        expect(res.status, JSON.stringify(res.body)).to.equal(400);
        expect(res.body.error.code).to.equal('validation_failed');
        expect(res.body.error.details.map((d: { path: string }) => d.path)).to.include(field);
      });
    }
    it('rejects a whole batch when one item is bad, naming its path', async () => {
      const res = await request(`${h.url}/api/v1/events/batch`, {
        token: await h.token(),
        body: { events: [{ event_type: 'ok' }, { event_type: 'ok', properties: 'nope' }] },
      });
      expect(res.status).to.equal(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).to.include('events[1].properties');
    });
    it('rejects a batch that gives one event_id to two different events (only one could be stored)', async () => {
      const id = randomUUID();
      const res = await request(`${h.url}/api/v1/events/batch`, {
        token: await h.token(),
        body: {
          events: [
            { event_type: 'a', event_id: id },
            { event_type: 'b', event_id: id },
          ],
        },
      });
      expect(res.status).to.equal(400);
      expect(res.body.error.details).to.deep.equal([
        {
          path: 'events[1].event_id',
          code: 'custom',
          message: 'the event_id of events[0], with other content: an event_id names one event',
        },
      ]);
    });
    it('and the topic holds only the accepted events', async () => {
      // 1 + 2 from the first test, 4 copies from the second: 7 accepted requests' events.
      expect(await topicMessageCount(testEnv().brokers, h.config.topics.events)).to.equal(7);
    });
  });
});
