import { join } from 'node:path';
import { expect } from 'chai';
import { LocalKafka } from '../../lib/runtime/local-kafka.js';
import { findFreePortBlock } from '../../lib/runtime/ports.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { readAll, waitFor } from '../helpers/kafka-helpers.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { testEnv } from '../helpers/test-env.js';

/**
 * The API against a broker that hangs (SIGSTOP) and one that dies (SIGKILL): a fast 503
 * with Retry-After, never a 202 the broker did not acknowledge, and recovery by itself.
 */
// Both producer clients (KAFKA_PRODUCER_CLIENT) must keep the promise: 503 fast, never a
// 202 for an event the broker does not have.
for (const client of ['kafkajs', 'platformatic'] as const)
  describe(`API during a Kafka outage (${client} producer)`, function () {
    this.timeout(240_000);
    let kafka: LocalKafka;
    let h: Harness;
    const acknowledged: string[] = [];
    const SEND_TIMEOUT_MS = 1500;

    before(async () => {
      kafka = new LocalKafka({
        dir: join(testEnv().workDir, uniqueName('outage-kafka')),
        nodes: 1,
        basePort: await findFreePortBlock(1),
      });
      await kafka.start();
      h = await startHarness({
        brokers: kafka.brokers,
        env: { KAFKA_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS), KAFKA_PRODUCER_CLIENT: client },
      });
    });
    after(async () => {
      kafka.pause(1, false);
      await h.stop();
      await kafka.stop();
    });

    async function post(): Promise<{ status: number; ms: number; retryAfter: string | null; code?: string }> {
      const token = await h.token();
      const event = randomUUID();
      const started = Date.now();
      const res = await request(`${h.url}/api/v1/progress/films/${randomUUID()}`, {
        token,
        body: { position_sec: 1, duration_sec: 2, event_id: event },
      });
      if (res.status === 202) acknowledged.push(event);
      return {
        status: res.status,
        ms: Date.now() - started,
        retryAfter: res.headers.get('retry-after'),
        code: res.body?.error?.code,
      };
    }

    /**
     * The documented refusal (503, Retry-After, kafka_unavailable), answered within the send
     * timeout plus 1.5 s: the publisher's own timer, not Kafka's 30 s request timeout or a
     * client retry schedule (many seconds), bounds the wait. The margin is for a loaded host.
     */
    function expectPromptRefusal(results: Awaited<ReturnType<typeof post>>[]): void {
      for (const r of results) {
        expect(r.status, JSON.stringify(r)).to.equal(503);
        expect(r.code).to.equal('kafka_unavailable');
        expect(r.retryAfter).to.equal('1');
        expect(r.ms, 'answered within the send timeout + 1.5 s').to.be.lessThan(SEND_TIMEOUT_MS + 1500);
      }
    }

    it('accepts events while the broker is healthy', async () => {
      expect((await post()).status).to.equal(202);
    });

    it('answers 503 with Retry-After instead of hanging when the broker stops responding', async () => {
      await kafka.pauseUntilStopped(1);
      expectPromptRefusal(await Promise.all([post(), post(), post()]));
      expect((await request(`${h.url}/readyz`)).status).to.equal(503);
      // Lines other modules log during a request carry its request id too.
      const failures = h.logs.filter((l) => l.msg === 'kafka_publish_failed');
      expect(failures.length).to.be.greaterThan(0);
      for (const l of failures) expect(l.request_id, JSON.stringify(l)).to.be.a('string');
      const metrics = await (await fetch(`${h.url}/metrics`)).text();
      expect(metrics).to.match(/http_requests_shed_total\{reason="kafka_unavailable".*\} [3-9]/);
      // /readyz answered 503 too, but a probe is not a client's request shed.
      expect(metrics).not.to.match(/http_requests_shed_total\{reason="unavailable"/);
    });

    it('recovers by itself when the broker responds again', async () => {
      kafka.pause(1, false);
      await waitFor('202 after resume', post, (r) => r.status === 202, 60_000, 500);
    });

    it('answers 503 promptly when the broker is killed and while it is unreachable, and recovers when it is back', async () => {
      await kafka.kill(1, 'SIGKILL');
      // Right after the kill: the producer's connection is reset under it.
      expectPromptRefusal(await Promise.all([post(), post(), post()]));
      // Then unreachable: every connection attempt is refused, the client retries meanwhile.
      await waitFor(
        'not ready',
        () => request(`${h.url}/readyz`),
        (x) => x.status === 503,
        30_000,
        200,
      );
      expectPromptRefusal(await Promise.all([post(), post(), post()]));
      kafka.restart(1);
      // Ready again without any event sent meanwhile: behind a load balancer a not-ready
      // instance gets no traffic, so readiness must recover on its own.
      await waitFor(
        'ready again',
        () => request(`${h.url}/readyz`),
        (x) => x.status === 200,
        90_000,
        500,
      );
      await waitFor('202 after restart', post, (x) => x.status === 202, 90_000, 500);
    });

    it('never answered 202 for an event the broker does not have', async () => {
      const inTopic = new Set(
        (await readAll(kafka.brokers, h.config.topics.progress)).map(
          (m) => (JSON.parse(m.value!) as { event_id: string }).event_id,
        ),
      );
      expect(acknowledged.length).to.be.greaterThan(2);
      for (const id of acknowledged) expect(inTopic.has(id), id).to.equal(true);
    });
  });
