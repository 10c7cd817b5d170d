import { expect } from 'chai';
import { canonicalJson, checkProperties } from '../../lib/contracts/properties.js';

const limits = { maxBytes: 100, maxDepth: 3, maxKeys: 5 };

describe('user event properties', () => {
  it('accepts small, shallow properties', () => {
    expect(checkProperties({ query: 'matrix', page: 2, filters: { year: [1999, 2003] } }, limits)).to.equal(
      null,
    );
  });
  it('rejects nesting deeper than the limit, through arrays too', () => {
    expect(checkProperties({ a: { b: { c: { d: 1 } } } }, limits)).to.match(/deeper than 3/);
    expect(checkProperties({ a: [[[[1]]]] }, limits)).to.match(/deeper than 3/);
  });
  it('counts keys across all levels', () => {
    expect(checkProperties({ a: 1, b: 2, c: { d: 1, e: 2, f: 3 } }, limits)).to.match(/6 keys, more than 5/);
  });
  it('measures UTF-8 bytes of the JSON text', () => {
    expect(checkProperties({ s: 'é'.repeat(45) }, limits)).to.equal(null); // 98 bytes
    expect(checkProperties({ s: 'é'.repeat(48) }, limits)).to.match(/take 104 bytes as JSON, more than 100/);
  });
  it('writes canonical JSON independent of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).to.equal(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ x: 1, y: 2 })).to.equal(canonicalJson({ y: 2, x: 1 }));
  });
});
