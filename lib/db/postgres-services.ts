import type { Pool } from 'pg';
import type { Config } from '../config/config.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { migratePostgres } from './migrate.js';
import { PG_MIGRATIONS } from './migrations/index.js';
import { createPool, ensureDatabase, postgresOptions } from './postgres.js';

export interface Postgres {
  pool: Pool;
  /** Start order: create the database if missing, migrate; stop: close the pool (last). */
  services: Service[];
  /** What the migrations step does at start, for a service that prepares in its own time. */
  prepare: () => Promise<void>;
  /** The first of `services` alone: closes the pool at stop, for a process that prepares with `prepare`. */
  closePool: Service;
}

/** The API's PostgreSQL: a bounded pool, plus the startup steps that prepare the schema. */
export function createPostgres(config: Config, processName: string, log: Logger): Postgres {
  const opts = postgresOptions(config, `streaming-analytics-${processName}`);
  const pool = createPool(opts);
  const plog = log.child({ module: 'postgres' });
  const prepare = async () => {
    if (await ensureDatabase(opts))
      plog.info({ database: new URL(opts.url).pathname.slice(1) }, 'postgres_database_created');
    await migratePostgres(pool, PG_MIGRATIONS, plog);
  };
  const closePool: Service = { name: 'postgres-pool', start: async () => {}, stop: () => pool.end() };
  return {
    pool,
    prepare,
    closePool,
    services: [closePool, { name: 'postgres-migrations', start: prepare, stop: async () => {} }],
  };
}
