import { type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { parse } from 'yaml';
import { findFreePort } from '../../lib/runtime/ports.js';
import { getExperiments, newDevice } from '../helpers/experiments.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { testKafka, waitFor } from '../helpers/kafka-helpers.js';
import { exited, ROOT, spawnTs } from '../helpers/processes.js';
import {
  ALERTMANAGER_CONFIG,
  AlertmanagerServer,
  fastRules,
  NodeExporter,
  PrometheusServer,
  WebhookReceiver,
} from '../helpers/prometheus.js';
import { testEnv } from '../helpers/test-env.js';

// Panels that read cAdvisor's container metrics: no container runs here.
const CADVISOR = /\bcontainer_[a-z_]+/;

interface AlertmanagerConfig {
  route: {
    group_wait?: string;
    group_interval?: string;
    routes?: { group_wait?: string; group_interval?: string }[];
  };
  receivers: { name: string; webhook_configs?: { url: string }[] }[];
}

/** Runs V8's full (major) collection in this process, as a long-running API has them. */
function majorGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * Debian's Prometheus and Alertmanager against the running product: the API in this process
 * (the test harness), the ETL as its own process with its own metrics port, as in
 * production. Prometheus loads the project's rules with every `for:` cut to 2 s and
 * evaluates each second; Alertmanager runs the project's routing with its receivers
 * pointed at a webhook this test serves.
 */
describe('Prometheus and Alertmanager on the running product', function () {
  this.timeout(120_000);
  let h: Harness;
  let etl: ChildProcess;
  let prometheus: PrometheusServer;
  let alertmanager: AlertmanagerServer;
  let nodeExporter: NodeExporter;
  const receiver = new WebhookReceiver();

  before(async () => {
    const env = testEnv();
    majorGc();
    // One device waits while one registers: a burst of new devices gets 503s.
    h = await startHarness({
      env: { EXPERIMENTS_DEVICE_QUEUE_MAX: '1', EXPERIMENTS_DEVICE_LOAD: 'one-statement' },
    });
    const etlPort = await findFreePort();
    const name = uniqueName('prom');
    etl = spawnTs(
      'cli/etl.ts',
      {
        KAFKA_BROKERS: env.brokers.join(','),
        KAFKA_TOPIC_PROGRESS: h.config.topics.progress,
        KAFKA_TOPIC_EVENTS: h.config.topics.events,
        KAFKA_TOPIC_EXPOSURES: h.config.topics.exposures,
        KAFKA_TOPIC_USERS: h.config.topics.users,
        KAFKA_TOPIC_DLQ: h.config.topics.deadLetters,
        ETL_GROUP_ID: h.config.etl.groupId,
        ETL_EVENTS_GROUP_ID: h.config.etl.eventsGroupId,
        ETL_EXPOSURES_GROUP_ID: h.config.etl.exposuresGroupId,
        CLICKHOUSE_URL: '',
        CLICKHOUSE_DATABASE: h.config.clickhouse.database,
        CLICKHOUSE_DATA_DIR: join(env.workDir, `${name}-chdb`),
        ETL_BATCH_MAX_WAIT_MS: '100',
        ETL_METRICS_PORT: String(etlPort),
        // The harness's own database: the projection writes the positions its reads find.
        POSTGRES_URL: h.config.postgres.url,
        RESUME_PROJECTION_GROUP_ID: h.config.resume.groupId,
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      join(env.workDir, `${name}-etl.log`),
    );

    await receiver.start();
    const am = parse(readFileSync(join(ROOT, ALERTMANAGER_CONFIG), 'utf8')) as AlertmanagerConfig;
    for (const r of [am.route, ...(am.route.routes ?? [])]) {
      r.group_wait = '1s';
      r.group_interval = '1s';
    }
    for (const r of am.receivers)
      for (const w of r.webhook_configs ?? [])
        w.url = `http://127.0.0.1:${receiver.port}${new URL(w.url).pathname}`;
    alertmanager = new AlertmanagerServer(
      join(env.workDir, `${name}-am`),
      am as unknown as Record<string, unknown>,
    );
    await alertmanager.start();

    nodeExporter = new NodeExporter(join(env.workDir, `${name}-node`));
    await nodeExporter.start();
    prometheus = new PrometheusServer(
      join(env.workDir, `${name}-prom`),
      {
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${alertmanager.port}`] }] }] },
        scrape_configs: [
          { job_name: 'api', static_configs: [{ targets: [new URL(h.url).host] }] },
          { job_name: 'etl', static_configs: [{ targets: [`127.0.0.1:${etlPort}`] }] },
          { job_name: 'node', static_configs: [{ targets: [`127.0.0.1:${nodeExporter.port}`] }] },
        ],
      },
      fastRules(2),
    );
    await prometheus.start();
  });

  after(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await nodeExporter?.stop();
    await receiver.stop();
    if (etl !== undefined && etl.exitCode === null) {
      etl.kill('SIGTERM');
      await exited(etl);
    }
    await h?.stop();
  });

  it('scrapes the API, the ETL and the node exporter, and after a load every Grafana panel query returns data', async () => {
    await waitFor(
      'every target up',
      () => prometheus.query('up'),
      (r) => r.length === 3 && r.every((s) => s.value[1] === '1'),
      60_000,
      250,
    );
    const token = await h.token();
    const film = randomUUID();
    const send = (eventId: string) =>
      request(`${h.url}/api/v1/progress/films/${film}`, {
        token,
        body: {
          position_sec: 10,
          duration_sec: 5400,
          event_id: eventId,
          occurred_at: new Date().toISOString(),
        },
      });
    // Two waves: a counter's first scrape is its baseline, so rates need a second one.
    let stored = 0;
    for (const wave of [1, 2]) {
      const ids = Array.from({ length: 50 }, () => randomUUID());
      for (const r of await Promise.all(ids.map(send))) expect(r.status, `wave ${wave}`).to.equal(202);
      // Client retries: the same events again, dropped by the ETL as duplicates.
      for (const r of await Promise.all(ids.slice(0, 5).map(send))) expect(r.status).to.equal(202);
      // New devices in bursts until the bounded device queue sheds some with 503.
      await waitFor(
        'a device request shed with 503',
        async () =>
          (await Promise.all(Array.from({ length: 20 }, () => getExperiments(h, newDevice())))).map(
            (r) => r.status,
          ),
        (statuses) => statuses.includes(503) && statuses.includes(200),
        20_000,
        0,
      );
      majorGc();
      stored += ids.length;
      await waitFor(
        `the ETL to store wave ${wave}, as Prometheus sees it`,
        () => prometheus.query('sum(etl_rows_inserted_total)'),
        (r) => Number(r[0]?.value[1] ?? 0) >= stored,
        60_000,
        250,
      );
    }

    const dashboard = JSON.parse(
      readFileSync(join(ROOT, 'infra/grafana/dashboards/streaming.json'), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const queries = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));
    const checked = queries.filter((q) => !CADVISOR.test(q.expr));
    expect(checked.length).to.be.greaterThan(10);
    // A trickle of the same traffic while the panels are read: a panel's rate over the last
    // minute is NaN once the waves are more than a minute old, as on a slow run they can be.
    const trickle = setInterval(() => {
      void send(randomUUID()).catch(() => {});
      void getExperiments(h, newDevice()).catch(() => {});
      void request(`${h.url}/api/v1/progress/films/${film}`, { token }).catch(() => {});
    }, 500);
    try {
      for (const q of checked) {
        const result = await waitFor(
          `data for panel "${q.title}": ${q.expr}`,
          () => prometheus.query(q.expr),
          (r) => r.some((s) => Number.isFinite(Number(s.value[1]))),
          15_000,
          250,
        );
        expect(result.length, q.title).to.be.greaterThan(0);
      }
    } finally {
      clearInterval(trickle);
    }
  });

  it('watches the disk the data lives on through the node exporter, as the disk alerts do', async () => {
    const ratios = await waitFor(
      'node:filesystem_avail:ratio',
      () => prometheus.query('node:filesystem_avail:ratio'),
      (r) => r.length > 0,
      30_000,
      250,
    );
    // The filesystem holding the tests' brokers and engines: the longest mount point above it.
    const all = await prometheus.query('node_filesystem_avail_bytes');
    const dataDir = testEnv().workDir;
    const holding = all
      .map((s) => s.metric.mountpoint!)
      .filter((m) => dataDir === m || dataDir.startsWith(m.endsWith('/') ? m : `${m}/`))
      .sort((a, b) => b.length - a.length)[0];
    expect(holding, dataDir).to.be.a('string');
    const watched = ratios.find((s) => s.metric.mountpoint === holding);
    expect(watched, `${holding} in ${JSON.stringify(ratios.map((s) => s.metric))}`).to.not.equal(undefined);
    expect(Number(watched!.value[1])).to.be.within(0, 1);
  });

  it("keeps a disk's DiskFillingUp quiet while its DiskFullSoon pages, not another disk's (Alertmanager's inhibition)", async () => {
    const disk = (alertname: string, mountpoint: string) => ({
      labels: { alertname, mountpoint, instance: 'node-exporter:9100', job: 'node', severity: 'x' },
      startsAt: new Date().toISOString(),
    });
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        disk('DiskFullSoon', '/data'),
        disk('DiskFillingUp', '/data'),
        disk('DiskFillingUp', '/logs'),
      ]),
    });
    expect(posted.status).to.equal(200);
    type AmAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    const alerts = await waitFor(
      'Alertmanager to judge the disk alerts',
      async () =>
        ((await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as AmAlert[]).filter((a) =>
          a.labels.alertname!.startsWith('Disk'),
        ),
      (list) => list.length === 3 && list.some((a) => a.status.state === 'suppressed'),
      15_000,
      250,
    );
    const state = (name: string, mount: string) =>
      alerts.find((a) => a.labels.alertname === name && a.labels.mountpoint === mount)!.status;
    expect(state('DiskFillingUp', '/data').state).to.equal('suppressed');
    expect(state('DiskFillingUp', '/data').inhibitedBy).to.have.length(1);
    expect(state('DiskFillingUp', '/logs').state).to.equal('active');
    expect(state('DiskFullSoon', '/data').state).to.equal('active');
  });

  it('fires DeadLettersGrowing on garbage in the progress topic, and Alertmanager delivers it to the webhook', async () => {
    const producer = testKafka(testEnv().brokers).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: h.config.topics.progress,
        messages: [
          { key: 'garbage', value: 'not json at all' },
          { key: 'garbage', value: '{"schema_version":1}' },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const delivered = await waitFor(
      'DeadLettersGrowing at the webhook',
      () => Promise.resolve(receiver.posts),
      (posts) =>
        posts.some((p) =>
          p.body.alerts.some((a) => a.labels.alertname === 'DeadLettersGrowing' && a.status === 'firing'),
        ),
      60_000,
      250,
    );
    const post = delivered.find((p) =>
      p.body.alerts.some((a) => a.labels.alertname === 'DeadLettersGrowing'),
    )!;
    // A warning: the tickets receiver, not the pager.
    expect(post.path).to.equal('/tickets');
    expect(post.body.receiver).to.equal('tickets');
    const alert = post.body.alerts.find((a) => a.labels.alertname === 'DeadLettersGrowing')!;
    expect(alert.labels).to.include({
      topic: h.config.topics.progress,
      stage: 'decode',
      severity: 'warning',
    });
    expect(alert.annotations.summary).to.match(
      new RegExp(`^About \\d+ messages of ${h.config.topics.progress} dead-lettered at stage decode`),
    );
    expect(alert.annotations.runbook_url).to.equal('docs/runbook.md#deadlettersgrowing');
    const firing = await prometheus.alerts();
    expect(firing.map((a) => a.labels.alertname)).not.to.include('ScrapeTargetDown');
  });
});
