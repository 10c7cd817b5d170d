import pg from 'pg';
import type { Config } from '../config/config.js';

export type { Pool, PoolClient } from 'pg';

export interface PostgresOptions {
  url: string;
  password: string | undefined;
  poolMax: number;
  poolMin: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  applicationName: string;
  /** How long a connection above poolMin may sit idle before it is closed (30 s unless set). */
  idleTimeoutMs?: number;
}

export function postgresOptions(config: Config, applicationName: string): PostgresOptions {
  return {
    url: config.postgres.url,
    password: config.postgres.password,
    poolMax: config.postgres.poolMax,
    poolMin: config.postgres.poolMin,
    connectTimeoutMs: config.postgres.connectTimeoutMs,
    statementTimeoutMs: config.postgres.statementTimeoutMs,
    applicationName,
  };
}

/**
 * A connection pool whose every query is bounded twice: statement_timeout on the server
 * and query_timeout on the client (a server that stops answering altogether). Waiting for
 * a free connection is bounded too, so an outage turns into a fast 503, not a queue.
 */
export function createPool(opts: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    password: opts.password,
    max: opts.poolMax,
    // NOTE: pg-pool's min only exempts that many idle connections from the idle timeout; it
    // opens none by itself. Without it, a quiet spell closed the connections the device
    // endpoint uses, and the first burst after it opened new ones inline: each new backend's
    // first statements load its catalog caches and plan afresh (architecture/adr/0006).
    min: Math.min(opts.poolMin, opts.poolMax),
    connectionTimeoutMillis: opts.connectTimeoutMs,
    statement_timeout: opts.statementTimeoutMs,
    query_timeout: opts.statementTimeoutMs + 500,
    application_name: opts.applicationName,
    idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
  });
  // NOTE: an idle client whose server went away emits 'error' on the pool; without a
  // listener that would crash the process. The next checkout reconnects.
  pool.on('error', () => {});
  return pool;
}

/** The database name of a postgres:// URL. */
export function databaseOf(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (name === '') throw new Error(`POSTGRES_URL names no database: ${new URL(url).origin}`);
  return name;
}

/** Creates the URL's database when it does not exist (connecting to `postgres` to do so). */
export async function ensureDatabase(opts: PostgresOptions): Promise<boolean> {
  const name = databaseOf(opts.url);
  const admin = new URL(opts.url);
  admin.pathname = '/postgres';
  const client = new pg.Client({
    connectionString: admin.toString(),
    password: opts.password,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    application_name: opts.applicationName,
  });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount !== 0) return false;
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return true;
    } catch (err) {
      // Another process created it between our check and our CREATE.
      if ((err as { code?: string }).code === '42P04') return false;
      throw err;
    }
  } finally {
    await client.end();
  }
}
