import { expect } from 'chai';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { DeadLetter, OffsetCommit } from '../../lib/kafka/dead-letters.js';
import {
  PartitionConsumer,
  type HeldPartition,
  type PartitionConsumerOptions,
} from '../../lib/kafka/partition-consumer.js';
import type { Logger } from '../../lib/log.js';

/**
 * The loop the ETL, the users replica and the dead-letter reader share, on a fake kafkajs
 * consumer: what it lets kafkajs do on its own, how it backs off while holding a partition,
 * when it lets go, and what a commit writes.
 */

interface Line {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  msg: string;
}

type Step =
  | { kind: 'work'; ok: boolean }
  | { kind: 'heartbeat' }
  | { kind: 'commit'; offsets: OffsetCommit[] }
  | { kind: 'letters-and-commit'; letters: string[]; commit: OffsetCommit };

class Fixture {
  readonly steps: Step[] = [];
  readonly lines: Line[] = [];
  consumerConfig: Record<string, unknown> = {};
  runConfig: Record<string, unknown> = {};
  running = true;
  stale = false;
  heartbeatFails = false;
  retries = 0;
  readonly consumer: PartitionConsumer;
  private eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;

  constructor(opts: Partial<PartitionConsumerOptions> = {}) {
    const steps = this.steps;
    const fakeConsumer = {
      connect: async () => undefined,
      subscribe: async () => undefined,
      disconnect: async () => undefined,
      run: async (config: Record<string, unknown>) => {
        this.runConfig = config;
        this.eachBatch = config.eachBatch as (p: EachBatchPayload) => Promise<void>;
      },
      commitOffsets: async (offsets: OffsetCommit[]) => {
        steps.push({ kind: 'commit', offsets: offsets.map((o) => ({ ...o })) });
      },
    };
    const kafka = {
      consumer: (config: Record<string, unknown>) => {
        this.consumerConfig = config;
        return fakeConsumer;
      },
    } as unknown as Kafka;
    const lines = this.lines;
    const log = {
      child: () => log,
      info: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'info', fields, msg }),
      warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', fields, msg }),
      error: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'error', fields, msg }),
    } as unknown as Logger;
    this.consumer = new PartitionConsumer(
      {
        kafka,
        log,
        deadLetters: {
          publishAndCommit: async (letters: DeadLetter[], commit: OffsetCommit) => {
            steps.push({
              kind: 'letters-and-commit',
              letters: letters.map((l) => l.offset),
              commit: { ...commit },
            });
          },
        },
        onRetry: () => (this.retries += 1),
      },
      {
        topic: 'users',
        groupId: 'group-1',
        sessionTimeoutMs: 6000,
        partitionsConcurrency: 3,
        retry: { initialMs: 4, maxMs: 16 },
        ...opts,
      },
    );
  }

  /** Starts the consumer and hands it one batch of partition 2; resolves when the handler returns. */
  async deliver(handle: (held: HeldPartition) => Promise<void>): Promise<void> {
    await this.consumer.start(handle);
    const payload = {
      batch: { topic: 'users', partition: 2, highWatermark: '50', messages: [] },
      isRunning: () => this.running,
      isStale: () => this.stale,
      heartbeat: async () => {
        this.steps.push({ kind: 'heartbeat' });
        if (this.heartbeatFails) throw new Error('The group is rebalancing');
      },
      resolveOffset: () => undefined,
    } as unknown as EachBatchPayload;
    return this.eachBatch!(payload);
  }

  failed(what: string): Line[] {
    return this.lines.filter((l) => l.msg === `${what}_failed`);
  }
}

/** Work that fails `failures` times, then returns 'done'; each attempt is a step. */
function flaky(f: Fixture, failures: number): () => Promise<string> {
  let calls = 0;
  return async () => {
    const ok = ++calls > failures;
    f.steps.push({ kind: 'work', ok });
    if (!ok) throw new Error('connect ECONNREFUSED');
    return 'done';
  };
}

const letter = (offset: string): DeadLetter => ({
  sourceTopic: 'users',
  partition: 2,
  offset,
  key: null,
  value: Buffer.from('x'),
  reason: 'bad',
  stage: 'decode',
});

describe('PartitionConsumer: kafkajs never commits on its own', () => {
  it('runs with auto-commit and auto-resolve off, the partitions concurrency and a heartbeat per tenth of the session', async () => {
    const f = new Fixture({ fetch: { minBytes: 1024, maxWaitTimeInMs: 100 } });
    await f.deliver(async () => undefined);
    expect(f.runConfig).to.include({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 3,
    });
    expect(f.consumerConfig).to.include({
      groupId: 'group-1',
      sessionTimeout: 6000,
      heartbeatInterval: 600,
      minBytes: 1024,
      maxWaitTimeInMs: 100,
    });
    expect(f.steps, 'a handler that commits nothing leaves the offsets alone').to.deep.equal([]);
  });

  it('heartbeats at least every 500 ms however short the session', () => {
    const f = new Fixture({ sessionTimeoutMs: 3000 });
    expect(f.consumerConfig).to.include({ heartbeatInterval: 500 });
  });
});

describe('PartitionConsumer: failed work is retried while holding the partition', () => {
  it('backs off between jitter bounds that double per attempt and never pass the cap', async () => {
    const f = new Fixture({ retry: { initialMs: 4, maxMs: 16 } });
    let outcome: unknown;
    await f.deliver(async (held) => {
      outcome = await held.retry('work', flaky(f, 8), { context: { offset: '7' } });
    });
    expect(outcome).to.deep.equal({ done: true, value: 'done' });
    const failed = f.failed('work');
    expect(failed.map((l) => l.fields.attempt)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    const delays = failed.map((l) => l.fields.retry_in_ms as number);
    delays.forEach((delay, attempt) => {
      const base = Math.min(16, 4 * 2 ** attempt);
      expect(delay, `attempt ${attempt}`).to.be.within(base / 2, base);
    });
    expect(
      delays.some((d, attempt) => d < Math.min(16, 4 * 2 ** attempt)),
      'jittered, not always the full delay',
    ).to.equal(true);
    expect(failed.every((l) => l.fields.offset === '7' && l.fields.err instanceof Error)).to.equal(true);
    expect(f.retries, 'every failed attempt counted').to.equal(8);
    expect(f.lines.filter((l) => l.msg === 'work_recovered').map((l) => l.fields)).to.deep.equal([
      { offset: '7', attempts: 9 },
    ]);
  });

  it('heartbeats after each failure so the partition stays its own, even when a heartbeat fails', async () => {
    const f = new Fixture();
    f.heartbeatFails = true;
    await f.deliver(async (held) => {
      await held.retry('work', flaky(f, 2));
    });
    expect(f.steps.map((s) => s.kind)).to.deep.equal(['work', 'heartbeat', 'work', 'heartbeat', 'work']);
    expect(f.lines.filter((l) => l.msg === 'kafka_heartbeat_failed')).to.have.length(2);
  });

  it('logs nothing and waits for nothing when the work succeeds at once', async () => {
    const f = new Fixture();
    await f.deliver(async (held) => {
      await held.retry('work', flaky(f, 0));
    });
    expect(f.lines).to.deep.equal([]);
    expect(f.retries).to.equal(0);
  });

  it('throws at once what the owner does not count as retriable', async () => {
    const f = new Fixture();
    const refused = new Error('violates check constraint');
    let thrown: unknown;
    await f.deliver(async (held) => {
      thrown = await held
        .retry(
          'work',
          async () => {
            f.steps.push({ kind: 'work', ok: false });
            throw refused;
          },
          { retriable: (err) => err !== refused },
        )
        .catch((err: unknown) => err);
    });
    expect(thrown).to.equal(refused);
    expect(f.steps.map((s) => s.kind)).to.deep.equal(['work']);
    expect(f.retries).to.equal(0);
    expect(f.lines).to.deep.equal([]);
  });
});

describe('PartitionConsumer: letting go of the partition', () => {
  it('returns not done, without waiting out the backoff, when the consumer stops while retrying', async () => {
    const f = new Fixture({ retry: { initialMs: 60_000, maxMs: 60_000 } });
    const started = Date.now();
    let outcome: unknown;
    const handled = f.deliver(async (held) => {
      outcome = await held.retry('work', flaky(f, Infinity));
      if (held.active()) await held.commit('9');
    });
    await new Promise((r) => setTimeout(r, 20));
    await f.consumer.stop();
    await handled;
    expect(outcome).to.deep.equal({ done: false });
    expect(Date.now() - started).to.be.lessThan(5000);
    expect(
      f.steps.map((s) => s.kind),
      'one attempt, no commit',
    ).to.deep.equal(['work']);
  });

  for (const [why, lose] of [
    ['a rebalance took the partition', (f: Fixture) => (f.running = false)],
    ['the batch went stale', (f: Fixture) => (f.stale = true)],
  ] as const) {
    it(`returns not done after the backoff when ${why}`, async () => {
      const f = new Fixture();
      let outcome: unknown;
      let activeAfter: boolean | undefined;
      await f.deliver(async (held) => {
        outcome = await held.retry('work', async () => {
          lose(f);
          return flaky(f, 1)();
        });
        activeAfter = held.active();
      });
      expect(outcome).to.deep.equal({ done: false });
      expect(activeAfter).to.equal(false);
      expect(
        f.steps.map((s) => s.kind),
        'no heartbeat for a partition no longer ours',
      ).to.deep.equal(['work']);
    });
  }
});

describe('PartitionConsumer: commit after the work', () => {
  it('commits the next offset to read for this group, topic and partition', async () => {
    const f = new Fixture();
    await f.deliver((held) => held.commit('41'));
    expect(f.steps).to.deep.equal([
      { kind: 'commit', offsets: [{ groupId: 'group-1', topic: 'users', partition: 2, offset: '42' }] },
    ]);
  });

  it('commits past offsets beyond 2^53 exactly', async () => {
    const f = new Fixture();
    await f.deliver((held) => held.commit('9007199254740993'));
    expect(f.steps).to.deep.equal([
      {
        kind: 'commit',
        offsets: [{ groupId: 'group-1', topic: 'users', partition: 2, offset: '9007199254740994' }],
      },
    ]);
  });

  it('writes dead letters in one transaction with the commit past them, never a plain commit beside', async () => {
    const f = new Fixture();
    await f.deliver((held) => held.commit('12', [letter('10'), letter('12')]));
    expect(f.steps).to.deep.equal([
      {
        kind: 'letters-and-commit',
        letters: ['10', '12'],
        commit: { groupId: 'group-1', topic: 'users', partition: 2, offset: '13' },
      },
    ]);
  });

  it('a commit retried with the work it follows comes once, after the work succeeded', async () => {
    const f = new Fixture();
    await f.deliver(async (held) => {
      const work = await held.retry('work', flaky(f, 2));
      if (work.done) await held.commit('5');
    });
    expect(f.steps.map((s) => s.kind)).to.deep.equal([
      'work',
      'heartbeat',
      'work',
      'heartbeat',
      'work',
      'commit',
    ]);
  });
});
