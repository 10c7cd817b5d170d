import { expect } from 'chai';
import { randomUUID } from '../helpers/ids.js';
import { groupLag, waitFor } from '../helpers/kafka-helpers.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { testEnv } from '../helpers/test-env.js';

async function scalar(sql: string): Promise<number> {
  const rs = await testEnv().clickhouse.query({ query: sql, format: 'JSONEachRow' });
  const rows = await rs.json<Record<string, string | number>>();
  return Number(Object.values(rows[0] ?? { v: 0 })[0]);
}

describe('pipeline: API → Kafka → ETL → ClickHouse (embedded engine)', () => {
  let h: Harness;
  let table: string;
  before(async () => {
    h = await startHarness({ etl: true });
    table = `${h.config.clickhouse.database}.progress_events`;
  });
  after(async () => {
    await h.stop();
  });

  it('makes every accepted event queryable in ClickHouse with its contract fields', async () => {
    const viewer = randomUUID();
    const token = await h.token(viewer);
    const film = randomUUID();
    // Sent in UTC+3; stored in UTC.
    const occurredMs = Date.now() - 3_600_000;
    const local = new Date(occurredMs + 3 * 3_600_000).toISOString().replace('Z', '+03:00');
    const single = await request(`${h.url}/api/v1/progress/films/${film}`, {
      token,
      body: { position_sec: 42, duration_sec: 5400, occurred_at: local },
    });
    expect(single.status).to.equal(202);
    const events = Array.from({ length: 300 }, (_, i) => ({
      film_id: randomUUID(),
      position_sec: i,
      duration_sec: 600,
    }));
    const batch = await request(`${h.url}/api/v1/progress/batch`, { token, body: { events } });
    expect(batch.status).to.equal(202);

    await waitFor(
      'rows in ClickHouse',
      () => scalar(`SELECT count() FROM ${table}`),
      (n) => n >= 301,
      60_000,
    );
    expect(await scalar(`SELECT count() FROM ${table}`)).to.equal(301);
    const rs = await testEnv().clickhouse.query({
      query: `SELECT toString(viewer_id) v, toString(film_id) f, position_sec, duration_sec,
                     toString(occurred_at) o, schema_version FROM ${table} WHERE event_id = {id:UUID}`,
      query_params: { id: single.body.event_id as string },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).to.deep.equal([
      {
        v: viewer,
        f: film,
        position_sec: 42,
        duration_sec: 5400,
        o: new Date(occurredMs).toISOString().replace('T', ' ').slice(0, 23), // DateTime64(3) text
        schema_version: 1,
      },
    ]);
  });

  it('commits offsets only once rows are in ClickHouse: lag drains to zero', async () => {
    const lag = await waitFor(
      'consumer lag 0',
      () => groupLag(testEnv().brokers, h.config.etl.groupId, h.config.topics.progress),
      (n) => n === 0,
    );
    expect(lag).to.equal(0);
    expect(h.etl!.progress.stats.rowsInserted).to.equal(await scalar(`SELECT count() FROM ${table}`));
  });

  it('resumes playback at the latest position by client time, whatever the arrival order', async () => {
    const viewer = randomUUID();
    const token = await h.token(viewer);
    const film = randomUUID();
    const base = Date.now() - 60_000;
    // Sent newest first: an offline buffer flushed after a live event.
    for (const [pos, ms] of [
      [900, base + 30_000],
      [300, base],
      [600, base + 10_000],
    ] as const) {
      const res = await request(`${h.url}/api/v1/progress/films/${film}`, {
        token,
        body: { position_sec: pos, duration_sec: 1000, occurred_at: new Date(ms).toISOString() },
      });
      expect(res.status).to.equal(202);
    }
    const latest = await waitFor(
      'resume position',
      () => request(`${h.url}/api/v1/progress/films/${film}`, { token }),
      (r) => r.status === 200,
    );
    expect(latest.body).to.include({ film_id: film, position_sec: 900, duration_sec: 1000 });
    expect(latest.body.occurred_at).to.equal(new Date(base + 30_000).toISOString());
  });

  it("answers 404 for a film the viewer never watched, and never shows another viewer's position", async () => {
    const film = randomUUID();
    const watcher = await h.token();
    expect(
      (
        await request(`${h.url}/api/v1/progress/films/${film}`, {
          token: watcher,
          body: { position_sec: 5, duration_sec: 10 },
        })
      ).status,
    ).to.equal(202);
    await waitFor(
      'row',
      () => request(`${h.url}/api/v1/progress/films/${film}`, { token: watcher }),
      (r) => r.status === 200,
    );
    const other = await request(`${h.url}/api/v1/progress/films/${film}`, { token: await h.token() });
    expect(other.status).to.equal(404);
    expect(other.body.error.code).to.equal('not_found');
  });

  it('exports metrics with units and route patterns on /metrics', async () => {
    const res = await fetch(`${h.url}/metrics`);
    expect(res.headers.get('content-type')).to.contain('text/plain');
    const text = await res.text();
    const has = (re: RegExp) => expect(text, re.source).to.match(re);
    has(
      /http_request_duration_seconds_count\{.*route="\/api\/v1\/progress\/films\/:film_id".*status="202".*\} [1-9]/,
    );
    has(/http_request_duration_seconds_count\{.*route="\/api\/v1\/progress\/batch".*\} [1-9]/);
    has(/kafka_produce_duration_seconds_count\{.*topic="progress_[0-9a-f]+".*\} [1-9]/);
    has(/kafka_produce_batch_messages_bucket/);
    has(/api_events_accepted_total\{.*\} [1-9]/);
    has(/etl_rows_inserted_total\{.*table="progress_events".*\} [1-9]/);
    has(/etl_insert_duration_seconds_count\{.*table="progress_events".*\} [1-9]/);
    has(/etl_insert_block_rows_bucket/);
    has(/etl_consumer_lag_messages\{.*partition="\d".*\} 0/);
    has(/etl_dedup_window_bytes\{.*\} [1-9]/);
    has(/process_resident_memory_bytes/);
    // Raw ids never become label values.
    expect(text).not.to.match(/route="\/api\/v1\/progress\/films\/[0-9a-f]{8}-/);
  });
});
