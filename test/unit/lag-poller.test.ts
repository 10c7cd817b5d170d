import { expect } from 'chai';
import type { Kafka } from 'kafkajs';
import { LagPoller, partitionLags, type Stall } from '../../etl/src/lag-poller.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics } from '../../lib/metrics/registry.js';

describe('the ETL lag poller: lag per partition from Kafka offsets', () => {
  const marks = [
    { partition: 0, high: '100', low: '0' },
    { partition: 1, high: '50', low: '40' },
    { partition: 2, high: '7', low: '0' },
  ];

  it('counts from the committed offset, from the low-water mark when nothing (or less) is kept', () => {
    const lags = partitionLags(
      marks,
      [
        { partition: 0, offset: '60' },
        { partition: 1, offset: '10' }, // retention deleted past it
        { partition: 2, offset: '-1' }, // nothing committed yet
      ],
      new Map(),
      0,
    );
    expect(lags.map((l) => l.messages)).to.deep.equal([40, 10, 7]);
  });

  it('reports seconds stood still while the offset does not move with a backlog, 0 while it moves or is caught up', () => {
    const stalls = new Map<number, Stall>();
    const at = (offset0: string, offset2: string, nowMs: number) =>
      partitionLags(
        marks,
        [
          { partition: 0, offset: offset0 },
          { partition: 1, offset: '50' },
          { partition: 2, offset: offset2 },
        ],
        stalls,
        nowMs,
      ).map((l) => l.stalledSeconds);
    expect(at('60', '7', 1_000)).to.deep.equal([0, 0, 0]);
    expect(at('60', '7', 16_000)).to.deep.equal([15, 0, 0]);
    expect(at('60', '3', 31_000)).to.deep.equal([30, 0, 0]);
    // It moved: 0 again (the consumer reports its exact age); stuck anew, counted from here.
    expect(at('80', '3', 46_000)).to.deep.equal([0, 0, 15]);
    expect(at('80', '3', 61_000)).to.deep.equal([15, 0, 30]);
    expect(at('100', '3', 76_000)).to.deep.equal([0, 0, 45]);
    expect(stalls.has(0)).to.equal(false);
  });

  it('never reports a negative lag when the committed offset is past the mark it read', () => {
    expect(
      partitionLags([{ partition: 0, high: '5', low: '0' }], [{ partition: 0, offset: '9' }], new Map(), 0),
    ).to.deep.equal([{ partition: 0, messages: 0, stalledSeconds: 0 }]);
  });

  it('runs polls one after another: one held in the client lands before a later one starts', async () => {
    // The committed offset the fake broker reports, read when a poll reaches it.
    let committed = '2';
    const calls: string[] = [];
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    let first = true;
    const admin = {
      connect: async () => {},
      disconnect: async () => {},
      fetchTopicOffsets: async () => {
        calls.push(`marks@${committed}`);
        if (first) {
          first = false;
          await held;
        }
        return [{ partition: 0, high: '10', low: '0', offset: '10' }];
      },
      fetchOffsets: async () => [{ topic: 't', partitions: [{ partition: 0, offset: committed }] }],
    };
    const metrics = createMetrics();
    const poller = new LagPoller(
      {
        kafka: { admin: () => admin } as unknown as Kafka,
        metrics,
        log: createLogger({ level: 'silent', pretty: false, name: 't' }),
      },
      { sources: [{ topic: 't', groupId: 'g' }], intervalMs: 600_000 },
    );
    const stalled = async () =>
      (await metrics.consumerStalledSeconds.get()).values.find((v) => v.labels.topic === 't')?.value;
    const slow = poller.poll(1_000);
    const later = poller.poll(5_000);
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).to.deep.equal(['marks@2']);
    release();
    await Promise.all([slow, later]);
    expect(calls).to.deep.equal(['marks@2', 'marks@2']);
    // Stood still since the held poll's time, counted at the later one's.
    expect(await stalled()).to.equal(4);
    committed = '4';
    await poller.poll(6_000);
    expect(await stalled()).to.equal(0);
  });
});
