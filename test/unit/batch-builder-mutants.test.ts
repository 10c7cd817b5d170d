import { expect } from 'chai';
import { buildInsertBlocks, dropSeen, type Decoder } from '../../etl/src/batch-builder.js';

// Cases the mutation run (npm run test:mutation) showed batch-builder.test.ts leaves open.

// Values are "<id>@<month>"; anything else does not decode.
const decodeNumber: Decoder<number> = (value) => {
  const [id, month] = (value?.toString() ?? '').split('@');
  return id !== undefined && month !== undefined && /^\d+$/.test(id)
    ? { ok: true, row: Number(id), id, splitKey: month }
    : { ok: false, reason: 'not a number' };
};
const msgs = (values: string[], first = 100) =>
  values.map((v, i) => ({
    offset: String(first + i),
    key: Buffer.from(`k${v}`),
    value: Buffer.from(/^\d+$/.test(v) ? `${v}@${Math.floor(Number(v) / 100)}` : v),
  }));

describe('buildInsertBlocks (mutation-testing cases)', () => {
  it('puts leading rejects in the block of the first good row, not in a block of their own', () => {
    const blocks = buildInsertBlocks('t', 0, msgs(['x', 'y', '198', '199']), 10, decodeNumber);
    expect(blocks).to.have.length(1);
    expect(blocks[0]).to.deep.include({ firstOffset: '100', lastOffset: '103', token: 't:0:100-103' });
    expect(blocks[0]!.rejects.map((r) => r.offset)).to.deep.equal(['100', '101']);
    expect(blocks[0]!.rows.map((r) => r.row)).to.deep.equal([198, 199]);
  });

  it('makes a block of rejects only when nothing decodes', () => {
    const blocks = buildInsertBlocks('t', 3, msgs(['x', 'y']), 1, decodeNumber);
    expect(blocks.map((b) => [b.token, b.rows.length, b.rejects.length])).to.deep.equal([
      ['t:3:100-101', 0, 2],
    ]);
  });

  it('counts rows, not rejects, towards maxRows', () => {
    const blocks = buildInsertBlocks('t', 0, msgs(['1', 'x', 'y', '2', '3']), 2, decodeNumber);
    expect(blocks.map((b) => [b.firstOffset, b.lastOffset, b.rows.length, b.rejects.length])).to.deep.equal([
      ['100', '103', 2, 2],
      ['104', '104', 1, 0],
    ]);
  });

  it('keeps each row and reject with its own offset, key, value and id, and hands the decoder the offset', () => {
    const offsets: string[] = [];
    const decode: Decoder<number> = (value, offset) => {
      offsets.push(offset);
      return decodeNumber(value, offset);
    };
    const [block] = buildInsertBlocks('t', 0, msgs(['7', 'x']), 10, decode);
    expect(offsets).to.deep.equal(['100', '101']);
    expect(block!.rows).to.deep.equal([
      { offset: '100', id: '7', row: 7, key: Buffer.from('k7'), value: Buffer.from('7@0') },
    ]);
    expect(block!.rejects).to.deep.equal([
      { offset: '101', key: Buffer.from('kx'), value: Buffer.from('x'), reason: 'not a number' },
    ]);
  });
});

describe('dropSeen (mutation-testing cases)', () => {
  it('asks about each id and keeps every row when none was seen', () => {
    const ids = ['1', '2', '3'].map((n) => `00000000-0000-4000-8000-${n.padStart(12, '0')}`);
    const rows = ids.map((id, i) => ({ offset: String(i), id, row: i + 1, key: null, value: null }));
    const asked: string[] = [];
    const { fresh, dropped } = dropSeen(rows, {
      hasWords: (w, at) => {
        const hex = [...w.subarray(at, at + 4)].map((x) => x.toString(16).padStart(8, '0')).join('');
        asked.push(
          `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
        );
        return false;
      },
    });
    expect(asked).to.deep.equal(ids);
    expect(fresh.map((r) => r.row)).to.deep.equal([1, 2, 3]);
    expect(dropped).to.equal(0);
  });
});
