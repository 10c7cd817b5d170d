import type { ClickHouseClient } from '@clickhouse/client';
import { onCluster, storageTable, type DdlContext } from '../../../lib/clickhouse/ddl.js';
import { ERASED_VIEWERS_TABLE } from '../../../lib/clickhouse/erased-viewers.js';
import type { ViewerTable } from '../../../lib/contracts/tables.js';

/** The rows of one viewer in a table: by its viewer column, and in its text columns that may name them. */
export function viewerCondition(t: ViewerTable): string {
  return [
    `${t.column} = {viewer:UUID}`,
    ...t.alsoIn.map((c) => `positionCaseInsensitive(ifNull(${c}, ''), {viewer:String}) > 0`),
  ].join(' OR ');
}

/**
 * The ClickHouse side of an erasure: the suppression entry, and a viewer's rows counted and
 * deleted in each table (lib/contracts/tables.ts derives the list from the stream
 * definitions). Deletes are mutations that return only once applied on every replica
 * (`mutations_sync = 2`); in a cluster they run `ON CLUSTER` on the storage tables.
 */
export class ClickHouseEraser {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly ctx: DdlContext,
    readonly tables: readonly ViewerTable[],
    private readonly timeoutMs: number,
  ) {}

  async suppress(viewerId: string, erasureId: string): Promise<void> {
    await this.client.insert({
      table: `${this.ctx.database}.${ERASED_VIEWERS_TABLE}`,
      values: [{ viewer_id: viewerId, erasure_id: erasureId }],
      format: 'JSONEachRow',
    });
  }

  async count(t: ViewerTable, viewerId: string): Promise<number> {
    const rs = await this.client.query({
      query: `SELECT count() AS n FROM ${this.ctx.database}.${t.table} WHERE ${viewerCondition(t)}`,
      query_params: { viewer: viewerId },
      format: 'JSONEachRow',
      abort_signal: AbortSignal.timeout(this.timeoutMs),
    });
    return Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
  }

  async delete(t: ViewerTable, viewerId: string): Promise<void> {
    await this.client.command({
      query: `ALTER TABLE ${storageTable(this.ctx, t.table)}${onCluster(this.ctx)} DELETE WHERE ${viewerCondition(t)}`,
      query_params: { viewer: viewerId },
      clickhouse_settings: { mutations_sync: '2' },
    });
  }
}
