import { join } from 'node:path';
import { expect } from 'chai';
import { LocalKafka } from '../../lib/runtime/local-kafka.js';
import { findFreePortBlock } from '../../lib/runtime/ports.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { readAll, waitFor } from '../helpers/kafka-helpers.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { testEnv } from '../helpers/test-env.js';

const CLIENTS = ['kafkajs', 'platformatic'] as const;
const SEND_TIMEOUT_MS = 1500;

/**
 * acks=all, observably: on one broker acks=all and acks=1 behave alike, so this runs 3
 * brokers, topics with replication factor 3 and min.insync.replicas 2. With two brokers
 * stopped the one left leads every partition alone: a producer on acks=1 would have it
 * write and answer 202; on acks=all the API must answer 503 (Retry-After, kafka_unavailable)
 * and the event must never reach the topic. With a second broker back, 202 again. Both
 * producer clients (KAFKA_PRODUCER_CLIENT).
 */
describe('acks=all: with fewer in-sync replicas than required, nothing is acknowledged', function () {
  this.timeout(300_000);
  let kafka: LocalKafka;
  const apis = new Map<(typeof CLIENTS)[number], Harness>();
  const refused = new Map<string, string[]>();
  const acknowledged = new Map<string, string[]>();

  before(async function () {
    this.timeout(300_000);
    kafka = new LocalKafka({
      dir: join(testEnv().workDir, uniqueName('acks-kafka')),
      nodes: 3,
      basePort: await findFreePortBlock(3),
      heap: '384m',
    });
    process.on('exit', () => kafka.killAllSync());
    await kafka.start();
    for (const client of CLIENTS) {
      apis.set(
        client,
        await startHarness({
          brokers: kafka.brokers,
          env: {
            KAFKA_PRODUCER_CLIENT: client,
            KAFKA_REPLICATION_FACTOR: '3',
            KAFKA_MIN_INSYNC_REPLICAS: '2',
            KAFKA_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS),
            LOG_LEVEL: 'warn',
          },
        }),
      );
      refused.set(client, []);
      acknowledged.set(client, []);
    }
  });

  after(async function () {
    this.timeout(120_000);
    const stopped = await Promise.allSettled([...apis.values()].map((h) => h.stop({ boundMs: 20_000 })));
    await kafka?.stop(20_000);
    const failed = stopped.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  });

  async function post(client: (typeof CLIENTS)[number]) {
    const h = apis.get(client)!;
    const event = randomUUID();
    const started = performance.now();
    const res = await request(`${h.url}/api/v1/progress/films/${randomUUID()}`, {
      token: await h.token(),
      body: { position_sec: 1, duration_sec: 2, event_id: event },
    });
    if (res.status === 202) acknowledged.get(client)!.push(event);
    return {
      event,
      status: res.status,
      ms: performance.now() - started,
      retryAfter: res.headers.get('retry-after'),
      code: res.body?.error?.code as string | undefined,
    };
  }

  it('accepts events while all three brokers run', async () => {
    for (const client of CLIENTS) expect((await post(client)).status, client).to.equal(202);
  });

  it('answers 503 with Retry-After and kafka_unavailable, never 202, with two brokers stopped', async () => {
    // Controlled shutdowns, one after the other: leadership ends on broker 1, which stays
    // up and answers; only the replicas acks=all waits for are missing.
    await kafka.kill(3, 'SIGTERM', 20_000);
    await kafka.kill(2, 'SIGTERM', 20_000);
    for (const client of CLIENTS) {
      const results = await Promise.all([post(client), post(client), post(client)]);
      for (const r of results) {
        expect(r.status, `${client}: ${JSON.stringify(r)}`).to.equal(503);
        expect(r.code, client).to.equal('kafka_unavailable');
        expect(r.retryAfter, client).to.equal('1');
        expect(r.ms, client).to.be.lessThan(SEND_TIMEOUT_MS + 500);
        refused.get(client)!.push(r.event);
      }
    }
  });

  it('accepts again once a second broker is back', async () => {
    kafka.restart(2);
    for (const client of CLIENTS)
      await waitFor(
        `${client}: 202 with two brokers`,
        () => post(client),
        (r) => r.status === 202,
        120_000,
        500,
      );
  });

  it('never wrote a refused event to the topic, and has every acknowledged one', async () => {
    for (const client of CLIENTS) {
      const h = apis.get(client)!;
      const inTopic = new Set(
        (await readAll(kafka.brokers, h.config.topics.progress)).map(
          (m) => (JSON.parse(m.value!) as { event_id: string }).event_id,
        ),
      );
      expect(refused.get(client)!.length, client).to.be.at.least(3);
      for (const id of refused.get(client)!)
        expect(inTopic.has(id), `${client}: refused ${id}`).to.equal(false);
      for (const id of acknowledged.get(client)!)
        expect(inTopic.has(id), `${client}: acknowledged ${id}`).to.equal(true);
    }
  });
});
