import type { ChildProcess } from 'node:child_process';
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
  /** Every event request body as the agent sent it (decompressed). */
  bodies: string[];
  authorizations: string[];
}

interface App {
  proc: ChildProcess;
  url: string;
  topic: string;
  secret: string;
  logFile: string;
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
  const intake: Intake = { events: [], bodies: [], authorizations: [] };
  const apmToken = `apm-secret-${randomUUID()}`;

  before(async () => {
    intakeServer = createServer((req, res) => {
      intake.authorizations.push(req.headers.authorization ?? '');
      void readBody(req).then((body) => {
        if (req.url?.startsWith('/intake/v2/events')) {
          intake.bodies.push(body);
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

  /** The real entry point with the agent on, reporting to this intake; ready to serve. */
  async function startApp(): Promise<App> {
    const env = testEnv();
    const port = await findFreePort();
    const topic = uniqueName('apm');
    const secret = `apm-test-secret-${randomUUID()}`;
    const logFile = join(env.workDir, `${topic}.log`);
    const proc = spawnTs(
      'cli/standalone.ts',
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
        // This test is about spans, not the send deadline: one process runs API, ETL and
        // engine on a busy shard, where a cold producer's first ack can pass the default.
        KAFKA_SEND_TIMEOUT_MS: '15000',
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
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        'ready',
        () => request(`${url}/readyz`),
        (r) => r.status === 200,
        120_000,
        250,
      );
    } catch (err) {
      proc.kill('SIGTERM');
      await exited(proc);
      throw err;
    }
    return { proc, url, topic, secret, logFile };
  }

  async function stopApp(app: App): Promise<string> {
    app.proc.kill('SIGTERM');
    await exited(app.proc);
    return readFileSync(app.logFile, 'utf8');
  }

  it('sends HTTP and ETL transactions with Kafka, ClickHouse and PostgreSQL spans', async () => {
    const app = await startApp();
    const { url, topic, secret } = app;
    try {
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
      const post = txNamed('POST /api/v1/progress/films/:film_id');
      const get = txNamed('GET /api/v1/progress/films/:film_id');
      const etl = txNamed(`ETL batch ${topic}`);
      // Each transaction's own spans, read fresh from the intake. A wait that runs out is
      // reported by the assertions below, which name the span that never came.
      const spansOf = (tx: { id: string }) =>
        intake.events.filter((e) => e.span?.transaction_id === tx.id).map((e) => e.span);
      await waitFor(
        'spans',
        async () => [spansOf(post), spansOf(get), spansOf(etl)] as const,
        ([p, g, e]) =>
          p.some((x) => x.name === `Kafka produce ${topic}`) &&
          g.some((x) => x.subtype === 'postgresql') &&
          e.some((x) => x.name.startsWith('ClickHouse INSERT')),
        30_000,
        250,
      ).catch(() => undefined);
      expect(spansOf(post).map((x) => x.name)).to.include(`Kafka produce ${topic}`);
      // The resume lookup reads the read model in PostgreSQL (architecture/adr/0011).
      expect(spansOf(get).map((x) => x.subtype)).to.include('postgresql');
      expect(
        spansOf(etl)
          .map((x) => x.name)
          .some((n: string) => n.startsWith('ClickHouse INSERT')),
      ).to.equal(true);
      expect(post.result).to.equal('HTTP 2xx');
      const metadata = intake.events.find((e) => e.metadata !== undefined)?.metadata;
      expect(metadata.service.name).to.equal('streaming-test');
      expect(intake.authorizations.filter((a) => a !== '')).to.include(`Bearer ${apmToken}`);
    } finally {
      const logs = await stopApp(app);
      expect(logs).not.to.contain(apmToken);
      expect(logs).not.to.contain(secret);
    }
  });

  it('never sends the query string of a signed report download link', async () => {
    const app = await startApp();
    try {
      const admin = await signHs256(app.secret, { sub: randomUUID(), roles: ['admin'], ttlSec: 600 });
      const period = new Date().toISOString().slice(0, 7);
      const linkRes = await request(`${app.url}/api/v1/segments/history?period=${period}`, { token: admin });
      expect(linkRes.status, JSON.stringify(linkRes.body)).to.equal(200);
      const link = new URL(linkRes.body.url as string, app.url);
      const signature = link.searchParams.get('signature')!;
      expect(signature).to.have.length.greaterThan(20);
      // Requested where the server is, with the signed query exactly as handed out.
      const download = await fetch(`${app.url}${link.pathname}${link.search}`);
      expect(download.status).to.equal(200);
      await download.text();

      const requestUrlOf = (pathname: string) =>
        intake.events.find((e) => e.transaction?.context?.request?.url?.pathname === pathname)?.transaction
          .context.request.url;
      await waitFor(
        'the download transaction at the intake',
        async () => intake.events.length,
        () =>
          requestUrlOf(link.pathname) !== undefined && requestUrlOf('/api/v1/segments/history') !== undefined,
        60_000,
        250,
      );
      // Recorded (path kept), its query not: not in any field, nor anywhere in what was sent.
      const recorded = requestUrlOf(link.pathname);
      expect(recorded.full).to.equal(`${app.url}${link.pathname}`);
      expect(recorded).not.to.have.property('search');
      for (const body of intake.bodies) {
        expect(body).not.to.contain(signature);
        expect(body).not.to.contain(encodeURIComponent(signature));
        expect(body).not.to.contain(link.search.slice(1));
      }
    } finally {
      await stopApp(app);
    }
  });
});
