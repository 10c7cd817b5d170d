import type { ClickHouseClient } from '@clickhouse/client';
import { LINEAGE } from '../../../lib/clickhouse/stream-table.js';

/** Where a partition's window is rebuilt from after (re)assignment. */
export interface SeenIdsSource {
  /** Event ids stored for this Kafka partition since sinceMs, newest first, at most limit. */
  load(partition: number, sinceMs: number, limit: number): Promise<string[]>;
  /** Event ids already stored from this partition's offsets [first, last]. */
  storedInRange(partition: number, firstOffset: string, lastOffset: string): Promise<Set<string>>;
}

/** 'YYYY-MM-DD hh:mm:ss.sss' UTC: compares correctly with DateTime64 and with String columns. */
function chTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/**
 * Reads the ids back from the table the ETL writes: every row carries its Kafka partition,
 * so what was inserted — including a block inserted just before a crash, whose offsets
 * were never committed — is known again. Written in SQL the 18.16 server understands too
 * (no query parameters; the values are our own integers and timestamps).
 */
export class ClickHouseSeenIds implements SeenIdsSource {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly table: string,
  ) {}

  async load(partition: number, sinceMs: number, limit: number): Promise<string[]> {
    const rs = await this.client.query({
      query: `SELECT toString(event_id) AS id FROM ${this.table}
              WHERE ${LINEAGE.partition} = ${Math.trunc(partition)} AND received_at >= '${chTime(sinceMs)}'
              ORDER BY ${LINEAGE.offset} DESC LIMIT ${Math.trunc(limit)}`,
      format: 'JSONEachRow',
    });
    return (await rs.json<{ id: string }>()).map((r) => r.id);
  }

  async storedInRange(partition: number, firstOffset: string, lastOffset: string): Promise<Set<string>> {
    const first = BigInt(firstOffset).toString();
    const last = BigInt(lastOffset).toString();
    const rs = await this.client.query({
      query: `SELECT toString(event_id) AS id FROM ${this.table}
              WHERE ${LINEAGE.partition} = ${Math.trunc(partition)} AND ${LINEAGE.offset} >= ${first} AND ${LINEAGE.offset} <= ${last}`,
      format: 'JSONEachRow',
    });
    return new Set((await rs.json<{ id: string }>()).map((r) => r.id));
  }
}
