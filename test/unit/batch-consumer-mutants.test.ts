import { expect } from 'chai';
import {
  Fixture,
  GROUP,
  PARTITION,
  TABLE,
  TOPIC,
  badData,
  type InsertAnswer,
} from './batch-consumer-fixture.js';

/**
 * What the ETL's BatchConsumer promises beyond commit-after-insert (batch-consumer.test.ts),
 * on the same fakes: dedup against the partition's window and across a rebalance, bad rows
 * bisected to the dead-letter topic, ambiguous failures resolved against what ClickHouse
 * holds, letting go of a partition, and the metrics and stats an operator reads.
 */

const ok = (): InsertAnswer => 'ok';

/** Every insert answered at once: stored, or rejected as bad data when a row is marked `!`. */
async function started(opts: ConstructorParameters<typeof Fixture>[0] = {}): Promise<Fixture> {
  const f = new Fixture({ insert: ok, ...opts });
  await f.start();
  return f;
}

/** Delivers a batch whose work keeps failing, and meanwhile the partition is taken away. */
async function letGoWhileFailing(f: Fixture, values: string[], how: 'stop' | 'stale'): Promise<void> {
  const handled = f.deliver(0, values);
  await Fixture.settle(20);
  if (how === 'stale') f.stale = true;
  else f.running = false;
  await handled;
}

const commitAt = (offset: string) => ({
  kind: 'commit',
  offsets: [{ groupId: GROUP, topic: TOPIC, partition: PARTITION, offset }],
});

describe('BatchConsumer: dedup and the partition window', () => {
  it('drops ids the window has seen or the block repeats, inserts the rest once, commits past all', async () => {
    const f = await started();
    await f.deliver(0, ['a', 'b']);
    await f.deliver(2, ['a', 'c', 'c', 'b']);
    expect(f.of('insert-started').map((s) => s.rows)).to.deep.equal([['a@0', 'b@1'], ['c@3']]);
    expect(f.commits()).to.deep.equal([commitAt('2'), commitAt('6')]);
    expect(f.consumer.stats).to.include({ rowsInserted: 3, blocksInserted: 2, duplicatesDropped: 3 });
    expect(f.windows.duplicatesDropped).to.equal(3);
    expect(await f.metric('etl_duplicates_dropped_total', { topic: TOPIC })).to.equal(3);
    expect(await f.metric('etl_rows_inserted_total', { table: TABLE })).to.equal(3);
  });

  it('a block of duplicates only is not inserted at all, and is still committed past', async () => {
    const f = await started();
    await f.deliver(0, ['a']);
    await f.deliver(1, ['a', 'a']);
    expect(f.of('insert-started')).to.have.length(1);
    expect(f.commits()).to.deep.equal([commitAt('1'), commitAt('3')]);
    expect(f.of('resolve-offset').map((s) => s.offset)).to.deep.equal(['0', '2']);
  });

  it('rebuilds the window from ClickHouse before the first batch, once, and after each rebalance', async () => {
    const f = await started();
    f.seenOnLoad = ['a'];
    await f.deliver(0, ['a', 'b']);
    await f.deliver(2, ['c']);
    expect(f.of('window-load')).to.have.length(1);
    expect(f.of('insert-started').map((s) => s.rows)).to.deep.equal([['b@1'], ['c@2']]);

    // Another process may have stored ids meanwhile; what this one learned is forgotten.
    f.seenOnLoad = ['d'];
    f.rebalance();
    await f.deliver(3, ['d', 'b']);
    expect(f.of('window-load')).to.have.length(2);
    expect(f.of('insert-started').map((s) => s.rows)[2]).to.deep.equal(['b@4']);
    expect(f.lines.some((l) => l.msg === 'etl_partitions_assigned')).to.equal(true);
  });

  it('an empty batch asks ClickHouse nothing and commits nothing', async () => {
    const f = await started();
    await f.deliver(0, []);
    expect(f.steps).to.deep.equal([]);
  });

  it('retries a failed window rebuild, holding the partition, before inserting anything', async () => {
    const f = await started();
    f.windowLoadFailures = 2;
    f.seenOnLoad = ['a'];
    await f.deliver(0, ['a', 'b']);
    expect(f.of('window-load')).to.have.length(3);
    expect(f.of('insert-started').map((s) => s.rows)).to.deep.equal([['b@1']]);
    expect(f.consumer.stats.transientFailures).to.equal(2);
    expect(await f.metric('etl_retries_total', { topic: TOPIC })).to.equal(2);
  });

  it('inserts and commits nothing when it must let go while the window cannot be rebuilt', async () => {
    const f = await started();
    f.windowLoadFailures = 1_000;
    await letGoWhileFailing(f, ['a'], 'stop');
    expect(f.of('insert-started')).to.deep.equal([]);
    expect(f.commits()).to.deep.equal([]);
  });
});

describe('BatchConsumer: the first block after an assignment is checked in ClickHouse', () => {
  it('re-inserts, under a token of this process, rows whose dedup token was kept without them', async () => {
    // The first insert is answered ok but stores nothing: a kill between ClickHouse logging
    // the token and committing the part, then the same block replayed under the same token.
    const f = await started({ insert: (_rows, _token, n) => (n === 1 ? 'lost' : 'ok') });
    await f.deliver(0, ['a', 'b', 'c']);
    const inserts = f.of('insert-started');
    expect(inserts.map((s) => s.rows)).to.deep.equal([
      ['a@0', 'b@1', 'c@2'],
      ['a@0', 'b@1', 'c@2'],
    ]);
    expect(inserts[0]!.token).to.equal(`${TOPIC}:${PARTITION}:0-2`);
    expect(inserts[1]!.token).to.match(new RegExp(`^${TOPIC}:${PARTITION}:0-2@[0-9a-f-]{36}$`));
    expect(f.of('stored-in-range')).to.deep.equal([
      { kind: 'stored-in-range', partition: PARTITION, first: '0', last: '2' },
    ]);
    expect([...f.stored.values()]).to.deep.equal(['a', 'b', 'c']);
    expect(f.commits()).to.deep.equal([commitAt('3')]);
    expect(f.lines.some((l) => l.msg === 'etl_dedup_token_without_rows' && l.fields.rows === 3)).to.equal(
      true,
    );
  });

  it('re-inserts only the rows missing, and commits only after they are stored', async () => {
    const f = await started({
      insert: (rows, _token, n) =>
        n === 1 ? { fail: new Error('never'), stored: [] } : n === 2 ? 'lost' : 'ok',
    });
    f.stored.set('1', 'b'); // stored by an earlier process under another token
    await f.deliver(0, ['a', 'b', 'c']);
    const rows = f.of('insert-started').map((s) => s.rows);
    expect(rows.at(-1)).to.deep.equal(['a@0', 'c@2']);
    expect(f.commits()).to.deep.equal([commitAt('3')]);
  });

  it('checks only the first block; after a rebalance the first block is checked again', async () => {
    const f = await started({ insert: () => 'lost' });
    await f.deliver(0, ['a']).catch(() => undefined);
    const checks = () => f.of('stored-in-range').length;
    // Every insert is lost: the first block's check finds its row missing and re-inserts it
    // (lost again, and the consumer moves on: the check runs once per block).
    expect(checks()).to.equal(1);
    await f.deliver(1, ['b']);
    expect(checks(), 'a later block is not checked').to.equal(1);
    f.rebalance();
    await f.deliver(2, ['c']);
    expect(checks(), 'the first block after the rebalance is').to.equal(2);
  });

  it('does not check a first block that had no fresh rows', async () => {
    const f = await started();
    f.seenOnLoad = ['a'];
    await f.deliver(0, ['a']);
    expect(f.of('stored-in-range')).to.deep.equal([]);
    expect(f.commits()).to.deep.equal([commitAt('1')]);
  });
});

describe('BatchConsumer: an insert whose outcome is unknown', () => {
  it('retries only the rows ClickHouse does not have, under the same token, counting the rest as duplicates', async () => {
    const f = await started({
      insert: (_rows, _token, n) => (n === 1 ? { fail: new Error('socket hang up'), stored: ['a@0'] } : 'ok'),
    });
    await f.deliver(0, ['a', 'b', 'c']);
    const inserts = f.of('insert-started');
    expect(inserts.map((s) => s.rows)).to.deep.equal([
      ['a@0', 'b@1', 'c@2'],
      ['b@1', 'c@2'],
    ]);
    expect(inserts[1]!.token).to.equal(inserts[0]!.token);
    // Asked once before the retry, once for the first block's check after it.
    expect(f.of('stored-in-range').map((s) => [s.first, s.last])).to.deep.equal([
      ['0', '2'],
      ['0', '2'],
    ]);
    expect(f.consumer.stats).to.include({ rowsInserted: 2, duplicatesDropped: 1, transientFailures: 1 });
    expect(await f.metric('etl_insert_failures_total', { table: TABLE })).to.equal(1);
    expect(f.commits()).to.deep.equal([commitAt('3')]);
    // The row stored by the failed attempt is in the window too: a client retry of it is dropped.
    await f.deliver(3, ['a']);
    expect(f.of('insert-started')).to.have.length(2);
  });

  it('does not insert again when the failed attempt had stored every row', async () => {
    const f = await started({
      insert: (rows, _token, n) => (n === 1 ? { fail: new Error('socket hang up'), stored: rows } : 'ok'),
    });
    await f.deliver(5, ['a', 'b']);
    expect(f.of('insert-started')).to.have.length(1);
    expect(f.consumer.stats).to.include({ rowsInserted: 0, duplicatesDropped: 2, blocksInserted: 1 });
    expect(f.commits()).to.deep.equal([commitAt('7')]);
  });

  it('asks ClickHouse what it has only after a failure, not before the first attempt', async () => {
    const f = await started();
    f.rebalance(); // no effect on the count: the first block's check is the only query
    await f.deliver(0, ['a', 'b']);
    expect(f.of('stored-in-range')).to.have.length(1);
    expect(f.of('insert-started')).to.have.length(1);
  });
});

describe('BatchConsumer: rows ClickHouse rejects as bad data', () => {
  it('bisects the block down to the bad row, which goes to the dead-letter topic with the reason', async () => {
    const f = await started();
    await f.deliver(0, ['a', 'b', 'x!', 'd']);
    const base = `${TOPIC}:${PARTITION}:0-3`;
    expect(f.of('insert-started').map((s) => [s.token, s.rows.join(' ')])).to.deep.equal([
      [base, 'a@0 b@1 x!@2 d@3'],
      [`${base}/0-1`, 'a@0 b@1'],
      [`${base}/2-3`, 'x!@2 d@3'],
      [`${base}/2-3/2-2`, 'x!@2'],
      [`${base}/2-3/3-3`, 'd@3'],
    ]);
    expect([...f.stored.values()]).to.deep.equal(['a', 'b', 'd']);
    expect(f.commits()).to.deep.equal([
      {
        kind: 'letters-and-commit',
        letters: ['2'],
        commit: { groupId: GROUP, topic: TOPIC, partition: PARTITION, offset: '4' },
      },
    ]);
    const warn = f.lines.find((l) => l.msg === 'etl_dead_letter');
    expect(warn?.fields).to.deep.equal({
      name: 'etl',
      topic: TOPIC,
      partition: PARTITION,
      offset: '2',
      stage: 'insert',
      reason: 'Cannot parse input: x!@2',
    });
    expect(f.consumer.stats).to.include({ rowsInserted: 3, deadLettered: 1, transientFailures: 0 });
    expect(await f.metric('etl_dead_letters_total', { topic: TOPIC, stage: 'insert' })).to.equal(1);
    expect(await f.metric('etl_dead_letters_total', { topic: TOPIC, stage: 'decode' })).to.equal(0);
    expect(await f.metric('etl_insert_failures_total', { table: TABLE })).to.equal(3);
  });

  it('splits an odd block at its lower half and dead-letters every bad row', async () => {
    const f = await started();
    await f.deliver(10, ['x!', 'b', 'y!']);
    const base = `${TOPIC}:${PARTITION}:10-12`;
    expect(f.of('insert-started').map((s) => s.token)).to.deep.equal([
      base,
      `${base}/10-10`,
      `${base}/11-12`,
      `${base}/11-12/11-11`,
      `${base}/11-12/12-12`,
    ]);
    expect(f.commits()[0]).to.deep.include({ letters: ['10', '12'] });
    expect(f.consumer.stats).to.include({ rowsInserted: 1, deadLettered: 2 });
  });

  it('sends decode and insert dead letters in offset order (numeric, across a digit boundary)', async () => {
    const f = await started();
    await f.deliver(8, ['{x', 'b', 'y!', '{z']);
    expect(f.commits()).to.deep.equal([
      {
        kind: 'letters-and-commit',
        letters: ['8', '10', '11'],
        commit: { groupId: GROUP, topic: TOPIC, partition: PARTITION, offset: '12' },
      },
    ]);
    expect(await f.metric('etl_dead_letters_total', { topic: TOPIC, stage: 'decode' })).to.equal(2);
    expect(await f.metric('etl_dead_letters_total', { topic: TOPIC, stage: 'insert' })).to.equal(1);
  });

  it('a dead-lettered id is not remembered as stored: a corrected resend is inserted', async () => {
    const f = await started();
    await f.deliver(0, ['x!', 'b']);
    await f.deliver(2, ['x']);
    expect(f.of('insert-started').at(-1)!.rows).to.deep.equal(['x@2']);
    expect(f.stored.get('2')).to.equal('x');
  });

  it('retries a failed dead-letter publish, and resolves the offset only once it went through', async () => {
    const f = await started();
    f.publishFailures = 2;
    await f.deliver(0, ['a', '{x']);
    expect(f.commits()).to.have.length(1);
    expect(f.consumer.stats).to.include({ deadLettered: 1, transientFailures: 2 });
    expect(f.of('resolve-offset').map((s) => s.offset)).to.deep.equal(['1']);
  });

  it('neither commits nor counts a block whose dead letters could not be sent before letting go', async () => {
    const f = await started();
    f.publishFailures = 1_000;
    await letGoWhileFailing(f, ['a', '{x'], 'stale');
    expect(f.commits()).to.deep.equal([]);
    expect(f.of('resolve-offset')).to.deep.equal([]);
    expect(f.consumer.stats).to.include({ blocksInserted: 0, rowsInserted: 0, deadLettered: 0 });
    expect(f.lines.some((l) => l.msg === 'etl_dead_letter')).to.equal(false);
  });
});

describe('BatchConsumer: dead letters as rows, and erased viewers', () => {
  it('stores the letters as dead_letters rows under a token of the block, before sending them with the commit', async () => {
    const f = await started({ letterRows: true });
    await f.deliver(0, ['a', '{x', 'y!']);
    expect(f.of('letters-stored')).to.deep.equal([
      {
        kind: 'letters-stored',
        token: `${TOPIC}:${PARTITION}:0-2:dead-letters`,
        offsets: ['1', '2'],
        stages: ['decode', 'insert'],
      },
    ]);
    const kinds = f.steps.map((s) => s.kind);
    expect(kinds.indexOf('letters-stored')).to.be.lessThan(kinds.indexOf('letters-and-commit'));
    expect(f.commits()).to.have.length(1);
  });

  it('retries a failed dead_letters insert, and commits only once it went through', async () => {
    const f = await started({ letterRows: true });
    f.letterStoreFailures = 2;
    await f.deliver(0, ['a', '{x']);
    expect(f.of('letters-stored')).to.have.length(1);
    expect(f.commits()).to.have.length(1);
    expect(f.consumer.stats).to.include({ transientFailures: 2, deadLettered: 1 });
  });

  it('commits nothing when it must let go while the dead_letters rows cannot be stored', async () => {
    const f = await started({ letterRows: true });
    f.letterStoreFailures = 1_000;
    await letGoWhileFailing(f, ['a', '{x'], 'stop');
    expect(f.commits()).to.deep.equal([]);
    expect(f.consumer.stats.deadLettered).to.equal(0);
  });

  it('drops the rows and letters of erased viewers: neither stored nor dead-lettered, but counted and committed past', async () => {
    const f = await started({ erased: ['b', 'x'] });
    await f.deliver(0, ['a', 'b', '{x', 'c', '{z']);
    expect(f.of('insert-started').map((s) => s.rows)).to.deep.equal([['a@0', 'c@3']]);
    expect(f.commits()).to.deep.equal([
      {
        kind: 'letters-and-commit',
        letters: ['4'],
        commit: { groupId: GROUP, topic: TOPIC, partition: PARTITION, offset: '5' },
      },
    ]);
    expect(f.consumer.stats).to.include({ rowsInserted: 2, deadLettered: 1, duplicatesDropped: 0 });
    expect(await f.metric('etl_erased_events_dropped_total', { topic: TOPIC })).to.equal(2);
  });

  it('commits a block of erased viewers only without letters', async () => {
    const f = await started({ erased: ['x'] });
    await f.deliver(0, ['{x', 'x']);
    expect(f.of('insert-started')).to.deep.equal([]);
    expect(f.commits()).to.deep.equal([commitAt('2')]);
  });

  it('retries loading the suppression list, holding the partition, before storing anything', async () => {
    const f = await started({ erased: ['b'] });
    f.erasedLoadFailures = 2;
    await f.deliver(0, ['a', 'b']);
    expect(f.of('insert-started').map((s) => s.rows)).to.deep.equal([['a@0']]);
    expect(f.consumer.stats.transientFailures).to.equal(2);
  });

  it('stores nothing when it must let go while the suppression list cannot be loaded', async () => {
    const f = await started({ erased: ['b'] });
    f.erasedLoadFailures = 1_000;
    await letGoWhileFailing(f, ['a', 'b'], 'stale');
    expect(f.of('insert-started')).to.deep.equal([]);
    expect(f.commits()).to.deep.equal([]);
  });
});

describe('BatchConsumer: the log lines docs/runbook.md points operators to', () => {
  const line = (f: Fixture, msg: string) => f.lines.find((l) => l.msg === msg);
  const where = { topic: TOPIC, partition: PARTITION };

  it('names each retried failure by what failed, on its topic and partition', async () => {
    const box: { f?: Fixture } = {};
    const f = await started({
      letterRows: true,
      erased: [],
      insert: (_rows, _token, n) => {
        if (n === 2) box.f!.storedInRangeFailures = 1; // the first block's check, next
        return n === 1 ? { fail: new Error('connect ECONNREFUSED') } : 'ok';
      },
    });
    box.f = f;
    f.windowLoadFailures = 1;
    f.erasedLoadFailures = 1;
    f.letterStoreFailures = 1;
    f.publishFailures = 1;
    await f.deliver(0, ['a', '{x']);
    for (const what of [
      'dedup_window_load',
      'erased_viewers_load',
      'etl_insert',
      'etl_first_block_check',
      'dead_letter_store',
      'dead_letter_publish',
    ]) {
      expect(line(f, `${what}_failed`)?.fields, `${what}_failed`).to.include(where);
      expect(line(f, `${what}_recovered`)?.fields, `${what}_recovered`).to.include(where);
    }
    expect(line(f, 'etl_insert_failed')!.fields).to.include({ token: `${TOPIC}:${PARTITION}:0-1` });
    expect(f.commits()).to.have.length(1);
  });

  it('logs each committed block: its offsets, rows, duplicates and dead letters', async () => {
    const f = await started();
    await f.deliver(0, ['a']);
    await f.deliver(1, ['a', 'b', '{x']);
    expect(f.lines.filter((l) => l.msg === 'etl_block_committed').map((l) => l.fields)).to.deep.equal([
      { name: 'etl', ...where, first_offset: '0', last_offset: '0', rows: 1, duplicates: 0, dead_letters: 0 },
      { name: 'etl', ...where, first_offset: '1', last_offset: '3', rows: 1, duplicates: 1, dead_letters: 1 },
    ]);
  });

  it('logs a bisection with the token and rows rejected, and the assignment after a rebalance', async () => {
    const f = await started();
    await f.deliver(0, ['a', 'x!']);
    expect(line(f, 'etl_insert_rejected_bisecting')?.fields).to.include({
      ...where,
      token: `${TOPIC}:${PARTITION}:0-1`,
      rows: 2,
    });
    f.rebalance();
    expect(line(f, 'etl_partitions_assigned')?.fields).to.deep.equal({
      name: 'etl',
      topic: TOPIC,
      assignment: { [TOPIC]: [PARTITION] },
    });
  });

  it('warns of a dedup token without rows only when rows were in fact missing', async () => {
    const f = await started({ letterRows: true });
    await f.deliver(0, ['a', 'b']);
    expect(line(f, 'etl_dedup_token_without_rows')).to.equal(undefined);
    expect(f.of('letters-stored'), 'no dead_letters insert for a block without letters').to.deep.equal([]);
    expect(f.commits()).to.deep.equal([commitAt('2')]);
  });
});

describe('BatchConsumer: letting go of a partition', () => {
  it('stops before the next block once the partition was taken away', async () => {
    const f = await started({ consumer: { batchMaxRows: 2 } });
    f.onCommit = () => {
      f.stale = true;
    };
    await f.deliver(0, ['a', 'b', 'c', 'd']);
    expect(f.of('insert-started')).to.have.length(1);
    expect(f.commits()).to.deep.equal([commitAt('2')]);
  });

  it('gives up a bisection when it must let go in the middle, committing nothing', async () => {
    const box: { f?: Fixture } = {};
    const f = await started({
      insert: (rows, _token, n) => {
        if (n === 3) box.f!.running = false; // taken away while isolating the bad row
        return n >= 3
          ? { fail: new Error('Timeout error') }
          : rows.some((r) => r.includes('!'))
            ? { fail: badData('bad') }
            : 'ok';
      },
    });
    box.f = f;
    await f.deliver(0, ['x!', 'b', 'c', 'd']);
    expect(f.of('insert-started')).to.have.length(3);
    expect(f.commits()).to.deep.equal([]);
    expect(f.consumer.stats.blocksInserted).to.equal(0);
  });

  it('heartbeats after every committed block, so a long batch keeps its partition', async () => {
    const f = await started({ consumer: { batchMaxRows: 1 } });
    await f.deliver(0, ['a', 'b', 'c']);
    expect(
      f.steps.filter((s) => s.kind === 'commit' || s.kind === 'heartbeat').map((s) => s.kind),
    ).to.deep.equal(['commit', 'heartbeat', 'commit', 'heartbeat', 'commit', 'heartbeat']);
  });

  it('stop() leaves the group', async () => {
    const f = await started();
    await f.consumer.stop();
    expect(f.disconnected).to.equal(true);
  });
});

describe('BatchConsumer: what it asks of kafkajs and what it reports', () => {
  it('is named after its topic and sizes fetches for the partitions it reads at once', () => {
    const one = new Fixture({ consumer: { partitionsConcurrency: 1, fetchMaxBytesPerPartition: 1000 } });
    expect(one.consumer.name).to.equal(`consumer:${TOPIC}`);
    expect(one.consumer.kafkaConsumer).to.not.equal(undefined);
    expect(one.consumerConfig).to.include({
      groupId: GROUP,
      sessionTimeout: 6000,
      minBytes: 1,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 1000,
      maxBytes: 2000, // never below two partitions' worth
    });
    const four = new Fixture({ consumer: { partitionsConcurrency: 4, fetchMaxBytesPerPartition: 1000 } });
    expect(four.consumerConfig.maxBytes).to.equal(4000);
  });

  it('exports its failure, dead-letter and stored-rows series at 0 before the first block', async () => {
    const f = new Fixture();
    expect(await f.metric('etl_rows_inserted_total', { table: TABLE })).to.equal(0);
    expect(await f.metric('etl_retries_total', { topic: TOPIC })).to.equal(0);
    expect(await f.metric('etl_insert_failures_total', { table: TABLE })).to.equal(0);
    expect(await f.metric('etl_erased_events_dropped_total', { topic: TOPIC })).to.equal(0);
    expect(await f.metric('etl_dead_letters_total', { topic: TOPIC, stage: 'decode' })).to.equal(0);
    expect(await f.metric('etl_dead_letters_total', { topic: TOPIC, stage: 'insert' })).to.equal(0);
  });

  it('reports lag in messages and seconds behind, freshness per block, block sizes and the window', async () => {
    const f = await started({ consumer: { batchMaxRows: 2 } });
    const now = Date.now();
    await f.deliver(10, ['a', 'b', 'c'], {
      highWatermark: 20,
      timestamps: [now - 30_000, now - 20_000, now - 10_000],
    });
    const labels = { topic: TOPIC, partition: String(PARTITION) };
    expect(await f.metric('etl_consumer_lag_messages', labels)).to.equal(7);
    expect(await f.metric('etl_consumer_lag_seconds', labels)).to.be.within(9.9, 11);
    const freshness = await f.histogram('etl_freshness_seconds', { table: TABLE });
    expect(freshness.count).to.equal(2);
    expect(freshness.sum, 'oldest message of each block: 30 s and 10 s').to.be.within(39.9, 41);
    expect((await f.histogram('etl_insert_block_rows', { table: TABLE })).sum).to.equal(3);
    expect((await f.histogram('etl_insert_duration_seconds', { table: TABLE })).count).to.equal(2);
    expect(await f.metric('etl_dedup_window_ids', { topic: TOPIC })).to.equal(3);
    expect(await f.metric('etl_dedup_window_bytes', { topic: TOPIC })).to.equal(f.windows.bytes);
    expect(f.windows.bytes).to.be.greaterThan(0);
    expect(await f.metric('etl_duplicates_dropped_total', { topic: TOPIC })).to.equal(undefined);
  });

  it('drops the lag series of a partition a rebalance moved away, and keeps those it still has', async () => {
    const f = await started();
    await f.deliver(10, ['a'], { highWatermark: 20, timestamps: [Date.now() - 30_000] });
    const labels = { topic: TOPIC, partition: String(PARTITION) };
    f.rebalance([PARTITION, PARTITION + 1]);
    expect(await f.metric('etl_consumer_lag_seconds', labels)).to.be.within(29, 31);
    f.rebalance([PARTITION + 1]);
    expect(await f.metric('etl_consumer_lag_seconds', labels)).to.equal(undefined);
    expect(await f.metric('etl_consumer_lag_messages', labels)).to.equal(undefined);
  });

  it('reports 0 seconds behind once caught up, however old the last message', async () => {
    const f = await started();
    const old = Date.now() - 60_000;
    await f.deliver(0, ['a', 'b'], { timestamps: [old, old] });
    const labels = { topic: TOPIC, partition: String(PARTITION) };
    expect(await f.metric('etl_consumer_lag_messages', labels)).to.equal(0);
    expect(await f.metric('etl_consumer_lag_seconds', labels)).to.equal(0);
  });

  it('never reports a negative lag when the high-water mark it saw is already behind', async () => {
    const f = await started();
    await f.deliver(0, ['a', 'b', 'c'], { highWatermark: 1 });
    expect(
      await f.metric('etl_consumer_lag_messages', { topic: TOPIC, partition: String(PARTITION) }),
    ).to.equal(0);
  });

  it('reports 0 freshness for a message stamped in the future (a producer clock ahead)', async () => {
    const f = await started();
    await f.deliver(0, ['a'], { timestamps: [Date.now() + 60_000], highWatermark: 5 });
    expect((await f.histogram('etl_freshness_seconds', { table: TABLE })).sum).to.equal(0);
    expect(
      await f.metric('etl_consumer_lag_seconds', { topic: TOPIC, partition: String(PARTITION) }),
    ).to.equal(0);
  });
});
