import pg from 'pg';
import { databaseOf } from '../../lib/db/postgres.js';

/** Server the tests create their databases on (the machine's PostgreSQL by default). */
export function testPostgresServer(): URL {
  return new URL(process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432');
}

/** A URL for a database of its own on the test server. */
export function testDatabaseUrl(name: string, server: URL = testPostgresServer()): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a test database (closing whatever still holds it). */
export async function dropDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseOf(url))} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
