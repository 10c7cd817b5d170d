import { LINEAGE } from '../../lib/clickhouse/stream-table.js';

/**
 * A Kafka message as one JSONEachRow line of its table: the message's own fields plus its
 * Kafka coordinates. Decoders call this only after the message passed its contract.
 *
 * Pass-through: the validated value's bytes are copied as they are, with the coordinates
 * spliced in before the closing brace, instead of building a row object for the client to
 * stringify again. Exact because the contracts are strict objects (no unknown keys, so no
 * clash with the coordinates) and the engine reads the same JSON the validator read; a
 * value JSON.parse would read differently (a duplicate key) the engine rejects, and the
 * block's bisection dead-letters it. Values with raw line breaks (pretty-printed JSON)
 * are re-serialised, so one message is always one line.
 */
export function kafkaRowLine(
  value: Buffer,
  message: Record<string, unknown>,
  partition: number,
  offset: string,
): Buffer {
  let end = value.length;
  while (end > 0 && isJsonSpace(value[end - 1]!)) end--;
  if (value[end - 1] !== CLOSE_BRACE || value.indexOf(LF) !== -1 || value.indexOf(CR) !== -1) {
    return objectRowLine({ ...message, [LINEAGE.partition]: partition, [LINEAGE.offset]: offset });
  }
  const suffix = `,"${LINEAGE.partition}":${partition},"${LINEAGE.offset}":${offset}}\n`;
  const line = Buffer.allocUnsafe(end - 1 + suffix.length);
  value.copy(line, 0, 0, end - 1);
  line.write(suffix, end - 1, 'latin1');
  return line;
}

/** A row object as a JSONEachRow line, for tables whose row differs from the message. */
export function objectRowLine(row: Record<string, unknown>): Buffer {
  return Buffer.from(`${JSON.stringify(row)}\n`);
}

const CLOSE_BRACE = 0x7d;
const LF = 0x0a;
const CR = 0x0d;

function isJsonSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === LF || b === CR;
}
