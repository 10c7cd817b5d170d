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

/**
 * One buffer the lines of a batch are written into, back to back, so a block of
 * consecutive lines is one slice of it and goes to the engine without being copied again
 * (`joinLines`). Sized by the caller for the batch; a line that no longer fits is
 * refused (the caller then builds it on its own).
 */
export class LineArena {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(bytes: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(0, bytes));
  }

  /**
   * The line for a compact value whose last byte is its closing brace: its bytes up to
   * that brace, `prefix` (the coordinates up to the offset's digits), the offset, `}\n`.
   * Undefined when it does not fit.
   */
  splice(value: Uint8Array, prefix: Uint8Array, offset: string): Buffer | undefined {
    const start = this.pos;
    const head = value.length - 1;
    const end = start + head + prefix.length + offset.length + 2;
    if (end > this.buf.length) return undefined;
    const b = this.buf;
    b.set(value, start); // its closing brace is overwritten next
    b.set(prefix, start + head);
    let p = start + head + prefix.length;
    for (let i = 0; i < offset.length; i++) b[p++] = offset.charCodeAt(i);
    b[p++] = CLOSE_BRACE;
    b[p] = LF;
    this.pos = end;
    return b.subarray(start, end);
  }
}

/** `,"kafka_partition":<partition>,"kafka_offset":` as bytes, for LineArena.splice. */
export function coordinatesPrefix(partition: number): Buffer {
  return Buffer.from(`,"${LINEAGE.partition}":${partition},"${LINEAGE.offset}":`, 'latin1');
}

/**
 * The lines as one body: a slice of their buffer when they lie back to back in it (lines
 * of one LineArena, nothing dropped between them), else a copy.
 */
export function joinLines(lines: readonly Buffer[]): Buffer {
  const first = lines[0];
  if (first === undefined) return Buffer.alloc(0);
  const ab = first.buffer;
  let next = first.byteOffset + first.length;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.buffer !== ab || l.byteOffset !== next) return Buffer.concat(lines);
    next += l.length;
  }
  return lines.length === 1 ? first : Buffer.from(ab, first.byteOffset, next - first.byteOffset);
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
