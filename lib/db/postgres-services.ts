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
}

/** The API's PostgreSQL: a bounded pool, plus the startup steps that prepare the schema. */
export function createPostgres(config: Config, processName: string, log: Logger): Postgres {
  const opts = postgresOptions(config, `streaming-analytics-${processName}`);
  const pool = createPool(opts);
  const plog = log.child({ module: 'postgres' });
  return {
    pool,
    services: [
      { name: 'postgres-pool', start: async () => {}, stop: () => pool.end() },
      {
        name: 'postgres-migrations',
        start: async () => {
          if (await ensureDatabase(opts))
            plog.info({ database: new URL(opts.url).pathname.slice(1) }, 'postgres_database_created');
          await migratePostgres(pool, PG_MIGRATIONS, plog);
        },
        stop: async () => {},
      },
    ],
  };
}
