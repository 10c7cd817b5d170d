import type { AggregateSpec, AnyStream } from '../contracts/stream.js';
import { distributed, engine, onCluster, storageTable, ttlClause, type DdlContext } from './ddl.js';
import { columnDdl, streamColumns } from './stream-table.js';

/** One column of an aggregate: its type and the expression that fills it from the stream's table. */
export interface AggregateColumn {
  name: string;
  type: string;
  expr: string;
}

/** The aggregate's key columns, then its measures (SimpleAggregateFunction of the stream column's type). */
export function aggregateColumns(
  stream: AnyStream,
  agg: AggregateSpec,
): { keys: AggregateColumn[]; measures: AggregateColumn[] } {
  const columns = streamColumns(stream);
  const typeOf = (name: string) => {
    const c = columns.find((col) => col.name === name);
    if (c === undefined) throw new Error(`${agg.name}: ${stream.name} has no column ${name}`);
    return c.type;
  };
  return {
    keys: agg.keys.map((k) => (typeof k === 'string' ? { name: k, type: typeOf(k), expr: k } : k)),
    measures: agg.measures.map((m) => ({
      name: m.name,
      type: `SimpleAggregateFunction(${m.fn}, ${typeOf(m.of)})`,
      // Qualified: ClickHouse resolves aliases before columns, and a measure may be named like its column.
      expr: `${m.fn}(${stream.table!.name}.${m.of})`,
    })),
  };
}

/** The SELECT that aggregates rows of `from` (the stream's table) into the aggregate's columns. */
export function aggregateSelect(stream: AnyStream, agg: AggregateSpec, from: string): string {
  const { keys, measures } = aggregateColumns(stream, agg);
  const select = [...keys, ...measures].map((c) => (c.expr === c.name ? c.name : `${c.expr} AS ${c.name}`));
  return `SELECT ${select.join(', ')}
      FROM ${from} AS ${stream.table!.name}
      GROUP BY ${keys.map((k) => k.name).join(', ')}`;
}

/**
 * The migration of one aggregate: the AggregatingMergeTree (+ Distributed in a cluster, sharded
 * like the stream's table so a viewer's aggregate rows sit with their events), the view that
 * feeds it from every insert from now on, then the backfill of the rows stored before.
 * Measures are max/min only (AggregateSpec), so rows the view and the backfill both see, a
 * second migrating process, or the backfill run again later change nothing.
 */
export function createAggregate(ctx: DdlContext, stream: AnyStream, agg: AggregateSpec): string[] {
  const table = stream.table;
  if (table === undefined) throw new Error(`stream ${stream.name} has no table`);
  const { keys, measures } = aggregateColumns(stream, agg);
  const all = [...keys, ...measures];
  const width = Math.max(...all.map((c) => c.name.length));
  return [
    `CREATE TABLE IF NOT EXISTS ${storageTable(ctx, agg.name)}${onCluster(ctx)}
      (
${all.map((c) => `        ${columnDdl({ name: c.name, type: c.type, since: 0 }, width)}`).join(',\n')}
      )
      ENGINE = ${engine(ctx, agg.name, 'AggregatingMergeTree')}
      PARTITION BY toYYYYMM(${agg.monthOf})
      ORDER BY (${keys.map((k) => k.name).join(', ')})
      ${ttlClause(ctx, agg.monthOf)}`,
    ...distributed(ctx, agg.name, table.shardBy),
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${storageTable(ctx, `${agg.name}_mv`)}${onCluster(ctx)}
      TO ${storageTable(ctx, agg.name)}
      AS ${aggregateSelect(stream, agg, storageTable(ctx, table.name))}`,
    // TRICKY: an insert that began before the view existed feeds neither the view nor, if it
    // commits after the backfill has read the table, the backfill. Wait (at most 3 s, and
    // only when there are rows) so such inserts commit first.
    `SELECT sleepEachRow(3) FROM system.one WHERE (SELECT count() FROM ${ctx.database}.${table.name}) > 0`,
    backfillStatement(ctx, stream, agg),
  ];
}

/**
 * Aggregates every stored row into the aggregate: through the Distributed tables in a
 * cluster, so each row lands on its viewer's shard. Safe to run again at any time (max/min).
 */
export function backfillStatement(ctx: DdlContext, stream: AnyStream, agg: AggregateSpec): string {
  const settings = ['optimize_aggregation_in_order = 1'];
  if (ctx.cluster !== undefined) settings.push('insert_distributed_sync = 1');
  return `INSERT INTO ${ctx.database}.${agg.name}
      ${aggregateSelect(stream, agg, `${ctx.database}.${stream.table!.name}`)}
      SETTINGS ${settings.join(', ')}`;
}
