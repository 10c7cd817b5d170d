/**
 * What PostgreSQL's WAL did over a measured window (pg_stat_wal, pg_stat_bgwriter): records,
 * full-page images, bytes, flushes and checkpoints started. After a checkpoint starts, the
 * first change to each page writes the whole page into the WAL again, so a new device's
 * commit carries about twice the bytes for a while (architecture/adr/0006, fifth pass); a
 * window with a high full-page share is one in that state.
 */
import pg from 'pg';

export interface WalWindow {
  records: number;
  fullPageImages: number;
  bytes: number;
  /** WAL flushes (fdatasync of the log) PostgreSQL issued. */
  syncs: number;
  /** Checkpoints that started in the window (timed or requested). */
  checkpoints: number;
  /**
   * Connections opened to the window's database (pg_stat_database.sessions): a pool that
   * opens one under load makes its first statements wait for a new backend.
   */
  connectionsOpened: number;
}

const READ_SQL = `SELECT w.wal_records::float8 AS records, w.wal_fpi::float8 AS fpi, w.wal_bytes::float8 AS bytes,
         w.wal_sync::float8 AS syncs, (b.checkpoints_timed + b.checkpoints_req)::float8 AS checkpoints,
         d.sessions::float8 AS sessions
    FROM pg_stat_wal w, pg_stat_bgwriter b, pg_stat_database d
   WHERE d.datname = current_database()`;

interface Counters {
  records: number;
  fpi: number;
  bytes: number;
  syncs: number;
  checkpoints: number;
  sessions: number;
}

/** The counters' change between two readings. */
export function walBetween(start: Counters, end: Counters): WalWindow {
  return {
    records: end.records - start.records,
    fullPageImages: end.fpi - start.fpi,
    bytes: end.bytes - start.bytes,
    syncs: end.syncs - start.syncs,
    checkpoints: end.checkpoints - start.checkpoints,
    connectionsOpened: end.sessions - start.sessions,
  };
}

/**
 * Starts a window on the PostgreSQL server of `url` (server-wide counters: on a server that
 * only the benchmark uses, they are its own); the returned function ends it. Counters
 * reach these views when a backend reports them (about once a second while busy), so a
 * window's figures can be off by that much at either end.
 */
export async function walWindow(url: string): Promise<() => Promise<WalWindow>> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-wal-window' });
  await client.connect();
  const read = async () => (await client.query<Counters>(READ_SQL)).rows[0]!;
  try {
    // A statement first, so this connection's own session is counted before the start.
    await client.query('SELECT 1');
    const start = await read();
    return async () => {
      try {
        return walBetween(start, await read());
      } finally {
        await client.end();
      }
    };
  } catch (err) {
    await client.end();
    throw err;
  }
}
