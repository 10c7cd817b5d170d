/**
 * The resume projection alone as a benchmark target: what the ETL process runs beside its
 * loader (cli/compose.ts), in a process of its own so its CPU per event is measured apart.
 */
import { resumeProjectionOf } from '../../cli/compose.js';
import { createPostgres } from '../../lib/db/postgres-services.js';
import { runServices } from '../../lib/lifecycle.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../../lib/runtime/process.js';

async function main(): Promise<void> {
  const base = await createProcessBase('bench-projection');
  const postgres = createPostgres(base.config, 'bench-projection', base.log);
  await runServices(
    [postgres.closePool, resumeProjectionOf(base, postgres.pool, postgres.prepare)],
    base.log,
    base.config.process.shutdownTimeoutMs,
    base.config.process.startupTimeoutMs,
  );
}

main().then(exitWhenStopped, exitOnFatal);
