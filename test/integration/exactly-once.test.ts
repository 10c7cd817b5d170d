import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { randomUUID } from '../helpers/ids.js';
import {
  groupLag,
  readAll,
  testKafka,
  topicMessageCount,
  waitFor,
  withAdmin,
} from '../helpers/kafka-helpers.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { ROOT } from '../helpers/processes.js';
import { progressMessage } from '../helpers/progress-messages.js';
import { testEnv } from '../helpers/test-env.js';
import { dedupToken } from '../../etl/src/batch-builder.js';
import { ClickHouseSink } from '../../etl/src/clickhouse-sink.js';
import { streamDecoder } from '../../etl/src/stream-row.js';
import { progressStream } from '../../lib/contracts/progress.js';

const decodeProgress = streamDecoder(progressStream);

const exec = promisify(execFile);

async function count(table: string, where = '1'): Promise<number> {
  const rs = await testEnv().clickhouse.query({
    query: `SELECT count() AS n FROM ${table} WHERE ${where}`,
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: string }>())[0]!.n);
}

async function distinctIds(table: string, where: string): Promise<number> {
  const rs = await testEnv().clickhouse.query({
    query: `SELECT uniqExact(event_id) AS n FROM ${table} WHERE ${where}`,
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: string }>())[0]!.n);
}

async function drained(h: Harness): Promise<void> {
  await waitFor(
    'lag 0',
    () => groupLag(testEnv().brokers, h.config.etl.groupId, h.config.topics.progress),
    (n) => n === 0,
  );
}

async function produceRaw(topic: string, messages: { key: string; value: string }[]): Promise<void> {
  const producer = testKafka(testEnv().brokers).producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
}

describe('exactly once into ClickHouse', () => {
  let a: Harness; // api + etl
  let b: Harness; // a second API instance on the same topic
  let table: string;
  before(async () => {
    a = await startHarness({ etl: true });
    b = await startHarness({
      env: {
        KAFKA_TOPIC_PROGRESS: a.config.topics.progress,
        CLICKHOUSE_DATABASE: a.config.clickhouse.database,
        JWT_SECRET: a.secret,
      },
    });
    table = `${a.config.clickhouse.database}.progress_events`;
  });
  after(async () => {
    await b.stop();
    await a.stop();
  });

  it('stores a client retry once, even when the copy arrives through another API instance', async () => {
    const viewer = randomUUID();
    const token = await a.token(viewer);
    const film = randomUUID();
    const eventId = randomUUID();
    const body = { position_sec: 100, duration_sec: 200, event_id: eventId };
    const first = await request(`${a.url}/api/v1/progress/films/${film}`, { token, body });
    const retry = await request(`${b.url}/api/v1/progress/films/${film}`, { token, body });
    const again = await request(`${a.url}/api/v1/progress/batch`, {
      token,
      body: { events: [{ film_id: film, ...body }] },
    });
    // The client cannot tell a duplicate from a first send.
    expect([first.status, retry.status, again.status]).to.deep.equal([202, 202, 202]);
    expect(first.body).to.deep.equal(retry.body);
    expect(again.body.event_ids).to.deep.equal([eventId]);
    await drained(a);
    expect(await count(table, `event_id = '${eventId}'`)).to.equal(1);
  });

  it('stores an event without client id once when an older app retries it', async () => {
    const token = await a.token();
    const film = randomUUID();
    const body = {
      position_sec: 30,
      duration_sec: 200,
      occurred_at: new Date(Date.now() - 5000).toISOString(),
    };
    const ids = [];
    for (const h of [a, b, a])
      ids.push((await request(`${h.url}/api/v1/progress/films/${film}`, { token, body })).body.event_id);
    expect(new Set(ids).size).to.equal(1);
    await drained(a);
    expect(await count(table, `film_id = '${film}'`)).to.equal(1);
  });

  it('drops a replay of stored offsets (commits lost) using the window rebuilt from ClickHouse', async () => {
    const before = await count(table);
    const messages = Array.from({ length: 400 }, () => progressMessage());
    await produceRaw(
      a.config.topics.progress,
      messages.map((m) => ({ key: m.viewer_id, value: JSON.stringify(m) })),
    );
    await drained(a);
    expect(await count(table)).to.equal(before + 400);
    // A second ETL with another group: it reads the whole topic again from offset 0, as
    // if every commit had been lost. Its windows come from ClickHouse, so nothing lands twice.
    const replay = await startHarness({
      etl: true,
      env: {
        KAFKA_TOPIC_PROGRESS: a.config.topics.progress,
        CLICKHOUSE_DATABASE: a.config.clickhouse.database,
      },
    });
    try {
      await drained(replay);
      const total = await count(table);
      expect(total).to.equal(before + 400);
      expect(replay.etl!.progress.stats.rowsInserted).to.equal(0);
      // Every message in the topic was a duplicate on replay, retried copies included.
      const inTopic = await topicMessageCount(testEnv().brokers, a.config.topics.progress);
      expect(inTopic).to.be.greaterThan(total);
      expect(replay.etl!.progress.stats.duplicatesDropped).to.equal(inTopic);
    } finally {
      await replay.stop();
    }
  });
});

describe('dead letters', () => {
  let h: Harness;
  let table: string;
  before(async () => {
    h = await startHarness({ etl: true, env: { ETL_RETRY_INITIAL_MS: '20' } });
    table = `${h.config.clickhouse.database}.progress_events`;
  });
  after(async () => {
    await h.stop();
  });

  it('sends undecodable and off-contract messages to the DLQ with reason and source, and keeps going', async () => {
    const viewer = randomUUID();
    const good = [progressMessage({ viewer_id: viewer }), progressMessage({ viewer_id: viewer })];
    await produceRaw(h.config.topics.progress, [
      { key: viewer, value: JSON.stringify(good[0]) },
      { key: viewer, value: '{"not": json' },
      { key: viewer, value: JSON.stringify({ ...good[1], position_sec: -3 }) },
      { key: viewer, value: JSON.stringify(good[1]) },
    ]);
    await drained(h);
    expect(await count(table, `viewer_id = '${viewer}'`)).to.equal(2);
    const letters = await readAll(testEnv().brokers, h.config.topics.deadLetters);
    expect(letters).to.have.length(2);
    expect(letters.map((l) => l.value)).to.deep.equal([
      '{"not": json',
      JSON.stringify({ ...good[1], position_sec: -3 }),
    ]);
    expect(letters.every((l) => l.key === viewer)).to.equal(true);
  });

  it('isolates a row ClickHouse rejects by bisecting its block; the rest of the block is stored', async () => {
    await testEnv().clickhouse.command({
      query: `ALTER TABLE ${table} ADD CONSTRAINT no_13 CHECK position_sec != 13`,
    });
    const viewer = randomUUID();
    const rows = Array.from({ length: 100 }, (_, i) =>
      progressMessage({ viewer_id: viewer, position_sec: i }),
    );
    await produceRaw(
      h.config.topics.progress,
      rows.map((m) => ({ key: viewer, value: JSON.stringify(m) })),
    );
    await drained(h);
    expect(await count(table, `viewer_id = '${viewer}'`)).to.equal(99);
    expect(await count(table, `viewer_id = '${viewer}' AND position_sec = 13`)).to.equal(0);
    expect(h.etl!.progress.stats.deadLettered).to.equal(3); // 2 from the previous test + this one
  });

  it('lists dead letters and replays them after the fix (npm run dlq)', async () => {
    const env = {
      ...process.env,
      KAFKA_BROKERS: testEnv().brokers.join(','),
      KAFKA_TOPIC_DLQ: h.config.topics.deadLetters,
      // Replay republishes only to these (the topics the ETL consumes).
      KAFKA_TOPIC_PROGRESS: h.config.topics.progress,
      KAFKA_TOPIC_EVENTS: h.config.topics.events,
      KAFKA_TOPIC_EXPOSURES: h.config.topics.exposures,
    };
    const list = await exec('npm', ['run', '-s', 'dlq', '--', 'list'], { cwd: ROOT, env });
    const lines = list.stdout.trim().split('\n');
    expect(lines).to.have.length(3);
    expect(lines[0]).to.match(/ decode .+\/\d+@\d+ value is not JSON \| \{"not": json$/);
    expect(lines[1]).to.match(/ decode .+ schema mismatch at position_sec/);
    expect(lines[2]).to.match(/ insert .+Constraint `no_13`.+ is violated/);

    // A letter whose header names a topic the ETL does not consume: refused, not published.
    const elsewhere = `${h.config.topics.deadLetters}-elsewhere`;
    const producer = testKafka(testEnv().brokers).producer();
    await producer.connect();
    await producer.send({
      topic: h.config.topics.deadLetters,
      acks: -1,
      messages: [
        { key: 'k', value: 'v', headers: { 'x-dlq-source-topic': elsewhere, 'x-dlq-stage': 'decode' } },
      ],
    });
    await producer.disconnect();

    await testEnv().clickhouse.command({ query: `ALTER TABLE ${table} DROP CONSTRAINT no_13` });
    const replay = await exec('npm', ['run', '-s', 'dlq', '--', 'replay'], { cwd: ROOT, env });
    expect(replay.stderr).to.contain('replayed 3 dead letter(s), skipped 0 (no source topic), refused 1');
    expect(replay.stderr).to.contain(`refused 1 naming topic "${elsewhere}"`);
    const topics = await withAdmin(testEnv().brokers, (admin) => admin.listTopics());
    expect(topics).not.to.include(elsewhere);
    await drained(h);
    // The fixed row is stored now; the two undecodable ones are dead-lettered again.
    expect(await count(table, 'position_sec = 13')).to.equal(1);
    // 3 replayed + the refused one + the 2 undecodable ones dead-lettered again.
    expect((await readAll(testEnv().brokers, h.config.topics.deadLetters)).length).to.equal(6);
    const second = await exec('npm', ['run', '-s', 'dlq', '--', 'replay'], { cwd: ROOT, env });
    expect(second.stderr, 'the cursor moved: only the two new letters').to.contain(
      'replayed 2 dead letter(s), skipped 0 (no source topic), refused 0',
    );
  });
});

describe('ETL restart over a dedup token left without its rows', () => {
  it('stores a block whose token an earlier (killed) process had logged without committing its part', async () => {
    // ClickHouse logs a block's insert_deduplication_token before it commits the part; a
    // process killed in between leaves the token without the rows. Here that state is made
    // on purpose: the token of the first block a fresh ETL will build is logged with one
    // of its rows only, as an insert through the ETL's own sink.
    const seed = await startHarness();
    const topic = seed.config.topics.progress;
    const table = `${seed.config.clickhouse.database}.progress_events`;
    const viewer = randomUUID();
    const messages = Array.from({ length: 20 }, () => progressMessage({ viewer_id: viewer }));
    const etl = await (async () => {
      try {
        await produceRaw(
          topic,
          messages.map((m) => ({ key: viewer, value: JSON.stringify(m) })),
        );
        const admin = testKafka(testEnv().brokers).admin();
        await admin.connect();
        const offsets = await admin.fetchTopicOffsets(topic);
        await admin.disconnect();
        const partition = offsets.find((o) => o.high === '20')!.partition;
        const first = decodeProgress(Buffer.from(JSON.stringify(messages[0])), partition, '0');
        if (!first.ok) throw new Error('the seeded message must decode');
        const sink = new ClickHouseSink(testEnv().clickhouse, {
          table,
          useDedupToken: true,
          distributedSync: false,
        });
        await sink.insert([first.row], dedupToken(topic, partition, '0', '19'));
        expect(await count(table, `viewer_id = '${viewer}'`)).to.equal(1);
        return await startHarness({
          etl: true,
          env: { KAFKA_TOPIC_PROGRESS: topic, CLICKHOUSE_DATABASE: seed.config.clickhouse.database },
        });
      } finally {
        await seed.stop();
      }
    })();
    try {
      await drained(etl);
      // Without the check, the block (same range, same token) is dropped as a duplicate
      // and its offsets committed: 19 events lost.
      expect(await count(table, `viewer_id = '${viewer}'`)).to.equal(20);
      expect(await distinctIds(table, `viewer_id = '${viewer}'`)).to.equal(20);
      expect(etl.logs.some((l) => l.msg === 'etl_dedup_token_without_rows')).to.equal(true);
    } finally {
      await etl.stop();
    }
  });
});
