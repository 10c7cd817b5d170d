import { z } from 'zod';
import { contentEventId } from './event-id.js';
import { compactObjectCheck, type ByteCheck, type ByteKind } from './fast-bytes.js';
import { hasExactlyKeys } from './fast-checks.js';
import type { PropertiesLimits } from './properties.js';
import { toUtcIso, type TimeLimits } from './time.js';

/**
 * One stream (a Kafka topic's contract and, for most, a ClickHouse table) declared once:
 * each field with its message schema, its zod-free hot-loop check, its request schema when
 * clients send it, its ClickHouse column and its doc line. The message schema, the fast
 * check, the request schemas, the message builder, the table DDL, the ETL's row encoding
 * and architecture/contracts/*.md are all derived from the declaration.
 *
 * Adding a field: declare it in its stream with `column.since` set to a new migration's
 * version, add that migration (`statements: (ctx) => addStreamColumns(ctx, stream, N)`),
 * then `npm run contracts:doc`. Shipped migrations keep their text (test/unit/migrations).
 */

/** Where the API takes a field's value from when it builds the message. */
export type FieldSource =
  /** the validated request (see `client`) */
  | 'client'
  /** the client's event_id in lower case, or one derived from the event's content */
  | 'event-id'
  /** the caller's token subject */
  | 'viewer'
  /** the client's occurred_at in UTC, or received_at when it sent none */
  | 'occurred'
  /** the API clock when the request was accepted */
  | 'received'
  /** set by the code that publishes the message (not built from a request) */
  | 'producer';

export interface ColumnSpec {
  type: string;
  /** As DESCRIBE shows it (the DESCRIBE test compares), e.g. `Delta(4), ZSTD(1)`. */
  codec?: string;
  comment?: string;
  /** The migration that added the column; default: the one that created the table. */
  since?: number;
}

/** What every request schema factory may need. */
export interface RequestContext {
  time: TimeLimits;
  /** Streams with free-form properties only. */
  properties?: PropertiesLimits;
  now: () => number;
}

export interface FieldSpec<Z extends z.ZodType = z.ZodType> {
  /** The field in the Kafka value. */
  schema: Z;
  /**
   * Zod-free check for the ETL's hot loop: accepts a subset of `schema` (false only means
   * "ask zod"; test/unit/fast-checks.test.ts). A stream gets a fast check only when every
   * field has one.
   */
  fast?: (v: unknown) => boolean;
  /**
   * The same check on the value's JSON text (lib/contracts/fast-bytes.ts), a subset of
   * `fast`. A stream gets a byte check only when every field has one.
   */
  bytes?: ByteKind;
  source: FieldSource;
  /** For source 'client': whether the request must carry it. */
  client?: 'required' | 'optional';
  /** The request's schema for it (client fields; default: `schema`). */
  request?: (ctx: RequestContext) => z.ZodType;
  /**
   * Zod-free check of the field's value in a request, for the API's hot path: accepts a
   * subset of the request schema (false only means "ask zod", which also words the error;
   * test/unit/request-fast-checks.test.ts). Absence is the stream check's business: allowed
   * for a field the client may leave out. Default: `fast`, for a field whose request schema
   * is its `schema`. A stream's request items get a fast check only when every field the
   * client sends has one.
   */
  requestFast?: (ctx: RequestContext) => (v: unknown) => boolean;
  /** Message value when an optional client field is absent. */
  default?(): z.output<Z>;
  /** Its form in a derived event id, when not the value itself. */
  canonical?(v: z.output<Z>): unknown;
  /** Its ClickHouse column; none: the stream has no table or does not store it. */
  column?: ColumnSpec;
  /**
   * The field names the viewer the row is about: erasure deletes a viewer's rows by it in
   * every table that has such a column, and the ETL drops erased viewers' messages by it.
   */
  identifiesViewer?: boolean;
  /** The column value, when the table stores the field differently (an object as JSON text). */
  toColumn?(v: z.output<Z>): unknown;
  /** Contract doc: the type as a consumer reads it, and what the field means. */
  docType: string;
  meaning: string;
}

/** Type-checks one field's callbacks against its own schema; keeps `client` for the request type. */
export function field<Z extends z.ZodType, const C extends FieldSpec['client'] = undefined>(
  spec: FieldSpec<Z> & { client?: C },
): FieldSpec<Z> & { client: C } {
  return spec as FieldSpec<Z> & { client: C };
}

export interface TableSpec {
  name: string;
  /** The migration that creates it. */
  createdBy: number;
  orderBy: readonly string[];
  /** Monthly partitions of this time column (also the TTL column and the ETL's block split). */
  monthOf: string;
  /** Sharding key of the Distributed table in a cluster. */
  shardBy: string;
  /** What the table is for (the migration's and the doc's text). */
  doc: string;
  /** Text columns that may hold a viewer's id where the viewer column does not (erasure looks there too). */
  viewerAlsoIn?: readonly string[];
}

export interface ReadModelSpec<K extends string = string> {
  name: string;
  columns: readonly K[];
  orderBy: readonly K[];
  /** ReplacingMergeTree's version column: the row with the highest value wins a merge. */
  replacingBy: K;
  doc: string;
}

/**
 * A table of per-key aggregates of the stream's table, fed by a materialized view and
 * backfilled from the rows stored before it (lib/clickhouse/aggregate-table.ts). Measures
 * are only max or min: a block the table receives twice (ClickHouse pushes a retried block
 * to the views even when the source table drops it as a duplicate; a backfill overlapping
 * the view) changes no result.
 */
export interface AggregateSpec<K extends string = string> {
  name: string;
  /** The sort key: stream fields, or a named expression over them. */
  keys: ReadonlyArray<K | { name: string; type: string; expr: string }>;
  measures: ReadonlyArray<{ name: string; fn: 'max' | 'min'; of: K }>;
  /** Monthly partitions (and TTL) by this key. */
  monthOf: string;
  doc: string;
}

export interface StreamSpec<F extends Record<string, FieldSpec>> {
  /** architecture/contracts/<name>-v<version>.md */
  name: string;
  title: string;
  version: number;
  /** The config option naming the topic. */
  topicOption: string;
  /** The Kafka key, in words. */
  key: string;
  /** Unknown fields: refused (strict, the default) or ignored. */
  strict?: boolean;
  fields: F;
  /** Checks across fields of a request item (the message schema checks fields alone). */
  refineRequest?: (item: never, ctx: z.RefinementCtx) => void;
  /** First element of the canonical event a derived event id hashes. */
  contentIdTag?: string;
  table?: TableSpec;
  /** A table of chosen columns fed from `table` by a materialized view, for point reads. */
  readModel?: ReadModelSpec<Extract<keyof F, string>>;
  /** Aggregates of `table` for analysts' dashboards; a migration creates each. */
  aggregates?: ReadonlyArray<AggregateSpec<Extract<keyof F, string>>>;
  /** Markdown paragraphs for the contract doc, after the field table. */
  notes?: readonly string[];
  example?: Record<string, unknown>;
}

type MessageShape<V extends number, F extends Record<string, FieldSpec>> = {
  schema_version: z.ZodLiteral<V>;
} & { [K in keyof F]: F[K]['schema'] };
export type MessageSchema<V extends number, F extends Record<string, FieldSpec>> = z.ZodObject<
  MessageShape<V, F>,
  z.core.$strict
>;
export type MessageOf<V extends number, F extends Record<string, FieldSpec>> = z.output<MessageSchema<V, F>>;

type ClientKeys<F, C> = { [K in keyof F]: F[K] extends { client: C } ? K : never }[keyof F];
/** A validated request item: its client fields, plus the optional event id and client time. */
export type RequestItemOf<F extends Record<string, FieldSpec>> = {
  [K in ClientKeys<F, 'required'>]: z.output<F[K]['schema']>;
} & { [K in ClientKeys<F, 'optional'>]?: z.output<F[K]['schema']> } & {
  event_id?: string;
  occurred_at?: string;
};

export interface NamedField extends FieldSpec {
  name: string;
}

export interface Stream<V extends number, F extends Record<string, FieldSpec>> extends StreamSpec<F> {
  version: V;
  /** The fields in message order, after schema_version. */
  fieldList: readonly NamedField[];
  /** The Kafka value's schema. */
  message: MessageSchema<V, F>;
  /** The zod-free subset check, or undefined when a field has none. */
  fastCheck: ((v: unknown) => v is MessageOf<V, F>) | undefined;
  /**
   * The zod-free check on a Kafka value's bytes (compact JSON only), or undefined when a
   * field has none; its `at` index i+1 is `fieldList[i]`'s value.
   */
  byteCheck: ByteCheck | undefined;
}

/** Any stream, for code generic over streams (DDL, the ETL's decoder, docs). */
export type AnyStream = Stream<number, Record<string, FieldSpec>>;

/** The stored field that names the viewer (`identifiesViewer`), if the stream has one. */
export function viewerFieldOf(stream: AnyStream): NamedField | undefined {
  return stream.fieldList.find((f) => f.identifiesViewer === true && f.column !== undefined);
}

export function defineStream<const V extends number, const F extends Record<string, FieldSpec>>(
  spec: StreamSpec<F> & { version: V },
): Stream<V, F> {
  const fieldList = Object.entries(spec.fields).map(([name, f]) => ({ name, ...f }));
  const shape = { schema_version: z.literal(spec.version), ...mapValues(spec.fields, (f) => f.schema) };
  const message = spec.strict === false ? z.object(shape) : z.strictObject(shape);
  return {
    ...spec,
    fieldList,
    message: message as unknown as Stream<V, F>['message'],
    fastCheck: fastCheckOf(spec.version, fieldList, spec.strict !== false) as Stream<V, F>['fastCheck'],
    byteCheck: byteCheckOf(spec.version, fieldList, spec.strict !== false),
  };
}

function fastCheckOf(
  version: number,
  fields: readonly NamedField[],
  strict: boolean,
): ((v: unknown) => boolean) | undefined {
  if (!strict || fields.some((f) => f.fast === undefined)) return undefined;
  const keys: ReadonlySet<string> = new Set(['schema_version', ...fields.map((f) => f.name)]);
  const names = fields.map((f) => f.name);
  const checks = fields.map((f) => f.fast!);
  const n = names.length;
  return (v) => {
    if (!hasExactlyKeys(v, keys) || v.schema_version !== version) return false;
    for (let i = 0; i < n; i++) if (!checks[i]!(v[names[i]!])) return false;
    return true;
  };
}

function byteCheckOf(version: number, fields: readonly NamedField[], strict: boolean): ByteCheck | undefined {
  if (!strict || fields.some((f) => f.bytes === undefined || f.fast === undefined)) return undefined;
  return compactObjectCheck(
    version,
    fields.map((f) => ({ name: f.name, bytes: f.bytes! })),
  );
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

/**
 * The request item's schema: the client fields, required ones first, each group in message
 * order; `fromPath` fields come from the URL instead of the body.
 */
export function requestItemSchema(
  stream: AnyStream,
  ctx: RequestContext,
  fromPath: readonly string[] = [],
): z.ZodType {
  const sent = stream.fieldList.filter((f) => isRequestField(f) && !fromPath.includes(f.name));
  const required = sent.filter((f) => f.client === 'required');
  const optional = sent.filter((f) => f.client !== 'required');
  const shape = Object.fromEntries(
    [...required, ...optional].map((f) => [f.name, f.request === undefined ? f.schema : f.request(ctx)]),
  );
  const item = z.strictObject(shape);
  const refine = stream.refineRequest as ((v: unknown, ctx: z.RefinementCtx) => void) | undefined;
  return refine === undefined ? item : item.superRefine(refine);
}

function isRequestField(f: NamedField): boolean {
  return f.source === 'client' || f.source === 'event-id' || f.source === 'occurred';
}

/**
 * requestItemSchema without zod, for the API's hot path: true only where that schema accepts
 * and its output is the input itself (a strict object without transforms), so the handler
 * may take the parsed body as it is; false means "ask the schema". Undefined when a field
 * the client sends has no requestFast. The stream's refineRequest is run as declared, with a
 * context that only notes whether it objected.
 */
export function requestItemFastCheck(
  stream: AnyStream,
  ctx: RequestContext,
  fromPath: readonly string[] = [],
): ((v: unknown) => boolean) | undefined {
  const sent = stream.fieldList.filter((f) => isRequestField(f) && !fromPath.includes(f.name));
  const fastOf = (f: NamedField) => f.requestFast?.(ctx) ?? (f.request === undefined ? f.fast : undefined);
  const checks = sent.map(fastOf);
  if (checks.some((c) => c === undefined)) return undefined;
  const index = new Map(sent.map((f, i) => [f.name, i]));
  const requiredAt = sent.map((f) => f.client === 'required');
  const required = requiredAt.filter(Boolean).length;
  const refine = stream.refineRequest as ((v: unknown, ctx: z.RefinementCtx) => void) | undefined;
  let objected = false;
  const noting = { addIssue: () => (objected = true) } as unknown as z.RefinementCtx;
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    let seenRequired = 0;
    for (const k in v) {
      const i = index.get(k);
      if (i === undefined || !Object.hasOwn(v, k)) return false;
      if (!checks[i]!((v as Record<string, unknown>)[k])) return false;
      if (requiredAt[i]) seenRequired++;
    }
    if (seenRequired !== required) return false;
    if (refine === undefined) return true;
    objected = false;
    refine(v, noting);
    return !objected;
  };
}

/** batchSchema without zod: `{ events: [...] }` of 1..batchMaxEvents items the item check accepts. */
export function batchFastCheck(
  item: (v: unknown) => boolean,
  batchMaxEvents: number,
): (v: unknown) => boolean {
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    let keys = 0;
    for (const k in v) if (k !== 'events' || ++keys > 1) return false;
    const events = (v as { events?: unknown }).events;
    if (!Array.isArray(events) || events.length < 1 || events.length > batchMaxEvents) return false;
    for (const e of events) if (!item(e)) return false;
    return true;
  };
}

/** `{ events: [item, …] }` with 1..batchMaxEvents items. */
export function batchSchema<I extends z.ZodType>(item: I, batchMaxEvents: number) {
  return z.strictObject({ events: z.array(item).min(1).max(batchMaxEvents) });
}

/**
 * The Kafka message for a validated request item, fields in message order. Without a
 * client event_id, the id is derived from the canonical event (the stream's tag, the
 * viewer, then every client field in message order, the client time as sent or null), so
 * a retried copy from an older app is recognised as the same event.
 */
export function buildMessage<V extends number, F extends Record<string, FieldSpec>>(
  stream: Stream<V, F>,
  item: RequestItemOf<F>,
  viewerId: string,
  receivedAtMs: number,
): MessageOf<V, F> {
  const sent = item as Record<string, unknown>;
  const receivedAt = toUtcIso(receivedAtMs);
  const clientTime = sent.occurred_at;
  const occurredAt = clientTime === undefined ? undefined : toUtcIso(Date.parse(clientTime as string));
  const m: Record<string, unknown> = { schema_version: stream.version };
  let idField: string | undefined;
  for (const f of stream.fieldList) {
    switch (f.source) {
      case 'client': {
        const v = sent[f.name];
        m[f.name] = v === undefined && f.default !== undefined ? f.default() : v;
        break;
      }
      case 'event-id': {
        const v = sent[f.name] as string | undefined;
        m[f.name] = v?.toLowerCase();
        if (v === undefined) idField = f.name;
        break;
      }
      case 'viewer':
        m[f.name] = viewerId;
        break;
      case 'occurred':
        m[f.name] = occurredAt ?? receivedAt;
        break;
      case 'received':
        m[f.name] = receivedAt;
        break;
      case 'producer':
        throw new Error(`${stream.name}.${f.name} is set by its producer, not from a request`);
    }
  }
  if (idField !== undefined) {
    const canonical: unknown[] = [stream.contentIdTag ?? stream.name, viewerId];
    for (const f of stream.fieldList) {
      if (f.source === 'client') {
        const v = m[f.name];
        canonical.push(f.canonical === undefined ? v : f.canonical(v));
      } else if (f.source === 'occurred') canonical.push(occurredAt ?? null);
    }
    m[idField] = contentEventId(canonical);
  }
  return m as MessageOf<V, F>;
}
