import { execFile } from 'node:child_process';
import pg from 'pg';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { loadConfig } from '../../lib/config/config.js';
import { createPostgres } from '../../lib/db/postgres-services.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics } from '../../lib/metrics/registry.js';
import { BENCH_PG_OPTIONS } from '../../stress-testing/src/api-bench-env.js';
import { uniqueName } from '../helpers/ids.js';
import { dropDatabase, testDatabaseUrl, testPostgresServer } from '../helpers/postgres.js';
import { ROOT } from '../helpers/processes.js';
import { loadRules, metricNames } from '../helpers/prometheus.js';

const exec = promisify(execFile);
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
type Port = string | { host_ip?: string; published?: string | number; target?: number };
type Compose = {
  volumes?: Record<string, unknown>;
  services: Record<
    string,
    {
      image?: string;
      environment?: Record<string, string>;
      volumes?: string[];
      depends_on?: unknown;
      command?: string[] | string;
      ports?: Port[];
    }
  >;
};

// What an operator must set (docker-compose.yml refuses to start without each one).
const STACK_ENV = {
  JWT_SECRET: 'j'.repeat(32),
  POSTGRES_PASSWORD: 'pg-superuser-pw',
  POSTGRES_APP_PASSWORD: 'pg-app-pw',
  ELASTIC_PASSWORD: 'elastic-pw',
  KIBANA_SYSTEM_PASSWORD: 'kibana-system-pw',
  APM_ES_PASSWORD: 'apm-writer-pw',
  ELASTIC_APM_SECRET_TOKEN: 'apm-agent-token',
  GRAFANA_ADMIN_PASSWORD: 'grafana-admin-pw',
};

/** The host address a published port listens on ('' = every interface). */
function hostIpOf(port: Port): string {
  if (typeof port !== 'string') return port.host_ip ?? '';
  const parts = port.split(':');
  return parts.length === 3 ? parts[0]! : '';
}

/**
 * No Docker engine runs here: the compose files are validated by Debian's docker-compose
 * (`config` parses and resolves them without an engine), and the pieces that must agree
 * with each other are checked: ClickHouse cluster config, migrations' cluster name,
 * Prometheus targets, Grafana queries against the metrics the code exports.
 */
describe('stack configuration', () => {
  let stack: Compose;
  before(async () => {
    const { stdout } = await exec('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      cwd: ROOT,
      env: { ...process.env, ...STACK_ENV },
    });
    stack = parse(stdout) as Compose;
  });

  it('docker-compose.yml and docker-compose.test.yaml are valid compose files', async () => {
    await exec('docker-compose', ['-f', 'docker-compose.test.yaml', 'config', '-q'], { cwd: ROOT });
    expect(Object.keys(stack.services)).to.include.members([
      'nginx',
      'api-1',
      'api-2',
      'etl-1',
      'etl-2',
      'kafka-1',
      'kafka-2',
      'kafka-3',
      'keeper-1',
      'keeper-2',
      'keeper-3',
      'clickhouse-s1-r1',
      'clickhouse-s1-r2',
      'clickhouse-s2-r1',
      'clickhouse-s2-r2',
      'postgres',
      'cadvisor',
      'node-exporter',
      'prometheus',
      'grafana',
      'elasticsearch',
      'elasticsearch-setup',
      'kibana',
      'apm-server',
      'migrate',
    ]);
  });

  it('publishes only nginx on every interface; monitoring UIs on loopback only', () => {
    const published = Object.entries(stack.services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => ({ name, ip: hostIpOf(p), port: p })),
    );
    const monitoring = published.filter((p) => p.name !== 'nginx');
    // Prometheus, Grafana and Kibana are published (for an SSH tunnel); nothing else is.
    expect(monitoring.map((p) => p.name).sort()).to.deep.equal(['grafana', 'kibana', 'prometheus']);
    for (const p of monitoring) expect(p.ip, `${p.name} ${JSON.stringify(p.port)}`).to.equal('127.0.0.1');
    expect(published.filter((p) => p.name === 'nginx')).to.have.length.greaterThan(0);
  });

  it('runs Elasticsearch with security on, and Kibana and apm-server authenticating', () => {
    const es = stack.services['elasticsearch']!;
    expect(es.environment!['xpack.security.enabled']).to.equal('true');
    expect(es.environment!['ELASTIC_PASSWORD']).to.equal(STACK_ENV.ELASTIC_PASSWORD);
    const kibana = stack.services['kibana']!.environment!;
    expect(kibana['ELASTICSEARCH_USERNAME']).to.equal('kibana_system');
    expect(kibana['ELASTICSEARCH_PASSWORD']).to.equal(STACK_ENV.KIBANA_SYSTEM_PASSWORD);
    // The setup job gives kibana_system and apm_writer the passwords Kibana and apm-server use.
    const setup = stack.services['elasticsearch-setup']!;
    expect(setup.environment).to.include({
      KIBANA_SYSTEM_PASSWORD: STACK_ENV.KIBANA_SYSTEM_PASSWORD,
      APM_ES_PASSWORD: STACK_ENV.APM_ES_PASSWORD,
    });
    const script = read('infra/elasticsearch/setup-users.sh');
    expect(script).to.contain('/_security/user/kibana_system/_password');
    expect(script).to.contain('/_security/user/apm_writer');
    for (const dependant of ['kibana', 'apm-server'])
      expect(JSON.stringify(stack.services[dependant]!.depends_on), dependant).to.contain(
        'elasticsearch-setup',
      );
    const apmServer = stack.services['apm-server']!;
    const command = ([] as string[]).concat(apmServer.command ?? []).join(' ');
    expect(command).to.contain('output.elasticsearch.username=apm_writer');
    expect(command).to.match(/output\.elasticsearch\.password=\$+\{APM_ES_PASSWORD\}/);
    expect(command).to.match(/apm-server\.auth\.secret_token=\$+\{ELASTIC_APM_SECRET_TOKEN\}/);
    expect(apmServer.environment!['ELASTIC_APM_SECRET_TOKEN']).to.equal(STACK_ENV.ELASTIC_APM_SECRET_TOKEN);
    expect(stack.services['api-1']!.environment!['ELASTIC_APM_SECRET_TOKEN']).to.equal(
      STACK_ENV.ELASTIC_APM_SECRET_TOKEN,
    );
    // One 8.x release across the Elastic services.
    const versions = ['elasticsearch', 'elasticsearch-setup', 'kibana', 'apm-server'].map(
      (n) => stack.services[n]!.image!.split(':')[1],
    );
    expect(new Set(versions).size, versions.join(' ')).to.equal(1);
    expect(versions[0]).to.match(/^8\.\d+\.\d+$/);
  });

  it("takes Grafana's admin password from the environment, anonymous access off", () => {
    const grafana = stack.services['grafana']!.environment ?? {};
    expect(grafana['GF_SECURITY_ADMIN_PASSWORD']).to.equal(STACK_ENV.GRAFANA_ADMIN_PASSWORD);
    expect(grafana['GF_SECURITY_ADMIN_PASSWORD']).not.to.equal('admin');
    expect(grafana['GF_AUTH_ANONYMOUS_ENABLED']).to.equal('false');
  });

  it('refuses to start without each credential', async () => {
    for (const missing of Object.keys(STACK_ENV)) {
      const env: NodeJS.ProcessEnv = { ...process.env, ...STACK_ENV };
      delete env[missing];
      const failure = await exec('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
        cwd: ROOT,
        env,
      }).then(
        () => undefined,
        (err: { stderr: string }) => err.stderr,
      );
      expect(failure, `without ${missing}`).to.contain(`set ${missing}`);
    }
  });

  it('connects the app to PostgreSQL as its own role, not postgres', () => {
    const postgres = stack.services['postgres']!;
    const initScript = (postgres.volumes ?? []).find((v) =>
      v.split(':')[1]?.startsWith('/docker-entrypoint-initdb.d/'),
    );
    expect(initScript, 'the role script runs at first start').to.match(/infra\/postgres\/init-app-role\.sh:/);
    for (const api of ['api-1', 'api-2']) {
      const env = stack.services[api]!.environment!;
      const url = new URL(env['POSTGRES_URL']!);
      expect(url.username, api).not.to.equal('postgres');
      expect(url.username, api).to.equal(postgres.environment!['POSTGRES_APP_USER']);
      expect(url.pathname, api).to.equal(`/${postgres.environment!['POSTGRES_APP_DB']}`);
      expect(env['POSTGRES_PASSWORD'], api).to.equal(STACK_ENV.POSTGRES_APP_PASSWORD);
    }
    expect(postgres.environment!['POSTGRES_APP_PASSWORD']).to.equal(STACK_ENV.POSTGRES_APP_PASSWORD);
    expect(postgres.environment).not.to.have.property('POSTGRES_DB');
  });

  it('creates that role without privileges beyond its database, and the migrations run as it', async () => {
    // The init script, run against this machine's PostgreSQL with names of its own.
    const role = uniqueName('sa_app_role');
    const database = uniqueName('sa_app_db');
    const server = testPostgresServer();
    const password = `pw-${role}`;
    await exec('bash', [join(ROOT, 'infra/postgres/init-app-role.sh')], {
      env: {
        ...process.env,
        PGHOST: server.hostname,
        PGPORT: server.port || '5432',
        POSTGRES_USER: decodeURIComponent(server.username || 'postgres'),
        POSTGRES_APP_USER: role,
        POSTGRES_APP_DB: database,
        POSTGRES_APP_PASSWORD: password,
      },
    });
    const url = new URL(testDatabaseUrl(database));
    url.username = role;
    const config = loadConfig({ POSTGRES_URL: url.toString(), POSTGRES_PASSWORD: password });
    const { pool, services } = createPostgres(
      config,
      'stack-config',
      createLogger({ level: 'silent', pretty: false, name: 'test' }),
    );
    try {
      for (const s of services) await s.start();
      const me = await pool.query<{ user: string; super: boolean; createdb: boolean; createrole: boolean }>(
        `SELECT current_user AS user, rolsuper AS super, rolcreatedb AS createdb, rolcreaterole AS createrole
           FROM pg_roles WHERE rolname = current_user`,
      );
      expect(me.rows[0]).to.deep.equal({ user: role, super: false, createdb: false, createrole: false });
      const applied = await pool.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
      expect(Number(applied.rows[0]!.n)).to.be.greaterThan(0);
      const owner = await pool.query<{ owner: string }>(
        'SELECT tableowner AS owner FROM pg_tables WHERE tablename = $1',
        ['schema_migrations'],
      );
      expect(owner.rows[0]!.owner).to.equal(role);
      const refused = await pool.query(`CREATE DATABASE ${pg.escapeIdentifier(`${database}_x`)}`).then(
        () => undefined,
        (err: { code?: string }) => err.code,
      );
      expect(refused, 'no CREATEDB').to.equal('42501');
    } finally {
      for (const s of [...services].reverse()) await s.stop();
      await dropDatabase(testDatabaseUrl(database));
      const admin = new pg.Client({ connectionString: testDatabaseUrl('postgres') });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
      await admin.end();
    }
  });

  it('mounts the certificate and key the HTTPS server of nginx reads, and publishes 443', () => {
    const conf = read('infra/nginx/nginx.conf');
    expect(conf).to.match(/^\s*listen 443 ssl;/m);
    const files = [...conf.matchAll(/^\s*ssl_certificate(?:_key)?\s+(\S+);/gm)].map((m) => m[1]!);
    expect(files).to.have.length(2);
    const nginx = stack.services.nginx!;
    const targets = (nginx.volumes ?? []).map((v) => v.split(':')[1]!);
    for (const f of files)
      expect(
        targets.some((t) => f.startsWith(`${t}/`)),
        `a volume holds ${f}`,
      ).to.equal(true);
    const ports = (nginx.ports ?? []).map((p) =>
      typeof p === 'string' ? Number(p.split(':').pop()) : p.target,
    );
    expect(ports).to.include(443);
  });

  it('pins every image version', () => {
    const raw = parse(read('docker-compose.yml')) as Record<string, unknown>;
    const images = JSON.stringify(raw).match(/"image":"[^"]+"/g) ?? [];
    expect(images.length).to.be.greaterThan(8);
    for (const i of images)
      expect(i, i)
        .to.match(/:[0-9v][^"]*"$/)
        .and.not.to.match(/:latest"/);
  });

  it("keeps every stateful service's data on a named volume, where the service writes it", () => {
    // Where each one keeps its state. In the container's own layer (or an anonymous volume),
    // `docker compose down` or a recreate would lose accepted events not yet loaded, stored
    // assignments, replicated tables and their Keeper metadata.
    const dataDirs: Record<string, string> = {
      postgres: '/var/lib/postgresql/data',
      prometheus: '/prometheus',
      grafana: '/var/lib/grafana',
      elasticsearch: '/usr/share/elasticsearch/data',
    };
    for (const n of [1, 2, 3]) {
      dataDirs[`kafka-${n}`] = '/var/lib/kafka/data';
      dataDirs[`keeper-${n}`] = '/var/lib/clickhouse';
    }
    for (const r of ['s1-r1', 's1-r2', 's2-r1', 's2-r2']) dataDirs[`clickhouse-${r}`] = '/var/lib/clickhouse';
    const declared = Object.keys(stack.volumes ?? {});
    const named = new Set<string>();
    for (const [service, dir] of Object.entries(dataDirs)) {
      const mounts = (stack.services[service]?.volumes ?? []).map((v) => v.split(':'));
      const mount = mounts.find(([, target]) => target === dir);
      expect(mount, `${service} mounts a volume at ${dir}`).to.not.equal(undefined);
      const source = mount![0]!;
      expect(source, `${service}: a named volume, not a bind mount`).to.match(/^[a-z0-9][a-z0-9_.-]*$/);
      expect(declared, `${service}: ${source} is declared`).to.include(source);
      expect(named.has(source), `${source} is not shared by two services`).to.equal(false);
      named.add(source);
    }
    // Each broker writes its log where its volume is, and each Keeper its log and snapshots.
    for (const n of [1, 2, 3]) {
      expect(stack.services[`kafka-${n}`]!.environment!['KAFKA_LOG_DIRS']).to.equal('/var/lib/kafka/data');
      const keeper = read(`infra/clickhouse/keeper/keeper-${n}.xml`);
      for (const tag of ['log_storage_path', 'snapshot_storage_path']) {
        const path = new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(keeper)?.[1];
        expect(path, `keeper-${n} ${tag}`).to.match(/^\/var\/lib\/clickhouse\//);
      }
    }
  });

  it("gives the benchmarks' PostgreSQL sessions the server settings the stack runs with", () => {
    const flags = (words: string[]) => words.flatMap((w, i) => (words[i - 1] === '-c' ? [w] : [])).sort();
    const stackFlags = flags(([] as string[]).concat(stack.services['postgres']!.command ?? []));
    expect(stackFlags).to.include('wal_compression=lz4');
    expect(flags(BENCH_PG_OPTIONS.split(' '))).to.deep.equal(stackFlags);
  });

  it('has the ClickHouse cluster, the migrations and the app agree on the cluster name and hosts', () => {
    const xml = read('infra/clickhouse/cluster.xml');
    const cluster = /<remote_servers>\s*<(\w+)>/.exec(xml)?.[1];
    expect(cluster).to.equal('streaming');
    const hosts = [...xml.matchAll(/<host>([\w-]+)<\/host><port>9000<\/port>/g)].map((m) => m[1]);
    expect(hosts).to.have.length(4);
    for (const h of hosts) expect(stack.services, h).to.have.property(h!);
    const keepers = [...xml.matchAll(/<host>(keeper-\d)<\/host><port>9181<\/port>/g)].map((m) => m[1]);
    expect(keepers).to.deep.equal(['keeper-1', 'keeper-2', 'keeper-3']);
    for (const k of keepers) expect(stack.services).to.have.property(k!);
    for (const svc of ['migrate', 'api-1', 'etl-1']) {
      expect(stack.services[svc]!.environment!.CLICKHOUSE_CLUSTER, svc).to.equal(cluster);
    }
    // The migrations the migrate service runs, in that cluster.
    const config = loadConfig(stack.services.migrate!.environment);
    const ctx = {
      database: config.clickhouse.database,
      cluster: config.clickhouse.cluster,
      ttlDays: config.clickhouse.ttlDays,
    };
    // Every DDL statement runs on the whole cluster; the rest (an aggregate's backfill and the
    // wait before it) are reads and inserts, which go through the Distributed tables once.
    for (const sql of MIGRATIONS.flatMap((m) => m.statements(ctx))) {
      if (/^\s*(SELECT|INSERT)\b/i.test(sql)) continue;
      expect(sql).to.match(/^\s*(CREATE|ALTER|DROP|RENAME)\b/i);
      expect(sql).to.contain(`ON CLUSTER '${cluster}'`);
    }
    // Every ClickHouse node mounts the cluster config and its own macros (shard, replica).
    for (const h of hosts) {
      const vols = stack.services[h!]!.volumes!.join(' ');
      expect(vols).to.contain('cluster.xml');
      const macro = /macros\/(s\d-r\d)\.xml/.exec(vols)?.[1];
      expect(existsSync(join(ROOT, `infra/clickhouse/macros/${macro}.xml`))).to.equal(true);
      expect(read(`infra/clickhouse/macros/${macro}.xml`)).to.contain(`<replica>${h}</replica>`);
    }
  });

  it('has Prometheus scrape every api and etl instance on its metrics port, cAdvisor and the node exporter', () => {
    const prom = parse(read('infra/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(
      prom.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]),
    );
    const apiPort = loadConfig(stack.services['api-1']!.environment).http.port;
    const etl = loadConfig(stack.services['etl-1']!.environment).etl;
    const etlPort = etl.metricsPort;
    // Off the host by default; in the stack Prometheus scrapes it from its own container.
    expect(loadConfig({}).etl.metricsHost).to.equal('127.0.0.1');
    expect(etl.metricsHost).to.equal('0.0.0.0');
    const services = Object.keys(stack.services);
    expect(targets.api).to.have.members(
      services.filter((s) => /^api-\d$/.test(s)).map((s) => `${s}:${apiPort}`),
    );
    expect(targets.etl).to.have.members(
      services.filter((s) => /^etl-\d$/.test(s)).map((s) => `${s}:${etlPort}`),
    );
    expect(targets.cadvisor).to.deep.equal(['cadvisor:8080']);
    expect(targets.node).to.deep.equal(['node-exporter:9100']);
    // It reads the host's filesystems, not its container's.
    const node = stack.services['node-exporter'] as { command: string[]; volumes: string[] };
    expect(node.command).to.include('--path.rootfs=/host');
    expect(node.volumes).to.include('/:/host:ro,rslave');
  });

  it('has every Grafana panel query a metric the code exports (or cAdvisor does, or a recording rule)', async () => {
    const dashboard = JSON.parse(read('infra/grafana/dashboards/streaming.json')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exported = new Set<string>();
    for (const m of await createMetrics().registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
    }
    const cadvisor = new Set(['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes']);
    // The recording rules (the disk panel reads the node exporter through one).
    const recorded = new Set(loadRules().recording.map((r) => r.record));
    const required = [
      'ingest',
      'p99',
      '503',
      'lag',
      'insert rate',
      'duplicates',
      'dead letters',
      'cpu',
      'memory',
      'disk free',
    ];
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const r of required) expect(titles, r).to.contain(r);
    for (const panel of dashboard.panels) {
      for (const t of panel.targets) {
        const names = metricNames(t.expr);
        expect(names.length, panel.title).to.be.greaterThan(0);
        for (const n of names)
          expect(exported.has(n) || cadvisor.has(n) || recorded.has(n), `${panel.title}: ${n}`).to.equal(
            true,
          );
      }
    }
  });
});
