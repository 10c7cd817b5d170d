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
import { devSecret, devSqlPassword } from '../lib/runtime/dev-secret.js';
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
  const { localDataDir, localKafkaPort, sqlHttpEnabled, sqlHttpPort, sqlHttpHost } = loadConfig(env);
  // A local clickhouse-server often holds 8123. The default port then gives way to a free
  // one (the banner prints it); a port the user chose is theirs: say which option moves it.
  if (
    sqlHttpEnabled &&
    !env.CLICKHOUSE_URL &&
    sqlHttpPort !== 0 &&
    !(await isPortFree(sqlHttpPort, sqlHttpHost))
  ) {
    if (env.SQL_HTTP_PORT !== undefined && env.SQL_HTTP_PORT !== '') {
      throw new Error(
        `port ${sqlHttpPort} (the analysts' SQL endpoint) is taken: stop what uses it, set SQL_HTTP_PORT (0: any free port) or SQL_HTTP_ENABLED=false`,
      );
    }
    env.SQL_HTTP_PORT = '0';
  }
  const services: Service[] = [];
  if (!env.KAFKA_BROKERS) {
    if (!(await isPortFree(localKafkaPort)) || !(await isPortFree(localKafkaPort + 100))) {
      throw new Error(
        `port ${localKafkaPort} or ${localKafkaPort + 100} is taken: stop what uses it, set LOCAL_KAFKA_PORT or KAFKA_BROKERS`,
      );
    }
    const kafka = new LocalKafka({
      dir: resolve(join(localDataDir, 'kafka')),
      nodes: 1,
      basePort: localKafkaPort,
    });
    process.on('exit', () => kafka.killAllSync());
    services.push({ name: 'local-kafka', start: () => kafka.start(), stop: () => kafka.stop() });
    env.KAFKA_BROKERS = kafka.brokers.join(',');
  }
  if (!env.JWT_SECRET && !env.JWT_JWKS_URL) env.JWT_SECRET = devSecret(localDataDir);
  if (!env.SQL_HTTP_PASSWORD && !env.CLICKHOUSE_URL) env.SQL_HTTP_PASSWORD = devSqlPassword(localDataDir);
  // A development machine has no users topic producer: allow creating users over HTTP.
  env.DEV_ROUTES ??= 'true';

  const base = await createProcessBase('standalone', env);
  warnOnMissingApiNodeFlags(base.log);
  const { services: product, api, sql } = composeProcess('standalone', base);
  services.push(...product);
  services.push(
    startupStep('banner', async () => {
      const url = `http://localhost:${api.http.boundPort}`;
      const viewer = randomUUID();
      const film = randomUUID();
      const token =
        base.config.jwtSecret === undefined
          ? '<token from your identity provider>'
          : await signHs256(base.config.jwtSecret, {
              sub: viewer,
              ttlSec: DEV_TOKEN_TTL_SEC,
              issuer: base.config.jwtIssuer,
              audience: base.config.jwtAudience,
            });
      process.stdout.write(
        [
          '',
          `  Streaming analytics is running at ${url}`,
          maskUrlCredentials(
            `  Kafka: ${base.config.kafkaBrokers.join(',')}   ClickHouse: ${base.config.clickhouseUrl ?? `embedded (${base.config.clickhouseDataDir})`}`,
          ),
          '',
          `  Dev token (viewer ${viewer}, valid ${DEV_TOKEN_TTL_SEC / 3600} h):`,
          `  TOKEN=${token}`,
          '',
          '  Record a playback position, then read it back:',
          `  curl -i -X POST ${url}/api/v1/progress/films/${film} -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"position_sec": 754, "duration_sec": 5400}'`,
          `  curl -i ${url}/api/v1/progress/films/${film} -H "Authorization: Bearer $TOKEN"`,
          '',
          ...sqlBanner(base.config, sql),
          '  More tokens: npm run token -- --sub <viewer-uuid>     Stop: Ctrl-C',
          '',
        ].join('\n') + '\n',
      );
    }),
  );
  await runServices(services, base.log, base.config.shutdownTimeoutMs, base.config.startupTimeoutMs);
}

/** The analysts' lines: endpoint, credentials, a curl that works when pasted, the terminal client. */
function sqlBanner(config: Config, sql: SqlHttp | undefined): string[] {
  if (sql === undefined || config.sqlHttpPassword === undefined) return [];
  const host = config.sqlHttpHost === '0.0.0.0' ? 'localhost' : config.sqlHttpHost;
  const url = `http://${host}:${sql.boundPort}`;
  return [
    `  SQL for analysts (ClickHouse HTTP interface, read-only): ${url}   user ${config.sqlHttpUser}   password ${config.sqlHttpPassword}`,
    `  curl -sS '${url}/?database=${config.clickhouseDatabase}' -u '${config.sqlHttpUser}:${config.sqlHttpPassword}' --data-binary 'SELECT count() FROM progress_events'`,
    `  Terminal client: ${sql.boundPort === OPTIONS.sqlHttpPort.parse(undefined) ? '' : `SQL_URL=${url} `}npm run sql     (DBeaver, Grafana, Metabase, @clickhouse/client: docs/analytics.md)`,
    '',
  ];
}

main().then(exitWhenStopped, exitOnFatal);
