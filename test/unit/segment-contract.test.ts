import { expect } from 'chai';
import { CreateSegment } from '../../lib/contracts/segment.js';

describe('segment contract', () => {
  it('takes a percent as PostgreSQL keeps it (2 decimals), and refuses finer rather than round it', () => {
    for (const percent of [0, 0.01, 12.35, 33.33, 50, 99.99, 100]) {
      expect(CreateSegment.safeParse({ slug: 'AB', percent }).success, String(percent)).to.equal(true);
    }
    for (const percent of [0.001, 12.345, 12.3456789, 1e-7, 99.999]) {
      const r = CreateSegment.safeParse({ slug: 'AB', percent });
      expect(r.success, String(percent)).to.equal(false);
      expect(r.error!.issues[0]!.message).to.match(/2 decimal places/);
    }
  });
});
