import type { Pool } from 'pg';
import type { Logger } from '../log.js';
import type { PgMigration } from './migrations/migration.js';

// NOTE: one advisory lock key for the whole schema: API replicas starting together apply
// migrations one at a time; the others wait, then find nothing pending.
const LOCK_KEY = 7_411_309_001;

/** Applies pending migrations in version order; returns the versions applied. */
export async function migratePostgres(
  pool: Pool,
  migrations: readonly PgMigration[],
  log: Logger,
): Promise<number[]> {
  const client = await pool.connect();
  const done: number[] = [];
  try {
    // Migrations may take longer than the API's per-query bound.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const applied = new Set(
        (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
          (r) => r.version,
        ),
      );
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(m.version)) continue;
        log.info({ version: m.version, migration: m.name }, 'postgres_migration_start');
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
            m.version,
            m.name,
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
        done.push(m.version);
        log.info({ version: m.version }, 'postgres_migration_done');
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  } finally {
    client.release();
  }
  return done;
}
