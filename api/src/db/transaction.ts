import type { Pool, PoolClient } from 'pg';
import { db } from '../../../lib/db/errors.js';

/** Runs `work` in one transaction on one connection; outages become UnavailableError. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await db(() => pool.connect());
  try {
    await db(() => client.query('BEGIN'));
    const result = await db(() => work(client));
    await db(() => client.query('COMMIT'));
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
