import { expect } from 'chai';
import {
  buildInsertBlocks,
  dedupToken,
  dropSeen,
  nextOffset,
  type Decoder,
} from '../../etl/src/batch-builder.js';
import { IdWindow } from '../../etl/src/dedup/id-window.js';

// Rows are numbers; the id is the number, the split key its hundreds (a "month").
const decodeNumber: Decoder<number> = (value) => {
  const n = Number(value?.toString());
  return Number.isInteger(n)
    ? { ok: true, row: n, id: String(n), splitKey: String(Math.floor(n / 100)) }
    : { ok: false, reason: 'not a number' };
};
const msgs = (values: string[], first = 100) =>
  values.map((v, i) => ({ offset: String(first + i), key: null, value: Buffer.from(v) }));
const rowsOf = (b: { rows: { row: number }[] }) => b.rows.map((r) => r.row);

describe('buildInsertBlocks', () => {
  it('makes one block over the whole contiguous range with a deterministic token', () => {
    const blocks = buildInsertBlocks('progress', 2, msgs(['1', '2', '3']), 10, decodeNumber);
    expect(blocks).to.have.length(1);
    expect(blocks[0]).to.deep.include({ firstOffset: '100', lastOffset: '102', rejects: [] });
    expect(rowsOf(blocks[0]!)).to.deep.equal([1, 2, 3]);
    expect(blocks[0]!.rows.map((r) => r.offset)).to.deep.equal(['100', '101', '102']);
    expect(blocks[0]!.token).to.equal('progress:2:100-102');
  });

  it('splits at maxRows into consecutive, non-overlapping ranges', () => {
    const blocks = buildInsertBlocks('t', 0, msgs(['1', '2', '3', '4', '5']), 2, decodeNumber);
    expect(blocks.map((b) => [b.firstOffset, b.lastOffset, rowsOf(b)])).to.deep.equal([
      ['100', '101', [1, 2]],
      ['102', '103', [3, 4]],
      ['104', '104', [5]],
    ]);
  });

  it('keeps undecodable messages in their range as rejects so committing never skips a good row', () => {
    const blocks = buildInsertBlocks('t', 0, msgs(['1', 'x', '3']), 10, decodeNumber);
    expect(rowsOf(blocks[0]!)).to.deep.equal([1, 3]);
    expect(blocks[0]!.rejects).to.deep.equal([
      { offset: '101', key: null, value: Buffer.from('x'), reason: 'not a number' },
    ]);
    expect(blocks[0]!.lastOffset).to.equal('102');
  });

  it('gives the same blocks and tokens when the same messages are delivered again', () => {
    const a = buildInsertBlocks('t', 1, msgs(['1', '2', '3']), 2, decodeNumber);
    const b = buildInsertBlocks('t', 1, msgs(['1', '2', '3']), 2, decodeNumber);
    expect(a.map((x) => x.token)).to.deep.equal(b.map((x) => x.token));
  });

  it('starts a new block where the table partition changes, so a block is written as one part', () => {
    const blocks = buildInsertBlocks('t', 0, msgs(['198', '199', 'x', '200', '201']), 10, decodeNumber);
    expect(blocks.map((b) => [b.firstOffset, b.lastOffset, rowsOf(b)])).to.deep.equal([
      ['100', '102', [198, 199]],
      ['103', '104', [200, 201]],
    ]);
    expect(blocks[0]!.rejects.map((r) => r.offset)).to.deep.equal(['102']);
  });

  it('returns no blocks for no messages', () => {
    expect(buildInsertBlocks('t', 0, [], 10, decodeNumber)).to.deep.equal([]);
  });
});

describe('dropSeen', () => {
  const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const rows = (ns: number[]) =>
    ns.map((n, i) => ({
      offset: String(100 + i),
      id: uuid(n),
      row: n,
      key: null,
      value: null,
    }));
  const seenOf = (ns: number[]) => {
    const w = new IdWindow(100, Number.POSITIVE_INFINITY);
    for (const n of ns) w.add(uuid(n), 0);
    return w;
  };

  it('drops ids already seen and repeats within the block, keeping first copies in order', () => {
    const { fresh, dropped, words } = dropSeen(rows([1, 2, 1, 3, 2, 4]), seenOf([3]));
    expect(rowsOf({ rows: fresh })).to.deep.equal([1, 2, 4]);
    expect(fresh.map((r) => r.offset)).to.deep.equal(['100', '101', '105']);
    expect(dropped).to.equal(3);
    // Each fresh row's id, in order, as the window stores it.
    const back = new IdWindow(10, Number.POSITIVE_INFINITY);
    for (let i = 0; i < fresh.length; i++) expect(back.addWords(words, i * 4, 0)).to.equal(true);
    for (const n of [1, 2, 4]) expect(back.has(uuid(n))).to.equal(true);
    expect(back.size).to.equal(3);
  });

  it('compares ids as 128 bits, as the UUID column stores them: a copy in capitals is a repeat', () => {
    const upper = uuid(7).toUpperCase();
    const block = rows([7, 7, 8]);
    block[1]!.id = upper;
    const { fresh, dropped } = dropSeen(block, seenOf([]));
    expect(fresh.map((r) => r.offset)).to.deep.equal(['100', '102']);
    expect(dropped).to.equal(1);
    const seenBefore = rows([8, 9]);
    seenBefore[0]!.id = upper; // seen in an earlier block, in small letters
    expect(dropSeen(seenBefore, seenOf([7])).fresh.map((r) => r.row)).to.deep.equal([9]);
  });
});

describe('offset helpers', () => {
  it('commits the offset after the last one, beyond 2^53', () => {
    expect(nextOffset('41')).to.equal('42');
    expect(nextOffset('9007199254740993')).to.equal('9007199254740994');
  });
  it('formats dedup tokens as topic:partition:first-last', () => {
    expect(dedupToken('progress-events', 5, '10', '20')).to.equal('progress-events:5:10-20');
  });
});
