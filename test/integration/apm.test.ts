import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { expect } from 'chai';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { findFreePort } from '../../lib/runtime/ports.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { waitFor } from '../helpers/kafka-helpers.js';
import { request } from '../helpers/harness.js';
import { spawnTs, exited } from '../helpers/processes.js';
import { testEnv } from '../helpers/test-env.js';

interface Intake {
  events: Record<string, any>[];
  authorizations: string[];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const stream = req.headers['content-encoding'] === 'gzip' ? req.pipe(createGunzip()) : req;
  let text = '';
  for await (const chunk of stream) text += (chunk as Buffer).toString('utf8');
  return text;
}

/**
 * The APM server cannot run here; this test plays its intake endpoint and checks that the
 * real agent, started by the real entry point, sends transactions and spans for a request
 * and for an ETL batch, with the secret token in the header and never in the logs.
 */
describe('Elastic APM (opt-in)', function () {
  this.timeout(180_000);
  let intakeServer: Server;
  const intake: Intake = { events: [], authorizations: [] };
  const apmToken = `apm-secret-${randomUUID()}`;

  before(async () => {
    intakeServer = createServer((req, res) => {
      intake.authorizations.push(req.headers.authorization ?? '');
      void readBody(req).then((body) => {
        if (req.url?.startsWith('/intake/v2/events')) {
          for (const line of body.split('\n').filter(Boolean))
            intake.events.push(JSON.parse(line) as Record<string, any>);
          res.statusCode = 202;
        } else {
          res.statusCode = 200; // server info / central config
          res.setHeader('Content-Type', 'application/json');
          res.write('{}');
        }
        res.end();
      });
    });
    await new Promise<void>((r) => intakeServer.listen(0, '127.0.0.1', r));
  });
  after(() => {
    intakeServer.close();
  });

  it('sends HTTP and ETL transactions with Kafka and ClickHouse spans', async () => {
    const env = testEnv();
    const port = await findFreePort();
    const topic = uniqueName('apm');
    const secret = `apm-test-secret-${randomUUID()}`;
    const logFile = join(env.workDir, `${topic}.log`);
    const app = spawnTs(
      'lib/cli/standalone.ts',
      {
        PORT: String(port),
        HOST: '127.0.0.1',
        KAFKA_BROKERS: env.brokers.join(','),
        KAFKA_TOPIC_PROGRESS: topic,
        KAFKA_TOPIC_EVENTS: `${topic}-events`,
        KAFKA_TOPIC_DLQ: `${topic}-dlq`,
        ETL_GROUP_ID: `${topic}-etl`,
        ETL_EVENTS_GROUP_ID: `${topic}-etl-events`,
        ETL_BATCH_MAX_WAIT_MS: '100',
        CLICKHOUSE_DATA_DIR: join(env.workDir, `${topic}-chdb`),
        JWT_SECRET: secret,
        LOG_LEVEL: 'debug',
        ELASTIC_APM_SERVER_URL: `http://127.0.0.1:${(intakeServer.address() as AddressInfo).port}`,
        ELASTIC_APM_SERVICE_NAME: 'streaming-test',
        ELASTIC_APM_SECRET_TOKEN: apmToken,
        ELASTIC_APM_API_REQUEST_TIME: '1s',
        ELASTIC_APM_CENTRAL_CONFIG: 'false',
        ELASTIC_APM_METRICS_INTERVAL: '0s',
      },
      logFile,
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(
        'ready',
        () => request(`${url}/readyz`),
        (r) => r.status === 200,
        120_000,
        250,
      );
      const token = await signHs256(secret, { sub: randomUUID(), ttlSec: 600 });
      const film = randomUUID();
      expect(
        (
          await request(`${url}/api/v1/progress/films/${film}`, {
            token,
            body: { position_sec: 5, duration_sec: 10 },
          })
        ).status,
      ).to.equal(202);
      await waitFor(
        'resume',
        () => request(`${url}/api/v1/progress/films/${film}`, { token }),
        (r) => r.status === 200,
        60_000,
        200,
      );

      const txNamed = (name: string) => intake.events.find((e) => e.transaction?.name === name)?.transaction;
      await waitFor(
        'transactions at the intake',
        async () => intake.events.length,
        () =>
          txNamed('POST /api/v1/progress/films/:film_id') !== undefined &&
          txNamed('GET /api/v1/progress/films/:film_id') !== undefined &&
          txNamed(`ETL batch ${topic}`) !== undefined,
        60_000,
        250,
      );
      const spans = intake.events.filter((e) => e.span !== undefined).map((e) => e.span);
      const post = txNamed('POST /api/v1/progress/films/:film_id');
      const get = txNamed('GET /api/v1/progress/films/:film_id');
      const etl = txNamed(`ETL batch ${topic}`);
      await waitFor(
        'spans',
        async () => intake.events.filter((e) => e.span !== undefined).length,
        () => {
          const s = intake.events.filter((e) => e.span !== undefined).map((e) => e.span);
          return (
            s.some((x) => x.transaction_id === post.id && x.name === `Kafka produce ${topic}`) &&
            s.some((x) => x.transaction_id === get.id && x.subtype === 'clickhouse') &&
            s.some((x) => x.transaction_id === etl.id && x.name.startsWith('ClickHouse INSERT'))
          );
        },
        30_000,
        250,
      );
      expect(spans.length).to.be.greaterThan(0);
      expect(post.result).to.equal('HTTP 2xx');
      const metadata = intake.events.find((e) => e.metadata !== undefined)?.metadata;
      expect(metadata.service.name).to.equal('streaming-test');
      expect(intake.authorizations.filter((a) => a !== '')).to.include(`Bearer ${apmToken}`);
    } finally {
      app.kill('SIGTERM');
      await exited(app);
    }
    const logs = readFileSync(logFile, 'utf8');
    expect(logs).not.to.contain(apmToken);
    expect(logs).not.to.contain(secret);
  });
});
