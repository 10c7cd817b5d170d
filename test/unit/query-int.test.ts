import { expect } from 'chai';
import { queryInt } from '../../lib/contracts/query-int.js';

describe('queryInt (whole numbers in a query string)', () => {
  const limit = queryInt(1, 100);

  it('reads plain decimal digits within the bounds', () => {
    expect(limit.parse('1')).to.equal(1);
    expect(limit.parse('100')).to.equal(100);
  });

  it('refuses every other spelling of a number, and numbers out of bounds', () => {
    for (const v of ['0x10', '1e1', '+5', '05', '5.0', ' 5', '5 ', '', '-1', '0', '101', '١٢', '5abc']) {
      expect(limit.safeParse(v).success, JSON.stringify(v)).to.equal(false);
    }
  });

  it('holds an expiry in seconds exactly, up to the largest safe integer', () => {
    const expires = queryInt(1, Number.MAX_SAFE_INTEGER);
    expect(expires.parse('1796595693')).to.equal(1796595693);
    expect(expires.parse(String(Number.MAX_SAFE_INTEGER))).to.equal(Number.MAX_SAFE_INTEGER);
    expect(expires.safeParse('9007199254740993').success).to.equal(false);
  });
});
