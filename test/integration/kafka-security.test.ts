import { join } from 'node:path';
import { expect } from 'chai';
import { PlatformaticTransport } from '../../api/src/ingest/platformatic-transport.js';
import { loadConfig } from '../../lib/config/config.js';
import { createKafka, kafkaClientOptions } from '../../lib/kafka/client.js';
import { createLogger } from '../../lib/log.js';
import { LocalKafka } from '../../lib/runtime/local-kafka.js';
import { findFreePortBlock } from '../../lib/runtime/ports.js';
import { request, startHarness } from '../helpers/harness.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { readAll, waitFor } from '../helpers/kafka-helpers.js';
import { makeTestCertificate, type TestCertificate } from '../helpers/test-certificate.js';
import { testEnv } from '../helpers/test-env.js';

/**
 * Every Kafka client of the product against a broker of its own that also listens with
 * mutual TLS (SSL) and TLS + SCRAM-SHA-256 (SASL_SSL), certificates from a CA made at test
 * time: the API publishes with either producer client, the ETL (kafkajs consumer) loads what
 * it published, and a wrong password, a missing client certificate, a client without TLS and
 * an untrusted broker certificate are refused.
 */
describe('Kafka over TLS and SASL (SCRAM-SHA-256)', function () {
  this.timeout(180_000);
  const password: string = randomUUID();
  let broker: LocalKafka;
  let cert: TestCertificate;

  before(async () => {
    const dir = join(testEnv().workDir, uniqueName('kafka-tls'));
    cert = makeTestCertificate(join(dir, 'cert'));
    broker = new LocalKafka({
      dir: join(dir, 'kafka'),
      nodes: 1,
      basePort: await findFreePortBlock(1, [0, 100, 200, 300]),
      secure: {
        keystoreFile: cert.keystoreFile,
        scramUsers: [{ name: 'analytics', password }],
        clientCaFile: cert.caFile,
      },
    });
    process.on('exit', () => broker.killAllSync());
    await broker.start();
  });
  after(async () => {
    await broker.stop();
  });

  const tls = () => ({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: cert.caFile });
  const scram = (pw = password) => ({
    KAFKA_SASL_MECHANISM: 'scram-sha-256',
    KAFKA_SASL_USERNAME: 'analytics',
    KAFKA_SASL_PASSWORD: pw,
  });
  const post = async (url: string, token: string) =>
    request(`${url}/api/v1/progress/films/${randomUUID()}`, {
      token,
      body: { position_sec: 7, duration_sec: 60 },
    });

  it('API (platformatic producer) -> SASL_SSL -> ETL (kafkajs consumer) -> ClickHouse', async () => {
    const h = await startHarness({
      etl: true,
      brokers: broker.saslSslBrokers,
      env: { ...tls(), ...scram() },
    });
    try {
      expect(h.config.producer.client).to.equal('platformatic');
      const res = await post(h.url, await h.token());
      expect(res.status).to.equal(202);
      const table = `${h.config.clickhouse.database}.progress_events`;
      const stored = async () => {
        const rs = await testEnv().clickhouse.query({
          query: `SELECT count() n FROM ${table} WHERE event_id = {id:UUID}`,
          query_params: { id: res.body.event_id as string },
          format: 'JSONEachRow',
        });
        return Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
      };
      await waitFor('the event loaded by the ETL', stored, (n) => n === 1, 60_000);
    } finally {
      await h.stop();
    }
  });

  const clientCert = () => ({
    KAFKA_SSL_CERT_FILE: cert.clientCertFile,
    KAFKA_SSL_KEY_FILE: cert.clientKeyFile,
  });

  it('API (kafkajs producer) -> SSL listener with mutual TLS, no SASL', async () => {
    const h = await startHarness({
      brokers: broker.sslBrokers,
      env: { ...tls(), ...clientCert(), KAFKA_PRODUCER_CLIENT: 'kafkajs' },
    });
    try {
      const res = await post(h.url, await h.token());
      expect(res.status).to.equal(202);
      const onTopic = await readAll(broker.brokers, h.config.topics.progress);
      expect(onTopic.map((m) => JSON.parse(m.value!).event_id)).to.deep.equal([res.body.event_id]);
    } finally {
      await h.stop();
    }
  });

  const options = (brokers: string[], env: Record<string, string>) =>
    kafkaClientOptions(loadConfig({ KAFKA_BROKERS: brokers.join(','), ...env }), 'test');

  it('refuses a wrong password (both clients)', async () => {
    const wrong = options(broker.saslSslBrokers, { ...tls(), ...scram('not-the-password') });
    const admin = createKafka(wrong, createLogger({ level: 'silent', pretty: false, name: 'test' })).admin();
    expect(
      await failure(
        () => admin.connect(),
        () => admin.disconnect(),
      ),
    ).to.match(/authentication failed/i);
    const producer = new PlatformaticTransport(wrong);
    expect(
      await failure(
        () => producer.connect(),
        () => producer.disconnect(),
      ),
    ).to.match(/authentication/i);
  });

  it('refuses a client without a certificate where mutual TLS is required', async () => {
    const anonymous = new PlatformaticTransport(options(broker.sslBrokers, tls()));
    await failure(
      () => anonymous.connect(),
      () => anonymous.disconnect(),
    );
    const withCert = new PlatformaticTransport(options(broker.sslBrokers, { ...tls(), ...clientCert() }));
    try {
      await withCert.connect();
    } finally {
      await withCert.disconnect();
    }
  });

  it('refuses a client without TLS on the TLS listener, and a broker certificate it cannot verify', async () => {
    const plain = new PlatformaticTransport(options(broker.saslSslBrokers, scram()));
    await failure(
      () => plain.connect(),
      () => plain.disconnect(),
    );
    const untrusted = new PlatformaticTransport(
      options(broker.sslBrokers, { KAFKA_SSL: 'true', ...clientCert() }),
    );
    expect(
      await failure(
        () => untrusted.connect(),
        () => untrusted.disconnect(),
      ),
    ).to.match(/certificate/i);
  });
});

/** Runs `fn`, which must fail; returns the messages of the error and of its causes. */
async function failure(fn: () => Promise<unknown>, close: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return describeChain(err);
  } finally {
    await close().catch(() => undefined);
  }
  throw new Error('expected a refusal, but the client connected');
}

function describeChain(err: unknown, depth = 0): string {
  if (!(err instanceof Error) || depth > 5) return String(err);
  const nested = (err as { errors?: unknown[] }).errors ?? [];
  const parts = [err.message, ...nested.map((e) => describeChain(e, depth + 1))];
  if (err.cause !== undefined) parts.push(describeChain(err.cause, depth + 1));
  return parts.join(' | ');
}
