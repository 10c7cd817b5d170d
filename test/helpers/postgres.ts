import pg from 'pg';
import { databaseOf } from '../../lib/db/postgres.js';

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
