import { viewerFieldOf, type AnyStream } from '../../lib/contracts/stream.js';
import { LINEAGE } from '../../lib/clickhouse/stream-table.js';
import { decodeContract } from '../../lib/kafka/decode-contract.js';
import type { Decoded } from './batch-builder.js';
import { kafkaRowLine, objectRowLine } from './row-line.js';

export type StreamDecoder = (value: Buffer | null, partition: number, offset: string) => Decoded<Buffer>;

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
    return {
      ok: true,
      id: m.event_id as string,
      viewer: viewer === undefined ? undefined : (m[viewer] as string | null),
      // Table partition (PARTITION BY toYYYYMM(<monthOf>)): one block, one part.
      splitKey: (m[month] as string).slice(0, 7),
      row: passThrough ? kafkaRowLine(value!, m, partition, offset) : encodeRow(m, partition, offset),
    };
  };
}
