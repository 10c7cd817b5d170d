// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../apm/start.js';
import { runServices } from '../lifecycle.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../runtime/process.js';
import { warnOnMissingApiNodeFlags } from '../runtime/node-flags.js';
import { standaloneServices } from '../runtime/standalone.js';

/** api + etl in one process against configured Kafka/ClickHouse (embedded by default). */
async function main(): Promise<void> {
  const base = await createProcessBase('standalone');
  warnOnMissingApiNodeFlags(base.log);
  const { services } = standaloneServices(base);
  await runServices(services, base.log, base.config.shutdownTimeoutMs, base.config.startupTimeoutMs);
}

main().then(exitWhenStopped, exitOnFatal);
