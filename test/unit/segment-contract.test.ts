import { expect } from 'chai';
import { CreateSegment, createSegmentChangeSchema } from '../../lib/contracts/segment.js';

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

  it('takes an expiry to the millisecond, and refuses finer digits rather than cut them', () => {
    const schema = createSegmentChangeSchema(() => Date.parse('2026-01-01T00:00:00Z'));
    const add = (expires_at: string) => schema.safeParse({ add: [{ slug: 'AB', expires_at }] });
    expect(add('2027-01-01T00:00:00.123Z').success).to.equal(true);
    expect(add('2027-01-01T00:00:00.123000Z').success).to.equal(true);
    const finer = add('2027-01-01T00:00:00.123456Z');
    expect(finer.success).to.equal(false);
    expect(finer.error!.issues[0]!.message).to.match(/more precise than a millisecond/);
  });
});
