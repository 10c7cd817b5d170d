import { expect } from 'chai';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { BatchConsumer, type BatchConsumerOptions } from '../../etl/src/batch-consumer.js';
import type { Decoder } from '../../etl/src/batch-builder.js';
import type { ClickHouseSink } from '../../etl/src/clickhouse-sink.js';
import { PartitionWindows } from '../../etl/src/dedup/partition-windows.js';
import type { DeadLetter, DeadLetterPublisher, OffsetCommit } from '../../lib/kafka/dead-letters.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics } from '../../lib/metrics/registry.js';

/**
 * Commit follows insert, pinned on the consumer itself (not only end to end, where early
 * commits hide behind lag reaching 0): a fake kafkajs consumer records every offset commit,
 * a fake sink holds each insert until the test lets it finish or fail.
 */

const TOPIC = 'progress';
const PARTITION = 4;

/** One entry per thing that happened, in order: the test reads the sequence. */
type Step =
  | { kind: 'insert-started'; rows: string[] }
  | { kind: 'insert-resolved'; rows: string[] }
  | { kind: 'insert-rejected'; rows: string[] }
  | { kind: 'commit'; offsets: { topic: string; partition: number; offset: string }[] }
  | { kind: 'letters-and-commit'; letters: string[]; commit: OffsetCommit }
  | { kind: 'resolve-offset'; offset: string };

interface PendingInsert {
  rows: string[];
  resolve(): void;
  reject(err: Error): void;
}

class Fixture {
  readonly steps: Step[] = [];
  readonly pending: PendingInsert[] = [];
  /** Ids the fake ClickHouse holds, by offset. */
  readonly stored = new Map<string, string>();
  running = true;
  private eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  readonly consumer: BatchConsumer;

  constructor(opts: Partial<BatchConsumerOptions> = {}) {
    const steps = this.steps;
    const fakeConsumer = {
      events: { GROUP_JOIN: 'consumer.group_join' },
      on: () => () => undefined,
      connect: async () => undefined,
      subscribe: async () => undefined,
      disconnect: async () => undefined,
      run: async (config: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
        this.eachBatch = config.eachBatch;
      },
      commitOffsets: async (offsets: { topic: string; partition: number; offset: string }[]) => {
        steps.push({ kind: 'commit', offsets: offsets.map((o) => ({ ...o })) });
      },
    };
    const kafka = { consumer: () => fakeConsumer } as unknown as Kafka;
    const sink = {
      insert: (lines: readonly Buffer[]) => {
        const rows = lines.map((l) => l.toString());
        steps.push({ kind: 'insert-started', rows });
        return new Promise<void>((resolve, reject) => {
          this.pending.push({
            rows,
            resolve: () => {
              for (const r of rows) this.stored.set(r, r);
              steps.push({ kind: 'insert-resolved', rows });
              resolve();
            },
            reject: (err) => {
              steps.push({ kind: 'insert-rejected', rows });
              reject(err);
            },
          });
        });
      },
    } as unknown as ClickHouseSink;
    const stored = this.stored;
    const windows = new PartitionWindows(
      { maxIdsPerPartition: 1000, horizonMs: 60_000 },
      {
        load: async () => [],
        // The row's value is its id: an offset range's stored ids are the stored rows in it.
        storedInRange: async (_p, first, last) =>
          new Set(
            [...stored.values()].filter(
              (id) => BigInt(id.split('@')[1]!) >= BigInt(first) && BigInt(id.split('@')[1]!) <= BigInt(last),
            ),
          ),
      },
      createLogger({ level: 'silent', pretty: false, name: 'test' }),
    );
    const deadLetters = {
      publishAndCommit: async (letters: DeadLetter[], commit: OffsetCommit) => {
        steps.push({
          kind: 'letters-and-commit',
          letters: letters.map((l) => l.offset),
          commit: { ...commit },
        });
      },
    } as unknown as DeadLetterPublisher;
    // Each message's value is `id@offset`; anything else does not decode.
    const decode: Decoder<Buffer> = (value) => {
      const text = value?.toString() ?? '';
      return /^[a-z0-9-]+@\d+$/.test(text)
        ? { ok: true, row: Buffer.from(text), id: text, splitKey: 'month' }
        : { ok: false, reason: 'not a row' };
    };
    this.consumer = new BatchConsumer(
      {
        kafka,
        sink,
        decode: () => decode,
        windows,
        deadLetters,
        log: createLogger({ level: 'silent', pretty: false, name: 'test' }),
        metrics: createMetrics(),
        table: 'progress_events',
      },
      {
        topic: TOPIC,
        groupId: 'etl-test',
        batchMaxRows: 100,
        batchMaxWaitMs: 100,
        fetchMinBytes: 1,
        fetchMaxBytesPerPartition: 1 << 20,
        partitionsConcurrency: 1,
        sessionTimeoutMs: 6000,
        retryInitialMs: 5,
        retryMaxMs: 10,
        ...opts,
      },
    );
  }

  async start(): Promise<void> {
    await this.consumer.start();
  }

  /** Hands the consumer one batch of messages at offsets first.. (values: ids, or garbage). */
  deliver(first: number, values: string[]): Promise<void> {
    const messages = values.map((v, i) => ({
      offset: String(first + i),
      key: Buffer.from('k'),
      value: Buffer.from(/^[a-z0-9-]+$/.test(v) ? `${v}@${first + i}` : v),
      timestamp: '0',
      attributes: 0,
      headers: {},
    }));
    const payload = {
      batch: {
        topic: TOPIC,
        partition: PARTITION,
        highWatermark: String(first + values.length),
        messages,
      },
      isRunning: () => this.running,
      isStale: () => false,
      resolveOffset: (offset: string) => this.steps.push({ kind: 'resolve-offset', offset }),
      heartbeat: async () => undefined,
      commitOffsetsIfNecessary: async () => {
        throw new Error('the consumer commits explicitly, never through kafkajs auto-commit');
      },
    } as unknown as EachBatchPayload;
    return this.eachBatch!(payload);
  }

  /** Resolves once the consumer is waiting on its nth insert (1-based). */
  async insertPending(n: number): Promise<PendingInsert> {
    // Polls on timers: a retried insert only starts after the consumer's backoff.
    for (let i = 0; i < 500 && this.pending.length < n; i++) await new Promise((r) => setTimeout(r, 2));
    expect(this.pending.length, `insert ${n} started`).to.be.at.least(n);
    return this.pending[n - 1]!;
  }

  commits(): Step[] {
    return this.steps.filter((s) => s.kind === 'commit' || s.kind === 'letters-and-commit');
  }

  /** Lets the event loop run a while (timers included), so a commit that would come, comes. */
  static async settle(ms = 50): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }
}

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
    const f = new Fixture({ batchMaxRows: 2 });
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
