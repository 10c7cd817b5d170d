import { Readable } from 'node:stream';
import { parseError, type ClickHouseClient } from '@clickhouse/client';

/** chdb's native passthrough insert, when the client runs on the embedded engine. */
type NativeInsert = (params: {
  table: string;
  values: Buffer;
  format: 'JSONEachRow';
  settings?: Record<string, string | number>;
}) => Promise<unknown>;

const nativeInserts = new WeakMap<ClickHouseClient, NativeInsert>();

/** Called by createClickHouse for embedded clients. */
export function registerNativeInsert(client: ClickHouseClient, insert: NativeInsert): void {
  nativeInserts.set(client, insert);
}

/**
 * What every insert into the embedded engine adds to its caller's settings: one parser
 * thread per insert. In-process, the parallel parser's threads share the caller's two
 * cores and its chunk buffers raise the process's peak memory; serial parsing costs less
 * CPU per row there (ADR 0014, decision 5). A caller's own setting wins.
 */
export const EMBEDDED_INSERT_SETTINGS: Readonly<Record<string, number>> = {
  input_format_parallel_parsing: 0,
};

export interface RawInsert {
  table: string;
  /** JSONEachRow lines, already encoded: the engine parses them, JS never re-encodes. */
  body: Buffer;
  settings: Record<string, string | number>;
}

/**
 * Inserts bytes that are already JSONEachRow. @clickhouse/client's insert() only takes
 * objects for JSON formats (it stringifies each row, a visible share of the ETL's CPU), so
 * the bytes go through exec() with a body stream on a server, and through
 * chdb's zero-copy native insert (the engine's multithreaded parser) when embedded.
 * Errors carry ClickHouse's code either way, so callers classify them the same.
 */
export async function insertRaw(client: ClickHouseClient, insert: RawInsert): Promise<void> {
  if (insert.body.length === 0) return;
  const native = nativeInserts.get(client);
  if (native !== undefined) {
    try {
      await native({
        table: insert.table,
        values: insert.body,
        format: 'JSONEachRow',
        settings: { ...EMBEDDED_INSERT_SETTINGS, ...insert.settings },
      });
    } catch (err) {
      const mapped = parseError(err instanceof Error ? err.message : String(err));
      if (mapped !== err) mapped.cause = err;
      throw mapped;
    }
    return;
  }
  const res = await client.exec({
    query: `INSERT INTO ${insert.table} FORMAT JSONEachRow`,
    values: Readable.from([insert.body]),
    clickhouse_settings: insert.settings,
  });
  // The response body is empty for an INSERT; drain it so the socket goes back to the pool.
  res.stream.resume();
}
