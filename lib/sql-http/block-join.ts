import { chError } from './errors.js';

/**
 * The embedded engine streams a result one block at a time and formats each block as a
 * whole result of its own: a JSON document per block, a CSV header per block. A client
 * expects one result, as clickhouse-server writes it. A joiner turns the engine's per-block
 * outputs into that one result as they pass, holding at most one block:
 * - row formats (TSV, CSV, JSONEachRow, RowBinary, Native...) concatenate as they are;
 * - formats with a header (`...WithNames`, `...WithNamesAndTypes`, Markdown) keep the first
 *   block's header and drop the same bytes from every later block;
 * - Values puts the comma between blocks;
 * - JSON, JSONStrings, JSONCompact and JSONCompactStrings keep one document: the first
 *   block's meta, every block's rows, the sum of the rows, the last block's statistics;
 * - every other format (Parquet, Arrow, ORC, XML, JSONColumns...) is served for a result
 *   of one block, and refused with NOT_IMPLEMENTED when a second block comes.
 * Pretty formats print a table per block, as clickhouse-server does: they pass as they are
 * (PrettyMonoBlock, one table, is served for one block).
 */
export interface BlockJoiner {
  /** Serves a result of one block only: the caller looks for a second before the status. */
  readonly oneBlock: boolean;
  /** The bytes to send for this block (its position in the result decides what is kept). */
  block(bytes: Uint8Array): Uint8Array;
  /** The bytes that close the result after the last block. */
  end(): Uint8Array;
}

const EMPTY = new Uint8Array(0);

const CONCATENATE = new Set(
  [
    'TabSeparated',
    'TSV',
    'TabSeparatedRaw',
    'TSVRaw',
    'Raw',
    'CSV',
    'CustomSeparated',
    'JSONEachRow',
    'JSONLines',
    'NDJSON',
    'JSONStringsEachRow',
    'JSONCompactEachRow',
    'JSONCompactStringsEachRow',
    'RowBinary',
    'Native',
    'LineAsString',
    'RawBLOB',
    'TSKV',
    'MsgPack',
    'BSONEachRow',
    'Null',
  ].map((f) => f.toLowerCase()),
);

/** Text formats with a header of one line (names) or two (names and types). */
const LINE_HEADERS = new Map<string, number>([
  ...[
    'TabSeparated',
    'TSV',
    'TabSeparatedRaw',
    'TSVRaw',
    'Raw',
    'JSONCompactEachRow',
    'JSONCompactStringsEachRow',
  ].flatMap((f): [string, number][] => [
    [`${f}WithNames`.toLowerCase(), 1],
    [`${f}WithNamesAndTypes`.toLowerCase(), 2],
  ]),
  ['markdown', 2],
]);

const JSON_DOCUMENTS = new Set(['json', 'jsonstrings', 'jsoncompact', 'jsoncompactstrings']);

/**
 * Refuses, before it runs, a query whose result no joiner can keep whole: the engine writes a
 * JSON document's totals as a broken document of their own.
 */
export function assertJoinable(format: string, withTotals: boolean): void {
  if (withTotals && JSON_DOCUMENTS.has(format.toLowerCase())) {
    throw notJoinable(format, 'the embedded engine writes WITH TOTALS apart from the rows');
  }
}

export function blockJoiner(format: string): BlockJoiner {
  const f = format.toLowerCase();
  // Pretty prints a table per block, as clickhouse-server does (its row numbers and row cap
  // restart per block); PrettyMonoBlock and its kind are one table, so one block here.
  const perBlockTable = f.startsWith('pretty') && !f.endsWith('monoblock');
  if (CONCATENATE.has(f) || perBlockTable) return { oneBlock: false, block: (b) => b, end: () => EMPTY };
  const lines = LINE_HEADERS.get(f);
  if (lines !== undefined) return headerOnce(format, (b) => lineHeaderLength(b, lines, false));
  if (f === 'csvwithnames') return headerOnce(format, (b) => lineHeaderLength(b, 1, true));
  if (f === 'csvwithnamesandtypes') return headerOnce(format, (b) => lineHeaderLength(b, 2, true));
  if (f === 'rowbinarywithnames') return headerOnce(format, (b) => rowBinaryHeaderLength(b, false));
  if (f === 'rowbinarywithnamesandtypes') return headerOnce(format, (b) => rowBinaryHeaderLength(b, true));
  if (f === 'values') return valuesJoiner();
  if (JSON_DOCUMENTS.has(f)) return jsonDocumentJoiner(format);
  return oneBlockOnly(format);
}

function notJoinable(format: string, why: string) {
  return chError(
    'NOT_IMPLEMENTED',
    `The embedded engine cannot serve this result in format ${format}: ${why}. Ask for a row format (TabSeparated, CSV, JSONEachRow, Native, RowBinary), or a result small enough for one block`,
  );
}

function oneBlockOnly(format: string): BlockJoiner {
  let blocks = 0;
  return {
    oneBlock: true,
    block(bytes) {
      if (++blocks > 1) throw notJoinable(format, 'it spans more than one block');
      return bytes;
    },
    end: () => EMPTY,
  };
}

function headerOnce(format: string, headerLength: (first: Uint8Array) => number): BlockJoiner {
  let header: Uint8Array | undefined;
  return {
    oneBlock: false,
    block(bytes) {
      if (header === undefined) {
        header = Uint8Array.from(bytes.subarray(0, headerLength(bytes)));
        return bytes;
      }
      if (!startsWith(bytes, header)) throw notJoinable(format, 'a block came with another header');
      return bytes.subarray(header.length);
    },
    end: () => EMPTY,
  };
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Bytes in the first `lines` lines; CSV names are quoted and may hold a newline. */
export function lineHeaderLength(bytes: Uint8Array, lines: number, csvQuoted: boolean): number {
  let seen = 0;
  let quoted = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (csvQuoted && c === 0x22) quoted = !quoted;
    else if (c === 0x0a && !quoted && ++seen === lines) return i + 1;
  }
  return bytes.length;
}

/** RowBinaryWithNames[AndTypes]: a varint column count, then that many (or twice) strings. */
export function rowBinaryHeaderLength(bytes: Uint8Array, withTypes: boolean): number {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = bytes[at++];
      if (b === undefined) return value;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    return value;
  };
  const columns = varint();
  const strings = withTypes ? 2 * columns : columns;
  for (let i = 0; i < strings; i++) {
    // Not `at += varint()`: that reads `at` before varint() moves it past the length.
    const length = varint();
    at += length;
  }
  return Math.min(at, bytes.length);
}

function valuesJoiner(): BlockJoiner {
  let any = false;
  const comma = new Uint8Array([0x2c]);
  return {
    oneBlock: false,
    block(bytes) {
      if (bytes.length === 0) return bytes;
      const out = any ? concat(comma, bytes) : bytes;
      any = true;
      return out;
    },
    end: () => EMPTY,
  };
}

// The engine's JSON writer lays a document out with these fixed separators. A raw newline
// never occurs inside a JSON string, so each marks one place in the document.
const DATA_OPEN = '\n\t"data":\n\t[\n';
const DATA_CLOSE = '\n\t],\n\n\t"rows": ';

/**
 * One JSON document from the per-block documents: the first block's text up to its rows,
 * every block's rows joined by commas, then the closing part of the last block with the
 * rows summed. A block laid out otherwise (WITH TOTALS, extremes) is refused rather than
 * joined into something a parser would read wrongly.
 */
function jsonDocumentJoiner(format: string): BlockJoiner {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let blocks = 0;
  let rows = 0;
  let anyRows = false;
  let tail = '';
  return {
    oneBlock: false,
    block(bytes) {
      const text = decoder.decode(bytes);
      const open = text.indexOf(DATA_OPEN);
      const close = text.lastIndexOf(DATA_CLOSE);
      const count = /^(\d+),/.exec(text.slice(close + DATA_CLOSE.length));
      if (open < 0 || close < open || count === null || text.includes('\n\t"totals":')) {
        throw notJoinable(
          format,
          'a block is not laid out as a plain JSON document (WITH TOTALS or extremes?)',
        );
      }
      const rowsText = text.slice(open + DATA_OPEN.length, close);
      rows += Number(count[1]);
      tail = text.slice(close + DATA_CLOSE.length + count[1]!.length);
      const head = blocks++ === 0 ? text.slice(0, open + DATA_OPEN.length) : '';
      const sep = anyRows && rowsText !== '' ? ',\n' : '';
      if (rowsText !== '') anyRows = true;
      return encoder.encode(head + sep + rowsText);
    },
    end() {
      if (blocks === 0) return EMPTY;
      return encoder.encode(`${DATA_CLOSE}${rows}${tail}`);
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
