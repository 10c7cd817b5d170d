import { viewerFieldOf, type AnyStream } from '../../lib/contracts/stream.js';
import { LINEAGE } from '../../lib/clickhouse/stream-table.js';
import { decodeContract } from '../../lib/kafka/decode-contract.js';
import type { Decoded, Decoder, SourceMessage } from './batch-builder.js';
import { coordinatesPrefix, kafkaRowLine, LineArena, objectRowLine } from './row-line.js';

export type StreamDecoder = (value: Buffer | null, partition: number, offset: string) => Decoded<Buffer>;
/**
 * A decoder for one fetched batch of one partition. `viewers`: whether rows must name their
 * viewer (only while some viewer is erased: erased-viewers.ts); when false a row's viewer
 * may be left out.
 */
export type BatchDecoder = (
  partition: number,
  messages: readonly SourceMessage[],
  viewers: boolean,
) => Decoder<Buffer>;

/**
 * The ETL's one decoder, built from a stream definition: parses and re-validates a Kafka
 * value against the contract (the API validated it already, but the topic is a public
 * interface: anything may have been written to it), then encodes it as its table's
 * JSONEachRow line. A stream whose fields are all stored as they are passes the value's
 * bytes through (row-line.ts); one with a field stored differently (`toColumn`) builds
 * the row in table order.
 */
export function streamDecoder(stream: AnyStream): StreamDecoder {
  const table = stream.table;
  if (table === undefined) throw new Error(`stream ${stream.name} has no table`);
  const schema = stream.message;
  const fastCheck = stream.fastCheck;
  const month = table.monthOf;
  const stored = stream.fieldList.filter((f) => f.column !== undefined);
  const passThrough = stored.every((f) => f.toColumn === undefined);
  const viewer = viewerFieldOf(stream)?.name;
  const encodeRow = (m: Record<string, unknown>, partition: number, offset: string): Buffer => {
    const row: Record<string, unknown> = {};
    for (const f of stored) row[f.name] = f.toColumn === undefined ? m[f.name] : f.toColumn(m[f.name]);
    row.schema_version = m.schema_version;
    row[LINEAGE.partition] = partition;
    row[LINEAGE.offset] = offset;
    return objectRowLine(row);
  };
  return (value, partition, offset) => {
    const decoded = decodeContract(value, schema, fastCheck);
    if (!decoded.ok) return decoded;
    const m = decoded.message as Record<string, unknown>;
    const viewerId = viewer === undefined ? undefined : (m[viewer] as string | null);
    return {
      ok: true,
      // Ids in the case ClickHouse's UUID columns print them, so a copy written in capitals
      // (straight to the topic; the API lower-cases) matches its stored row and the erased list.
      id: (m.event_id as string).toLowerCase(),
      viewer: typeof viewerId === 'string' ? viewerId.toLowerCase() : viewerId,
      // Table partition (PARTITION BY toYYYYMM(<monthOf>)): one block, one part.
      splitKey: (m[month] as string).slice(0, 7),
      row: passThrough ? kafkaRowLine(value!, m, partition, offset) : encodeRow(m, partition, offset),
    };
  };
}

/**
 * The ETL's decoder per fetched batch: the same answers as `streamDecoder`, with a fast
 * path for the common message. A value in the API's compact form that the stream's byte
 * check accepts (lib/contracts/fast-bytes.ts: a subset of what the contract accepts) is
 * validated on its bytes, without JSON.parse, and its line is written into one buffer for
 * the batch (LineArena), the same bytes `kafkaRowLine` makes; consecutive lines then reach
 * the engine as one slice. Everything else goes through `streamDecoder`, which decides and
 * gives the dead letter its reason.
 */
export function streamBatchDecoder(stream: AnyStream): BatchDecoder {
  const slow = streamDecoder(stream);
  const check = stream.byteCheck;
  const table = stream.table!;
  const fields = stream.fieldList;
  const stored = fields.filter((f) => f.column !== undefined);
  const passThrough = stored.every((f) => f.toColumn === undefined);
  // `at` index of a field: 0 is schema_version.
  const atOf = (name: string | undefined, kind: string): number => {
    const i = fields.findIndex((f) => f.name === name);
    return i >= 0 && fields[i]!.bytes?.kind === kind ? i + 1 : -1;
  };
  const idAt = atOf('event_id', 'uuid');
  const viewer = viewerFieldOf(stream)?.name;
  const viewerAt = viewer === undefined ? 0 : atOf(viewer, 'uuid');
  const monthAt = atOf(table.monthOf, 'iso-utc');
  if (check === undefined || !passThrough || idAt < 0 || viewerAt < 0 || monthAt < 0) {
    return (partition) => (value, offset) => slow(value, partition, offset);
  }
  const at = new Int32Array(fields.length + 1);
  const prefixes = new Map<number, Buffer>();
  const month = new Uint8Array(7);
  let monthKey = '';
  return (partition, messages, viewers) => {
    let prefix = prefixes.get(partition);
    if (prefix === undefined) {
      prefix = coordinatesPrefix(partition);
      prefixes.set(partition, prefix);
    }
    let bytes = 0;
    for (const m of messages)
      if (m.value !== null) bytes += m.value.length + m.offset.length + prefix.length + 2;
    const arena = new LineArena(bytes);
    return (value, offset) => {
      if (value === null || !check(value, value.length, at)) return slow(value, partition, offset);
      const row = arena.splice(value, prefix, offset);
      if (row === undefined) return slow(value, partition, offset);
      const m = at[monthAt]!;
      let same = monthKey !== '';
      for (let i = 0; i < 7; i++) {
        if (month[i] !== value[m + i]) {
          same = false;
          month[i] = value[m + i]!;
        }
      }
      if (!same) monthKey = value.toString('latin1', m, m + 7);
      const id = at[idAt]!;
      const v = at[viewerAt]!;
      return {
        ok: true,
        id: value.toString('latin1', id, id + 36).toLowerCase(),
        viewer:
          viewer === undefined || !viewers ? undefined : value.toString('latin1', v, v + 36).toLowerCase(),
        // Table partition (PARTITION BY toYYYYMM(<monthOf>)): one block, one part.
        splitKey: monthKey,
        row,
      };
    };
  };
}
