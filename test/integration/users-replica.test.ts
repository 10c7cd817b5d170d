import { expect } from 'chai';
import { checkJsonText } from '../../api/src/http/json-text.js';
import type { Producer } from 'kafkajs';
import { DLQ_HEADERS } from '../../lib/kafka/dead-letters.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { adminToken } from '../helpers/experiments.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { groupLag, testKafka, waitFor } from '../helpers/kafka-helpers.js';
import { harnessBehindPostgresProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { testEnv } from '../helpers/test-env.js';

type Op = 'created' | 'updated' | 'deleted';
const change = (user_id: string, version: number, op: Op) => ({
  key: user_id,
  value: JSON.stringify({ schema_version: 1, user_id, version, op }),
});

async function withProducer<T>(fn: (p: Producer) => Promise<T>): Promise<T> {
  const producer = testKafka(testEnv().brokers).producer();
  await producer.connect();
  try {
    return await fn(producer);
  } finally {
    await producer.disconnect();
  }
}

const caughtUp = (h: Harness) =>
  waitFor(
    'the users replica to catch up',
    () => groupLag(testEnv().brokers, h.config.usersReplica.groupId, h.config.topics.users),
    (lag) => lag === 0,
    90_000,
  );

describe('users replica (users topic → PostgreSQL)', function () {
  this.timeout(180_000);
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await startHarness({ env: { USERS_REPLICA_ENABLED: 'true' } });
    admin = await adminToken(h);
  });
  after(async () => {
    await h.stop();
  });

  it('builds the users table from created/updated/deleted changes in any order and any number of times', async () => {
    const segment = `HALF_${randomUUID().slice(0, 6).toUpperCase()}`;
    expect(
      (await request(`${h.url}/api/v1/segments`, { token: admin, body: { slug: segment, percent: 50 } }))
        .status,
    ).to.equal(201);
    const users = Array.from({ length: 300 }, () => randomUUID());
    const deleted = users.slice(0, 50);
    const updated = users.slice(50, 100);
    await withProducer(async (p) => {
      const topic = h.config.topics.users;
      await p.send({ topic, messages: users.map((u) => change(u, 1, 'created')) });
      // Deleted at version 3; an older created (version 2) arrives after it: stale.
      await p.send({ topic, messages: deleted.map((u) => change(u, 3, 'deleted')) });
      await p.send({ topic, messages: deleted.map((u) => change(u, 2, 'created')) });
      await p.send({ topic, messages: updated.map((u) => change(u, 2, 'updated')) });
      // The whole history replayed (a producer retry, a re-published topic).
      await p.send({ topic, messages: users.map((u) => change(u, 1, 'created')) });
      await p.send({ topic, messages: updated.map((u) => change(u, 2, 'updated')) });
    });
    await caughtUp(h);
    const rows = await h.pool.query<{ id: string; version: string; deleted: boolean }>(
      'SELECT id, version, deleted FROM users WHERE id = ANY($1)',
      [users],
    );
    const byId = new Map(rows.rows.map((r) => [r.id, r]));
    expect(byId.size).to.equal(users.length);
    for (const u of deleted) expect(byId.get(u)).to.include({ version: '3', deleted: true });
    for (const u of updated) expect(byId.get(u)).to.include({ version: '2', deleted: false });
    for (const u of users.slice(100)) expect(byId.get(u)).to.include({ version: '1', deleted: false });
    // Applied once per change however often it is delivered. Delivery is at least once: a
    // rebalance on a busy host hands uncommitted messages out again, and each replay is stale.
    expect(h.api.usersReplica!.stats.applied).to.equal(300 + 50 + 50);
    const stale = h.api.usersReplica!.stats.stale;
    expect(stale).to.be.at.least(50 + 300 + 50);

    // The 50% rollout reached exactly the live users its hash puts in it, once each.
    const expectedIn = await h.pool.query<{ id: string }>(
      `SELECT u.id FROM users u, segments s
        WHERE s.slug = $1 AND u.id = ANY($2) AND NOT u.deleted AND segment_bucket(s.seed, u.id) < 0.5`,
      [segment, users],
    );
    const members = await h.pool.query<{ user_id: string }>(
      `SELECT us.user_id FROM user_segments us JOIN segments s ON s.id = us.segment_id WHERE s.slug = $1`,
      [segment],
    );
    expect(members.rows.map((r) => r.user_id)).to.have.members(expectedIn.rows.map((r) => r.id));
    // 250 live users at p = 0.5: within 4.5 standard errors of 125.
    const sd = Math.sqrt(250 * 0.25);
    expect(expectedIn.rowCount).to.be.within(125 - 4.5 * sd, 125 + 4.5 * sd);
    // A deleted user that had been rolled in has its removal recorded.
    const history = await h.pool.query<{ user_id: string; operation: string; reason: string }>(
      `SELECT user_id, operation, reason FROM segment_history WHERE segment = $1 AND user_id = ANY($2)`,
      [segment, deleted],
    );
    const added = history.rows.filter((r) => r.operation === 'add').map((r) => r.user_id);
    const removed = history.rows.filter((r) => r.operation === 'remove');
    expect(removed.map((r) => r.user_id)).to.have.members(added);
    expect(removed.every((r) => r.reason === 'user_deleted')).to.equal(true);
    // The API serves them: live users 200, deleted ones 404.
    expect((await request(`${h.url}/api/v1/users/${updated[0]}/segments`, { token: admin })).status).to.equal(
      200,
    );
    expect((await request(`${h.url}/api/v1/users/${deleted[0]}/segments`, { token: admin })).status).to.equal(
      404,
    );
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).to.match(new RegExp(`users_replica_changes_total\\{result="stale"[^}]*\\} ${stale}\\n`));
    expect(text).to.match(/users_replica_changes_total\{result="applied"[^}]*\} 400\n/);
  });

  it("writes each key once per log line: a module's lines name their module, under the API's component", () => {
    const repeated = h.rawLogs.filter((line) => checkJsonText(line) !== null);
    expect(repeated.slice(0, 3)).to.deep.equal([]);
    expect(h.logs.some((l) => l.module === 'users-replica' && l.component === 'api')).to.equal(true);
  });

  it('dead-letters messages that are not the contract, with the reason, and goes on with the partition', async () => {
    const user = randomUUID();
    const topic = h.config.topics.users;
    await withProducer((p) =>
      p.send({
        topic,
        messages: [
          { key: user, value: 'not json' },
          {
            key: user,
            value: JSON.stringify({ schema_version: 1, user_id: 'nope', version: 1, op: 'created' }),
          },
          change(user, 5, 'created'),
        ],
      }),
    );
    await waitFor(
      'the valid change after the bad ones',
      async () => (await h.pool.query('SELECT 1 FROM users WHERE id = $1', [user])).rowCount,
      (n) => n === 1,
    );
    await caughtUp(h);
    const letters = await readLetters(h.config.topics.deadLetters, 2);
    expect(letters.map((l) => l.headers[DLQ_HEADERS.sourceTopic])).to.deep.equal([topic, topic]);
    expect(letters.map((l) => l.headers[DLQ_HEADERS.stage])).to.deep.equal(['decode', 'decode']);
    expect(letters[0]!.headers[DLQ_HEADERS.reason]).to.equal('value is not JSON');
    expect(letters[1]!.headers[DLQ_HEADERS.reason]).to.match(/user_id/);
    expect(letters.map((l) => l.value)).to.deep.equal([
      'not json',
      JSON.stringify({ schema_version: 1, user_id: 'nope', version: 1, op: 'created' }),
    ]);
    expect(h.api.usersReplica!.stats.deadLettered).to.equal(2);
  });
});

describe('users replica: PostgreSQL outage', function () {
  this.timeout(180_000);
  let h: Harness;
  let proxy: TcpProxy;
  before(async () => {
    ({ h, proxy } = await harnessBehindPostgresProxy({
      USERS_REPLICA_ENABLED: 'true',
      USERS_REPLICA_RETRY_MAX_MS: '500',
    }));
  });
  after(async () => {
    await h.stop();
    await proxy.stop();
  });

  it('waits out the outage and applies every change once the database is back', async () => {
    const topic = h.config.topics.users;
    const before = Array.from({ length: 100 }, () => randomUUID());
    const during = Array.from({ length: 100 }, () => randomUUID());
    await withProducer((p) => p.send({ topic, messages: before.map((u) => change(u, 1, 'created')) }));
    await caughtUp(h);
    await proxy.cut();
    await withProducer((p) => p.send({ topic, messages: during.map((u) => change(u, 1, 'created')) }));
    await waitFor(
      'the replica to retry against the missing database',
      async () => h.api.usersReplica!.stats.transientFailures,
      (n) => n >= 2,
    );
    // Nothing was committed past the change it could not apply: the group stands exactly where
    // it stood before the outage (caught up on `before`), every change sent during it uncommitted.
    expect(await groupLag(testEnv().brokers, h.config.usersReplica.groupId, topic)).to.equal(during.length);
    // Its lag gauge shows the held backlog meanwhile (UsersReplicaLagging reads it).
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    const lag = [...metrics.matchAll(/^users_replica_lag_messages\{[^}]*\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    expect(lag).to.be.greaterThan(0);
    await proxy.restore();
    await caughtUp(h);
    const found = await h.pool.query('SELECT 1 FROM users WHERE id = ANY($1)', [[...before, ...during]]);
    expect(found.rowCount).to.equal(200);
    expect(h.api.usersReplica!.stats.applied).to.equal(200);
    expect(h.logs.some((l) => l.msg === 'users_replica_apply_failed')).to.equal(true);
  });
});

interface Letter {
  value: string;
  headers: Record<string, string>;
}

/** The dead letters in the (single-partition) DLQ topic, read committed. */
async function readLetters(topic: string, expected: number): Promise<Letter[]> {
  const consumer = testKafka(testEnv().brokers).consumer({ groupId: uniqueName('dlq-reader') });
  const out: Letter[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      out.push({ value: message.value?.toString() ?? '', headers });
    },
  });
  try {
    await waitFor(
      'dead letters',
      async () => out.length,
      (n) => n >= expected,
      30_000,
    );
  } finally {
    await consumer.disconnect();
  }
  return out;
}
