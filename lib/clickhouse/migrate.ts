import type { ClickHouseClient } from '@clickhouse/client';
import { engine, onCluster, type DdlContext } from './ddl.js';
import type { Migration } from './migrations/migration.js';
import type { Logger } from '../log.js';

/** Statements that create the database and the bookkeeping table. */
export function bootstrapStatements(ctx: DdlContext): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${ctx.database}${onCluster(ctx)}`,
    // Replicated to every node, unsharded: each node knows what has been applied.
    `CREATE TABLE IF NOT EXISTS ${ctx.database}.schema_migrations${onCluster(ctx)}
     (version UInt32, name String, applied_at DateTime DEFAULT now())
     ENGINE = ${engine(ctx, 'schema_migrations', 'ReplacingMergeTree', '', false)}
     ORDER BY version`,
  ];
}

/** Pure: which migrations still need to run, in order. */
export function pendingMigrations(all: readonly Migration[], applied: ReadonlySet<number>): Migration[] {
  return [...all].sort((a, b) => a.version - b.version).filter((m) => !applied.has(m.version));
}

/**
 * Applies pending migrations. Safe to run from several processes at once: every
 * statement is idempotent, and recording a version twice is harmless (ReplacingMergeTree).
 */
export async function migrate(
  client: ClickHouseClient,
  ctx: DdlContext,
  migrations: readonly Migration[],
  log: Logger,
): Promise<number[]> {
  for (const query of bootstrapStatements(ctx)) await client.command({ query });
  const rs = await client.query({
    query: `SELECT DISTINCT version FROM ${ctx.database}.schema_migrations`,
    format: 'JSONEachRow',
  });
  const applied = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)));
  const done: number[] = [];
  for (const m of pendingMigrations(migrations, applied)) {
    log.info({ version: m.version, migration: m.name }, 'clickhouse_migration_start');
    for (const query of m.statements(ctx)) await client.command({ query });
    await client.insert({
      table: `${ctx.database}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
    });
    done.push(m.version);
    log.info({ version: m.version }, 'clickhouse_migration_done');
  }
  return done;
}
