import { expect } from 'chai';
import { blockJoiner, lineHeaderLength, rowBinaryHeaderLength } from '../../lib/sql-http/block-join.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Joins per-block outputs as the endpoint does and returns the whole result as text. */
function join(format: string, blocks: string[]): string {
  const j = blockJoiner(format);
  return blocks.map((b) => dec.decode(j.block(enc.encode(b)))).join('') + dec.decode(j.end());
}

/** A JSON document as the engine writes one block of `rows` (a, s) rows. */
function jsonBlock(rows: [number, string][], extra = ''): string {
  const data = rows.map(([a, s]) => `\t\t{\n\t\t\t"a": ${a},\n\t\t\t"s": "${s}"\n\t\t}`).join(',\n');
  return (
    '{\n\t"meta":\n\t[\n\t\t{\n\t\t\t"name": "a",\n\t\t\t"type": "UInt32"\n\t\t}\n\t],\n\n\t"data":\n\t[\n' +
    `${data}\n\t],\n\n\t"rows": ${rows.length},\n\n${extra}\t"statistics":\n\t{\n\t\t"elapsed": 0.001\n\t}\n}\n`
  );
}

describe('SQL endpoint: blocks joined into one result', () => {
  it('keeps one JSON document: every block’s rows, their sum, and parses as one', () => {
    const whole = join('JSON', [
      jsonBlock([
        [1, 'x'],
        [2, 'y'],
      ]),
      jsonBlock([]),
      jsonBlock([[3, 'a\\"},\\n']], '\t"rows_before_limit_at_least": 3,\n\n'),
    ]);
    const doc = JSON.parse(whole) as { data: unknown[]; rows: number };
    expect(doc.rows).to.equal(3);
    expect(doc.data).to.deep.equal([
      { a: 1, s: 'x' },
      { a: 2, s: 'y' },
      { a: 3, s: 'a"},\n' },
    ]);
    expect(JSON.parse(join('JSONCompact', [jsonBlock([])]))).to.include({ rows: 0 });
    expect(JSON.parse(join('json', [jsonBlock([]), jsonBlock([[1, 'x']])])).data).to.have.length(1);
  });

  it('refuses a JSON block laid out otherwise (WITH TOTALS) rather than join it wrongly', () => {
    const j = blockJoiner('JSON');
    j.block(enc.encode(jsonBlock([[1, 'x']])));
    expect(() => j.block(enc.encode('\n\t],\n\n\t"totals": [0, 6]{\n'))).to.throw(
      /NOT_IMPLEMENTED|cannot serve/,
    );
    // A whole document that carries totals is refused too, not joined without them.
    const withTotals = jsonBlock([[2, 'y']]).replace(
      '\t"statistics"',
      '\t"totals": {"a": 3},\n\n\t"statistics"',
    );
    expect(() => blockJoiner('JSON').block(enc.encode(withTotals))).to.throw(/cannot serve/);
  });

  it('keeps the first header only: TSV, CSV (a quoted name with a newline), JSONCompactEachRow, Markdown', () => {
    expect(
      join('TSVWithNamesAndTypes', ['a\tb\nUInt8\tString\n1\tx\n', 'a\tb\nUInt8\tString\n2\ty\n']),
    ).to.equal('a\tb\nUInt8\tString\n1\tx\n2\ty\n');
    expect(join('CSVWithNames', ['"a\nb","c"\n1,2\n', '"a\nb","c"\n3,4\n'])).to.equal(
      '"a\nb","c"\n1,2\n3,4\n',
    );
    expect(join('JSONCompactEachRowWithNames', ['["a"]\n[1]\n', '["a"]\n[2]\n'])).to.equal(
      '["a"]\n[1]\n[2]\n',
    );
    expect(join('Markdown', ['| a |\n|-:|\n| 1 |\n', '| a |\n|-:|\n| 2 |\n'])).to.equal(
      '| a |\n|-:|\n| 1 |\n| 2 |\n',
    );
    expect(lineHeaderLength(enc.encode('"x\n"\n1\n'), 1, true)).to.equal(5);
  });

  it('reads a RowBinary header: the column count, then names (and types) as length-prefixed strings', () => {
    const header = Buffer.from('\x02\x01a\x02bc\x06UInt64\x06String', 'latin1');
    const rows = Buffer.from('\x01\x00', 'latin1');
    expect(rowBinaryHeaderLength(Buffer.concat([header, rows]), true)).to.equal(header.length);
    expect(rowBinaryHeaderLength(Buffer.from('\x02\x01a\x02bc\x07', 'latin1'), false)).to.equal(6);
    const j = blockJoiner('RowBinaryWithNamesAndTypes');
    j.block(Buffer.concat([header, rows]));
    expect(Buffer.from(j.block(Buffer.concat([header, rows])))).to.deep.equal(rows);
    expect(() => j.block(Buffer.from('\x01\x01a', 'latin1'))).to.throw(/another header/);
  });

  it('puts the comma between Values blocks, and passes row formats and Pretty as they are', () => {
    expect(join('Values', ["(1,'a')", '', "(2,'b')"])).to.equal("(1,'a'),(2,'b')");
    expect(join('TSV', ['1\n', '2\n'])).to.equal('1\n2\n');
    expect(join('JSONEachRow', ['{"a":1}\n', '{"a":2}\n'])).to.equal('{"a":1}\n{"a":2}\n');
    expect(join('PrettyCompact', ['t1\n', 't2\n'])).to.equal('t1\nt2\n');
    expect(blockJoiner('Native').oneBlock).to.equal(false);
  });

  it('serves other document formats for one block only', () => {
    // JSONEachRowWithProgress writes its meta line per block; PrettyMonoBlock is one table.
    const formats = ['Parquet', 'XML', 'JSONColumns', 'Arrow', 'ORC', 'Avro', 'JSONEachRowWithProgress'];
    for (const format of [...formats, 'PrettyCompactMonoBlock']) {
      const j = blockJoiner(format);
      expect(j.oneBlock, format).to.equal(true);
      j.block(enc.encode('first'));
      expect(() => j.block(enc.encode('second')), format).to.throw(/more than one block/);
    }
  });
});
