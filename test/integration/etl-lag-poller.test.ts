import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { LagPoller } from '../../etl/src/lag-poller.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics } from '../../lib/metrics/registry.js';
import { testKafka, waitFor, withAdmin } from '../helpers/kafka-helpers.js';
import { testEnv } from '../helpers/test-env.js';

/**
 * The lag gauges from a real broker's records, with no consumer running: what the alerts
 * read while the ETL's consumer of a topic is stuck (it would set them only after a commit).
 */
describe('ETL lag poller (real broker)', function () {
  this.timeout(60_000);
  const topic = `lag-${randomUUID()}`;
  const groupId = `${topic}-etl`;
  const metrics = createMetrics();
  let brokers: string[];
  let poller: LagPoller;
  const value = async (name: string, partition: number) => {
    const { values } = await metrics.registry.getSingleMetric(name)!.get();
    return values.find((v) => v.labels.topic === topic && v.labels.partition === String(partition))?.value;
  };
  const commit = (offset: string) =>
    withAdmin(brokers, (admin) =>
      admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset }] }),
    );

  before(async () => {
    brokers = testEnv().brokers;
    poller = new LagPoller(
      {
        kafka: testKafka(brokers),
        metrics,
        log: createLogger({ level: 'silent', pretty: false, name: 't' }),
      },
      { sources: [{ topic, groupId }], intervalMs: 600_000 },
    );
    await withAdmin(brokers, (admin) =>
      admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }),
    );
    const producer = testKafka(brokers).producer();
    await producer.connect();
    const messages = Array.from({ length: 10 }, (_, i) => ({ value: String(i), partition: 0 }));
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();
    await poller.start();
  });
  after(() => poller.stop());

  /** Poll times from here: past the real clock of the poll start() runs at once. */
  let t0 = 0;
  it('counts messages behind per partition, the whole topic while the group has committed nothing', async () => {
    t0 = Date.now() + 3_600_000;
    // A group never seen before may find its coordinator still loading: a poll then sets
    // nothing (and logs), and the next one reads it.
    const first = await waitFor(
      'a first poll',
      async () => {
        await poller.poll(t0 + 1_000);
        return value('etl_consumer_lag_messages', 0);
      },
      (v) => v !== undefined,
      20_000,
      200,
    );
    expect(first).to.equal(10);
    expect(await value('etl_consumer_lag_messages', 1)).to.equal(0);
    expect(await value('etl_consumer_stalled_seconds', 1)).to.equal(0);
  });

  it('counts how long a committed offset has stood still with a backlog, back to 0 once it moves', async () => {
    await commit('4');
    await poller.poll(t0 + 2_000);
    expect(await value('etl_consumer_lag_messages', 0)).to.equal(6);
    await poller.poll(t0 + 92_000);
    expect(await value('etl_consumer_stalled_seconds', 0)).to.equal(90);
    await poller.poll(t0 + 152_000);
    expect(await value('etl_consumer_stalled_seconds', 0)).to.equal(150);
    // It moves, with a backlog still behind it: no longer stalled.
    await commit('7');
    await poller.poll(t0 + 153_000);
    expect(await value('etl_consumer_lag_messages', 0)).to.equal(3);
    expect(await value('etl_consumer_stalled_seconds', 0)).to.equal(0);
    await commit('10');
    await poller.poll(t0 + 154_000);
    expect(await value('etl_consumer_lag_messages', 0)).to.equal(0);
    expect(await value('etl_consumer_stalled_seconds', 0)).to.equal(0);
  });
});
