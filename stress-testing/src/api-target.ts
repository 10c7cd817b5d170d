/**
 * The API as a benchmark target: the real API process shape in its own process, with the
 * embedded engine for reads (the API process refuses that in production, where reads go
 * to a ClickHouse server). Runs migrations first so the read path has its tables.
 */
import { composeProcess } from '../../cli/compose.js';
import { runServices } from '../../lib/lifecycle.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../../lib/runtime/process.js';

async function main(): Promise<void> {
  const base = await createProcessBase('bench-api');
  const { services } = composeProcess('api', base, { name: 'bench-api', migrate: true });
  await runServices(
    services,
    base.log,
    base.config.process.shutdownTimeoutMs,
    base.config.process.startupTimeoutMs,
  );
}

main().then(exitWhenStopped, exitOnFatal);
