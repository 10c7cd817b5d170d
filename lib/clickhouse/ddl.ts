/**
 * Builds DDL for one node or for a replicated, sharded cluster from the same migration
 * code. Cluster layout: `<table>_local` (Replicated*MergeTree on every node) plus a
 * Distributed `<table>` over it, sharded by viewer so a viewer's rows and their
 * materialized-view results live on one shard.
 */
export interface DdlContext {
  database: string;
  cluster: string | undefined;
  ttlDays: number;
}

export function onCluster(ctx: DdlContext): string {
  return ctx.cluster === undefined ? '' : ` ON CLUSTER '${ctx.cluster}'`;
}

/** Name of the table that physically stores rows (the `_local` one in a cluster). */
export function storageTable(ctx: DdlContext, table: string): string {
  return ctx.cluster === undefined ? `${ctx.database}.${table}` : `${ctx.database}.${table}_local`;
}

/** Engine clause: `MergeTree` family on one node, `Replicated...` with macros in a cluster. */
export function engine(ctx: DdlContext, table: string, family: string, args = '', sharded = true): string {
  if (ctx.cluster === undefined) return `${family}(${args})`;
  const shardPart = sharded ? '{shard}/' : '';
  const path = `'/clickhouse/tables/${shardPart}${ctx.database}/${table}', '{replica}'`;
  return `Replicated${family}(${args === '' ? path : `${path}, ${args}`})`;
}

/**
 * Block-level insert dedup: replicated tables keep a window of block hashes/tokens by
 * default; a plain MergeTree needs non_replicated_deduplication_window set.
 */
export function dedupSetting(ctx: DdlContext): string {
  return ctx.cluster === undefined
    ? 'non_replicated_deduplication_window = 10000'
    : 'replicated_deduplication_window = 10000';
}

export function ttlClause(ctx: DdlContext, column: string): string {
  return ctx.ttlDays > 0 ? `TTL toDateTime(${column}) + INTERVAL ${ctx.ttlDays} DAY` : '';
}

/** The Distributed table over `<table>_local`; nothing on one node. */
export function distributed(ctx: DdlContext, table: string, shardingKey: string): string[] {
  if (ctx.cluster === undefined) return [];
  return [
    `CREATE TABLE IF NOT EXISTS ${ctx.database}.${table}${onCluster(ctx)} AS ${ctx.database}.${table}_local
     ENGINE = Distributed('${ctx.cluster}', '${ctx.database}', '${table}_local', ${shardingKey})`,
  ];
}
