// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../lib/apm/start.js';
import { runServices } from '../lib/lifecycle.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../lib/runtime/process.js';
import { warnOnMissingApiNodeFlags } from '../lib/runtime/node-flags.js';
import { composeProcess } from './compose.js';

/** api + etl in one process against configured Kafka/ClickHouse (embedded by default). */
async function main(): Promise<void> {
  const base = await createProcessBase('standalone');
  warnOnMissingApiNodeFlags(base.log);
  const { services } = composeProcess('standalone', base);
  await runServices(
    services,
    base.log,
    base.config.process.shutdownTimeoutMs,
    base.config.process.startupTimeoutMs,
  );
}

main().then(exitWhenStopped, exitOnFatal);
