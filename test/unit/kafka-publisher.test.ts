import { Writable } from 'node:stream';
import { expect } from 'chai';
import { KafkaPublisher, type KeyedMessage } from '../../api/src/ingest/kafka-publisher.js';
import { BatchTimeoutError } from '../../api/src/ingest/micro-batcher.js';
import type { ProduceTransport } from '../../api/src/ingest/produce-transport.js';
import { UnavailableError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics } from '../../lib/metrics/registry.js';

/**
 * The publisher over an in-memory transport (the Kafka client is the only fake; the
 * micro-batcher, metrics and logger are the real ones): what reaches the transport, when
 * publish() settles, and what the HTTP layer sees on failure.
 */

type Step = { kind: 'connect' } | { kind: 'disconnect' } | { kind: 'send'; topic: string; keys: string[] };

class FakeTransport implements ProduceTransport {
  readonly client = 'fake-client';
  readonly steps: Step[] = [];
  connected = false;
  /** When set, each send waits for it (and fails if it rejects). */
  gate: Promise<void> | undefined;
  failWith: Error | undefined;
  async connect(): Promise<void> {
    this.steps.push({ kind: 'connect' });
    this.connected = true;
  }
  async disconnect(): Promise<void> {
    this.steps.push({ kind: 'disconnect' });
    this.connected = false;
  }
  async send(topic: string, messages: readonly KeyedMessage[]): Promise<void> {
    this.steps.push({ kind: 'send', topic, keys: messages.map((m) => m.key) });
    if (this.gate !== undefined) await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
  }
  isConnected(): boolean {
    return this.connected;
  }
  sends(): { topic: string; keys: string[] }[] {
    return this.steps.flatMap((s) => (s.kind === 'send' ? [{ topic: s.topic, keys: s.keys }] : []));
  }
}

function msgs(...keys: string[]): KeyedMessage[] {
  return keys.map((key) => ({ key, value: `{"k":"${key}"}` }));
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => (resolve = res));
  return { promise, resolve };
}

function setup(opts: Partial<ConstructorParameters<typeof KafkaPublisher>[1]> = {}) {
  const transport = new FakeTransport();
  const logLines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  const log = createLogger({ level: 'warn', pretty: false, name: 'test' }, dest);
  const metrics = createMetrics();
  const publisher = new KafkaPublisher(
    transport,
    { lingerMs: 0, maxBatchMessages: 100, sendTimeoutMs: 2000, ...opts },
    log,
    metrics,
  );
  return { transport, publisher, metrics, logLines };
}

async function metricValue(
  metric: { get(): Promise<{ values: { value: number; labels: object; metricName?: string }[] }> },
  topic: string,
  suffix = '',
): Promise<number | undefined> {
  const { values } = await metric.get();
  return values.find(
    (v) =>
      (v.labels as { topic?: string }).topic === topic && (suffix === '' || v.metricName?.endsWith(suffix)),
  )?.value;
}

describe('KafkaPublisher', () => {
  it('connects on start, names its client, and is ready only while connected', async () => {
    const { transport, publisher } = setup();
    expect(publisher.client).to.equal('fake-client');
    expect(publisher.isReady()).to.equal(false);
    await publisher.start();
    expect(transport.steps).to.deep.equal([{ kind: 'connect' }]);
    expect(publisher.isReady()).to.equal(true);
    transport.connected = false;
    expect(publisher.isReady()).to.equal(false);
  });

  it('resolves publish once the transport acknowledged, and counts the messages per topic', async () => {
    const { transport, publisher, metrics } = setup();
    await publisher.start();
    await publisher.publish('progress', msgs('a', 'b', 'c'));
    expect(transport.sends()).to.deep.equal([{ topic: 'progress', keys: ['a', 'b', 'c'] }]);
    expect(await metricValue(metrics.eventsAccepted, 'progress')).to.equal(3);
    expect(await metricValue(metrics.kafkaProduceBatchSize, 'progress', '_sum')).to.equal(3);
    expect(await metricValue(metrics.kafkaProduceBatchSize, 'progress', '_count')).to.equal(1);
    expect(await metricValue(metrics.kafkaProduceDuration, 'progress', '_count')).to.equal(1);
  });

  it('batches each topic on its own: concurrent publishes share a send only within a topic', async () => {
    const { transport, publisher, metrics } = setup({ lingerMs: 5 });
    await publisher.start();
    await Promise.all([
      publisher.publish('progress', msgs('p1')),
      publisher.publish('user_events', msgs('u1', 'u2')),
      publisher.publish('progress', msgs('p2')),
    ]);
    const sends = transport.sends().sort((x, y) => x.topic.localeCompare(y.topic));
    expect(sends).to.deep.equal([
      { topic: 'progress', keys: ['p1', 'p2'] },
      { topic: 'user_events', keys: ['u1', 'u2'] },
    ]);
    expect(await metricValue(metrics.eventsAccepted, 'progress')).to.equal(2);
    expect(await metricValue(metrics.eventsAccepted, 'user_events')).to.equal(2);
  });

  it('sends a batch as soon as it holds maxBatchMessages, and one batch per topic at a time', async () => {
    const { transport, publisher } = setup({ lingerMs: 60_000, maxBatchMessages: 2 });
    await publisher.start();
    const gate = deferred();
    transport.gate = gate.promise;
    const first = Promise.all([publisher.publish('t', msgs('a')), publisher.publish('t', msgs('b'))]);
    const second = Promise.all([publisher.publish('t', msgs('c')), publisher.publish('t', msgs('d'))]);
    await new Promise((r) => setImmediate(r));
    expect(transport.sends(), 'the second full batch waits for the first').to.deep.equal([
      { topic: 't', keys: ['a', 'b'] },
    ]);
    transport.gate = undefined;
    gate.resolve();
    await first;
    await second;
    expect(transport.sends()).to.deep.equal([
      { topic: 't', keys: ['a', 'b'] },
      { topic: 't', keys: ['c', 'd'] },
    ]);
  });

  it('lingers longer on a topic given its own linger, and stop() sends what it holds before disconnecting', async () => {
    const { transport, publisher } = setup({ lingerMs: 0, lingerMsByTopic: { exposures: 60_000 } });
    await publisher.start();
    const exposure = publisher.publish('exposures', msgs('e1'));
    await publisher.publish('progress', msgs('p1'));
    await new Promise((r) => setTimeout(r, 20));
    expect(transport.sends()).to.deep.equal([{ topic: 'progress', keys: ['p1'] }]);
    await publisher.stop();
    await exposure;
    expect(transport.steps.slice(-2)).to.deep.equal([
      { kind: 'send', topic: 'exposures', keys: ['e1'] },
      { kind: 'disconnect' },
    ]);
  });

  it('turns a failed send into a retriable 503 (kafka_unavailable), logs it, and is not ready for a while', async () => {
    const { transport, publisher, metrics, logLines } = setup();
    await publisher.start();
    const boom = new Error('NOT_ENOUGH_REPLICAS');
    transport.failWith = boom;
    const err = await publisher.publish('progress', msgs('a', 'b')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(UnavailableError);
    const u = err as UnavailableError;
    expect(u.status).to.equal(503);
    expect(u.code).to.equal('kafka_unavailable');
    expect(u.retryAfterSec).to.equal(1);
    expect(u.message).to.equal('event store unavailable, retry later');
    expect(u.cause).to.equal(boom);
    expect(await metricValue(metrics.eventsAccepted, 'progress')).to.equal(undefined);
    expect(logLines).to.have.length(1);
    expect(logLines[0]).to.include({
      level: 'warn',
      msg: 'kafka_publish_failed',
      topic: 'progress',
      messages: 2,
      timed_out: false,
    });
    expect(publisher.isReady(), 'a send failed just now').to.equal(false);
  });

  it('is ready again once no send failed for more than 5 seconds', async () => {
    const { transport, publisher } = setup();
    await publisher.start();
    transport.failWith = new Error('down');
    const realNow = Date.now;
    const failedAt = realNow();
    try {
      Date.now = () => failedAt;
      await publisher.publish('t', msgs('a')).catch(() => undefined);
      Date.now = () => failedAt + 5000;
      expect(publisher.isReady()).to.equal(false);
      Date.now = () => failedAt + 5001;
      expect(publisher.isReady()).to.equal(true);
    } finally {
      Date.now = realNow;
    }
  });

  it('answers in time when the broker does not: a 503 saying so, with the timeout as cause', async () => {
    const { transport, publisher, logLines } = setup({ sendTimeoutMs: 20 });
    await publisher.start();
    const never = deferred();
    transport.gate = never.promise;
    const err = await publisher.publish('progress', msgs('a')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(UnavailableError);
    expect((err as UnavailableError).message).to.equal(
      'event store did not acknowledge in time, retry later',
    );
    expect((err as UnavailableError).cause).to.be.instanceOf(BatchTimeoutError);
    expect(logLines[0]).to.include({ timed_out: true });
    never.resolve();
    await publisher.stop();
  });
});
