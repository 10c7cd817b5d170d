import { expect } from 'chai';
import { Fixture, PARTITION, TOPIC } from './batch-consumer-fixture.js';

/**
 * Commit follows insert, pinned on the consumer itself (not only end to end, where early
 * commits hide behind lag reaching 0): a fake kafkajs consumer records every offset commit,
 * a fake sink holds each insert until the test lets it finish or fail.
 */

describe('BatchConsumer: offsets are committed only after ClickHouse accepted the rows', () => {
  it('commits nothing while the insert is pending, then exactly last offset + 1', async () => {
    const f = new Fixture();
    await f.start();
    const handled = f.deliver(10, ['a', 'b', 'c', 'd', 'e']);
    const insert = await f.insertPending(1);
    expect(insert.rows).to.have.length(5);
    await Fixture.settle();
    expect(f.commits(), 'no commit while ClickHouse has not answered').to.deep.equal([]);
    expect(f.steps.filter((s) => s.kind === 'resolve-offset')).to.deep.equal([]);

    insert.resolve();
    await handled;
    expect(f.commits()).to.deep.equal([
      {
        kind: 'commit',
        offsets: [{ groupId: 'etl-test', topic: TOPIC, partition: PARTITION, offset: '15' }],
      },
    ]);
    const kinds = f.steps.map((s) => s.kind);
    expect(kinds.indexOf('commit'), 'commit after the insert returned').to.be.greaterThan(
      kinds.indexOf('insert-resolved'),
    );
  });

  it('commits nothing after a failed insert, and commits once when a retry succeeds', async () => {
    const f = new Fixture();
    await f.start();
    const handled = f.deliver(0, ['a', 'b', 'c']);
    (await f.insertPending(1)).reject(new Error('connect ECONNREFUSED (ClickHouse down)'));
    // The retry comes after the backoff: until then, and while it is pending, no commit.
    const retry = await f.insertPending(2);
    await Fixture.settle();
    expect(f.commits(), 'no commit after the failed insert').to.deep.equal([]);
    retry.resolve();
    await handled;
    expect(f.commits()).to.deep.equal([
      { kind: 'commit', offsets: [{ groupId: 'etl-test', topic: TOPIC, partition: PARTITION, offset: '3' }] },
    ]);
  });

  it('commits nothing when the consumer must stop while the insert keeps failing', async () => {
    const f = new Fixture();
    await f.start();
    const handled = f.deliver(7, ['a', 'b']);
    const insert = await f.insertPending(1);
    f.running = false; // e.g. a rebalance took the partition away meanwhile
    insert.reject(new Error('Timeout error'));
    await handled;
    await Fixture.settle();
    expect(f.commits()).to.deep.equal([]);
    expect(f.steps.filter((s) => s.kind === 'resolve-offset')).to.deep.equal([]);
  });

  it('commits each block only after its own insert, at its last offset + 1', async () => {
    const f = new Fixture({ consumer: { batchMaxRows: 2 } });
    await f.start();
    const handled = f.deliver(100, ['a', 'b', 'c', 'd', 'e']);
    for (const [n, next] of [
      [1, '102'],
      [2, '104'],
      [3, '105'],
    ] as const) {
      const insert = await f.insertPending(n);
      await Fixture.settle(10);
      expect(f.commits(), `before insert ${n} returned`).to.have.length(n - 1);
      insert.resolve();
      for (let i = 0; i < 1000 && f.commits().length < n; i++) await new Promise((r) => setImmediate(r));
      expect(f.commits()[n - 1]).to.deep.equal({
        kind: 'commit',
        offsets: [{ groupId: 'etl-test', topic: TOPIC, partition: PARTITION, offset: next }],
      });
    }
    await handled;
  });

  it('commits past undecodable messages only with their dead letters, after the insert', async () => {
    const f = new Fixture();
    await f.start();
    const handled = f.deliver(20, ['a', '{garbage', 'c']);
    const insert = await f.insertPending(1);
    await Fixture.settle();
    expect(f.commits()).to.deep.equal([]);
    insert.resolve();
    await handled;
    expect(f.commits()).to.deep.equal([
      {
        kind: 'letters-and-commit',
        letters: ['21'],
        commit: { groupId: 'etl-test', topic: TOPIC, partition: PARTITION, offset: '23' },
      },
    ]);
  });
});
