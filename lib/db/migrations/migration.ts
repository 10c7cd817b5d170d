/**
 * A versioned PostgreSQL schema change. Each runs in one transaction with its bookkeeping
 * row, so it is applied entirely or not at all.
 */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}
