import type { AnyStream } from '../contracts/stream.js';
import {
  dedupSetting,
  distributed,
  engine,
  onCluster,
  storageTable,
  ttlClause,
  type DdlContext,
} from './ddl.js';

/**
 * A stream's ClickHouse tables, from its definition: the columns (types, codecs,
 * comments), keys and DDL that migrations run, and the column lists readers select.
 */

export interface Column {
  name: string;
  type: string;
  codec?: string;
  comment?: string;
  default?: string;
  /** The migration that added it. */
  since: number;
}

/** The Kafka coordinates every stream table keeps: lineage, and the ETL's exactly-once bookkeeping. */
export const LINEAGE = { partition: 'kafka_partition', offset: 'kafka_offset' } as const;

/** Columns after a stream's own fields, the same in every stream table. */
function envelopeColumns(since: number): Column[] {
  return [
    { name: 'schema_version', type: 'UInt8', since },
    { name: LINEAGE.partition, type: 'UInt32', since },
    { name: LINEAGE.offset, type: 'UInt64', since },
    { name: 'inserted_at', type: "DateTime64(3, 'UTC')", default: 'now64(3)', since },
  ];
}

function tableOf(stream: AnyStream) {
  if (stream.table === undefined) throw new Error(`stream ${stream.name} has no table`);
  return stream.table;
}

/** Every column of the stream's table, in table order: its fields, then the envelope. */
export function streamColumns(stream: AnyStream): Column[] {
  const table = tableOf(stream);
  const own = stream.fieldList.flatMap((f) =>
    f.column === undefined ? [] : [{ name: f.name, ...f.column, since: f.column.since ?? table.createdBy }],
  );
  return [...own, ...envelopeColumns(table.createdBy)];
}

/** The read model's columns: the stream's own column types, without comments. */
export function readModelColumns(stream: AnyStream): Column[] {
  const model = stream.readModel;
  if (model === undefined) throw new Error(`stream ${stream.name} has no read model`);
  const all = streamColumns(stream);
  return model.columns.map((name) => {
    const c = all.find((col) => col.name === name)!;
    return { name, type: c.type, ...(c.codec === undefined ? {} : { codec: c.codec }), since: c.since };
  });
}

function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** One column's definition, names padded so a table's types line up. */
export function columnDdl(c: Column, width = 0): string {
  return [
    `${c.name.padEnd(width)} ${c.type}`,
    c.default === undefined ? '' : ` DEFAULT ${c.default}`,
    // ClickHouse's order: [DEFAULT expr] [COMMENT 'text'] [CODEC(...)].
    c.comment === undefined ? '' : ` COMMENT ${quote(c.comment)}`,
    c.codec === undefined ? '' : ` CODEC(${c.codec})`,
  ].join('');
}

function columnList(columns: readonly Column[]): string {
  const width = Math.max(...columns.map((c) => c.name.length));
  return columns.map((c) => `        ${columnDdl(c, width)}`).join(',\n');
}

const upTo = (version: number) => (c: Column) => c.since <= version;

/** The migration that creates the stream's table: CREATE (+ Distributed in a cluster). */
export function createStreamTable(ctx: DdlContext, stream: AnyStream): string[] {
  const table = tableOf(stream);
  return [
    `CREATE TABLE IF NOT EXISTS ${storageTable(ctx, table.name)}${onCluster(ctx)}
      (
${columnList(streamColumns(stream).filter(upTo(table.createdBy)))}
      )
      ENGINE = ${engine(ctx, table.name, 'MergeTree')}
      PARTITION BY toYYYYMM(${table.monthOf})
      ORDER BY (${table.orderBy.join(', ')})
      ${ttlClause(ctx, table.monthOf)}
      SETTINGS ${dedupSetting(ctx)}`,
    ...distributed(ctx, table.name, table.shardBy),
  ];
}

/**
 * The read model (a ReplacingMergeTree fed by a materialized view from the stream table):
 * CREATE table (+ Distributed), CREATE MATERIALIZED VIEW.
 */
export function createReadModel(ctx: DdlContext, stream: AnyStream): string[] {
  const table = tableOf(stream);
  const model = stream.readModel!;
  const target = storageTable(ctx, model.name);
  return [
    `CREATE TABLE IF NOT EXISTS ${target}${onCluster(ctx)}
      (
${columnList(readModelColumns(stream))}
      )
      ENGINE = ${engine(ctx, model.name, 'ReplacingMergeTree', model.replacingBy)}
      ORDER BY (${model.orderBy.join(', ')})
      ${ttlClause(ctx, table.monthOf)}`,
    ...distributed(ctx, model.name, table.shardBy),
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${storageTable(ctx, `${model.name}_mv`)}${onCluster(ctx)}
      TO ${target}
      AS SELECT ${model.columns.join(', ')}
      FROM ${storageTable(ctx, table.name)}`,
  ];
}

/**
 * The migration that adds the stream's fields declared `since: version`: each column after
 * the one before it in the definition, on the storage table and (in a cluster) the
 * Distributed table over it. Read-model columns need a migration of their own (the view).
 */
export function addStreamColumns(ctx: DdlContext, stream: AnyStream, version: number): string[] {
  const table = tableOf(stream);
  const columns = streamColumns(stream);
  const targets = [
    storageTable(ctx, table.name),
    ...(ctx.cluster === undefined ? [] : [`${ctx.database}.${table.name}`]),
  ];
  return columns.flatMap((c, i) =>
    c.since !== version
      ? []
      : targets.map(
          (t) =>
            `ALTER TABLE ${t}${onCluster(ctx)} ADD COLUMN IF NOT EXISTS ${columnDdl(c)} ${i === 0 ? 'FIRST' : `AFTER ${columns[i - 1]!.name}`}`,
        ),
  );
}

/**
 * SELECT expressions that read columns back in their message form: times as epoch
 * milliseconds (`<name>_ms`; the engine's own text is not ISO-8601), UUIDs as text.
 */
export function selectAsMessage(columns: readonly Column[]): string {
  return columns
    .map((c) =>
      isTime(c)
        ? `toUnixTimestamp64Milli(${c.name}) AS ${c.name}_ms`
        : c.type === 'UUID'
          ? `toString(${c.name}) AS ${c.name}`
          : c.name,
    )
    .join(', ');
}

/** A row selected with selectAsMessage, as the message's fields (in column order). */
export function rowAsMessage(
  columns: readonly Column[],
  row: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) {
    if (isTime(c)) out[c.name] = new Date(Number(row[`${c.name}_ms`])).toISOString();
    else if (/^U?Int\d+$/.test(c.type)) out[c.name] = Number(row[c.name]);
    else out[c.name] = row[c.name];
  }
  return out;
}

function isTime(c: Column): boolean {
  return c.type.startsWith('DateTime64(');
}
