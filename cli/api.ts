// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../lib/apm/start.js';
import { ConfigError } from '../lib/errors.js';
import { runServices } from '../lib/lifecycle.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../lib/runtime/process.js';
import { warnOnMissingApiNodeFlags } from '../lib/runtime/node-flags.js';
import { composeProcess } from './compose.js';

/** API process: HTTP → Kafka, resume reads from a ClickHouse server. */
async function main(): Promise<void> {
  const base = await createProcessBase('api');
  warnOnMissingApiNodeFlags(base.log);
  if (base.config.clickhouse.url === undefined) {
    // chdb binds its data directory to one process; the ETL must share it.
    throw new ConfigError(
      'CLICKHOUSE_URL',
      '',
      'a ClickHouse server URL (or run the standalone mode: npm start)',
    );
  }
  const { services } = composeProcess('api', base);
  await runServices(
    services,
    base.log,
    base.config.process.shutdownTimeoutMs,
    base.config.process.startupTimeoutMs,
  );
}

main().then(exitWhenStopped, exitOnFatal);
