// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../lib/apm/start.js';
import { runServices } from '../lib/lifecycle.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../lib/runtime/process.js';
import { composeProcess } from './compose.js';

/**
 * ETL process: Kafka → ClickHouse. Without CLICKHOUSE_URL it writes to the embedded engine's
 * data directory, which then belongs to this process alone (use the standalone mode to
 * serve reads from it too).
 */
async function main(): Promise<void> {
  const base = await createProcessBase('etl');
  const { services } = composeProcess('etl', base);
  await runServices(
    services,
    base.log,
    base.config.process.shutdownTimeoutMs,
    base.config.process.startupTimeoutMs,
  );
}

main().then(exitWhenStopped, exitOnFatal);
