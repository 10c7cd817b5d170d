// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../lib/apm/start.js';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { loadConfig, OPTIONS, type Config } from '../lib/config/config.js';
import type { SqlHttp } from '../lib/sql-http/service.js';
import { DEV_TOKEN_TTL_SEC } from '../lib/auth/dev-token.js';
import { signHs256 } from '../lib/auth/sign-token.js';
import { maskUrlCredentials } from '../lib/config/mask-url.js';
import { runServices, type Service } from '../lib/lifecycle.js';
import { applyDevJwt, devSqlPassword } from '../lib/runtime/dev-secret.js';
import { LocalKafka } from '../lib/runtime/local-kafka.js';
import { warnOnMissingApiNodeFlags } from '../lib/runtime/node-flags.js';
import { isPortFree } from '../lib/runtime/ports.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../lib/runtime/process.js';
import { startupStep } from '../lib/runtime/services.js';
import { composeProcess } from './compose.js';

/**
 * `npm start`: the whole product on this machine. Starts a local Kafka broker when
 * KAFKA_BROKERS is not set, uses the embedded ClickHouse engine when CLICKHOUSE_URL is not
 * set and a generated dev secret when no JWT config is set; then prints the URL, a dev
 * token and a curl command that works when pasted.
 */
async function main(): Promise<void> {
  const env = { ...process.env };
  const { local, sqlHttp } = loadConfig(env);
  // A local clickhouse-server often holds 8123. The default port then gives way to a free
  // one (the banner prints it); a port the user chose is theirs: say which option moves it.
  if (
    sqlHttp.enabled &&
    !env.CLICKHOUSE_URL &&
    sqlHttp.port !== 0 &&
    !(await isPortFree(sqlHttp.port, sqlHttp.host))
  ) {
    if (env.SQL_HTTP_PORT !== undefined && env.SQL_HTTP_PORT !== '') {
      throw new Error(
        `port ${sqlHttp.port} (the analysts' SQL endpoint) is taken: stop what uses it, set SQL_HTTP_PORT (0: any free port) or SQL_HTTP_ENABLED=false`,
      );
    }
    env.SQL_HTTP_PORT = '0';
  }
  const services: Service[] = [];
  if (!env.KAFKA_BROKERS) {
    if (!(await isPortFree(local.kafkaPort)) || !(await isPortFree(local.kafkaPort + 100))) {
      throw new Error(
        `port ${local.kafkaPort} or ${local.kafkaPort + 100} is taken: stop what uses it, set LOCAL_KAFKA_PORT or KAFKA_BROKERS`,
      );
    }
    const kafka = new LocalKafka({
      dir: resolve(join(local.dataDir, 'kafka')),
      nodes: 1,
      basePort: local.kafkaPort,
    });
    process.on('exit', () => kafka.killAllSync());
    services.push({ name: 'local-kafka', start: () => kafka.start(), stop: () => kafka.stop() });
    env.KAFKA_BROKERS = kafka.brokers.join(',');
  }
  applyDevJwt(env, local.dataDir);
  if (!env.SQL_HTTP_PASSWORD && !env.CLICKHOUSE_URL) env.SQL_HTTP_PASSWORD = devSqlPassword(local.dataDir);
  // A development machine has no users topic producer: allow creating users over HTTP.
  env.DEV_ROUTES ??= 'true';

  const base = await createProcessBase('standalone', env);
  warnOnMissingApiNodeFlags(base.log);
  const { services: product, api, sql } = composeProcess('standalone', base);
  // The banner as soon as players and analysts are served (the ETL may still be joining).
  const served =
    Math.max(product.indexOf(api.http), sql === undefined ? -1 : product.indexOf(sql.service)) + 1;
  services.push(
    ...product.slice(0, served),
    startupStep('banner', async () => {
      const url = `http://localhost:${api.http.boundPort}`;
      const viewer = randomUUID();
      const film = randomUUID();
      const token =
        base.config.auth.secret === undefined
          ? '<token from your identity provider>'
          : await signHs256(base.config.auth.secret, {
              sub: viewer,
              ttlSec: DEV_TOKEN_TTL_SEC,
              issuer: base.config.auth.issuer,
              audience: base.config.auth.audience,
            });
      process.stdout.write(
        [
          '',
          `  Streaming analytics is running at ${url}`,
          maskUrlCredentials(
            `  Kafka: ${base.config.kafka.brokers.join(',')}   ClickHouse: ${base.config.clickhouse.url ?? `embedded (${base.config.clickhouse.dataDir})`}`,
          ),
          '',
          `  Dev token (viewer ${viewer}, valid ${DEV_TOKEN_TTL_SEC / 3600} h):`,
          `  TOKEN=${token}`,
          '',
          '  Record a playback position, then read it back (the position shows within about a second of the 202):',
          `  curl -i -X POST ${url}/api/v1/progress/films/${film} -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"position_sec": 754, "duration_sec": 5400}'`,
          `  curl -i ${url}/api/v1/progress/films/${film} -H "Authorization: Bearer $TOKEN"`,
          '',
          ...sqlBanner(base.config, sql),
          '  More tokens: npm run token -- --sub <viewer-uuid>     Stop: Ctrl-C',
          '',
        ].join('\n') + '\n',
      );
    }),
    ...product.slice(served),
  );
  await runServices(
    services,
    base.log,
    base.config.process.shutdownTimeoutMs,
    base.config.process.startupTimeoutMs,
  );
}

/** The analysts' lines: endpoint, credentials, a curl that works when pasted, the terminal client. */
function sqlBanner(config: Config, sql: SqlHttp | undefined): string[] {
  if (sql === undefined || config.sqlHttp.password === undefined) return [];
  const host = config.sqlHttp.host === '0.0.0.0' ? 'localhost' : config.sqlHttp.host;
  const url = `http://${host}:${sql.boundPort}`;
  return [
    `  SQL for analysts (ClickHouse HTTP interface, read-only): ${url}   user ${config.sqlHttp.user}   password ${config.sqlHttp.password}`,
    `  curl -sS '${url}/?database=${config.clickhouse.database}' -u '${config.sqlHttp.user}:${config.sqlHttp.password}' --data-binary 'SELECT count() FROM progress_events'`,
    `  Terminal client: ${sql.boundPort === OPTIONS.sqlHttp.port.parse(undefined) ? '' : `SQL_URL=${url} `}npm run sql     (DBeaver, Grafana, Metabase, @clickhouse/client: docs/analytics.md)`,
    '',
  ];
}

main().then(exitWhenStopped, exitOnFatal);
