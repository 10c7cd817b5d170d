import { expect } from 'chai';
import { HistoryLinks } from '../../api/src/segments/history-links.js';
import { periodBounds } from '../../api/src/segments/history-export.js';
import { createHistoryPeriodSchema } from '../../lib/contracts/segment.js';
import type { AppError } from '../../lib/errors.js';

const key = Buffer.alloc(32, 7);
const codeOf = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as AppError).code;
  }
};

describe('HistoryLinks', () => {
  it('accepts its own link until it expires, then answers link_expired', () => {
    let now = Date.UTC(2026, 10, 22, 12);
    const links = new HistoryLinks(key, 900, () => now);
    const link = links.sign('2026-11');
    const q = new URLSearchParams(link.query);
    expect(q.get('period')).to.equal('2026-11');
    expect(link.expiresAt.getTime()).to.equal(now + 900_000);
    const check = () => links.verify(q.get('period')!, Number(q.get('expires')), q.get('signature')!);
    expect(codeOf(check)).to.equal(undefined);
    now += 899_000;
    expect(codeOf(check)).to.equal(undefined);
    now += 1000;
    expect(codeOf(check)).to.equal('link_expired');
  });

  it('refuses a changed period or expiry, a foreign key and a garbled signature', () => {
    const links = new HistoryLinks(key, 900);
    const q = new URLSearchParams(links.sign('2026-11').query);
    const expires = Number(q.get('expires'));
    const sig = q.get('signature')!;
    expect(codeOf(() => links.verify('2026-10', expires, sig))).to.equal('invalid_signature');
    expect(codeOf(() => links.verify('2026-11', expires + 1, sig))).to.equal('invalid_signature');
    expect(codeOf(() => new HistoryLinks(Buffer.alloc(32, 8), 900).verify('2026-11', expires, sig))).to.equal(
      'invalid_signature',
    );
    expect(codeOf(() => links.verify('2026-11', expires, 'x'))).to.equal('invalid_signature');
    expect(
      codeOf(() => links.verify('2026-11', expires, sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A'))),
    ).to.equal('invalid_signature');
  });
});

describe('history period', () => {
  it('spans the calendar month in UTC, December into the next year', () => {
    expect(periodBounds('2026-11')).to.deep.equal({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
    });
    expect(periodBounds('2026-12')).to.deep.equal({
      from: '2026-12-01T00:00:00.000Z',
      to: '2027-01-01T00:00:00.000Z',
    });
  });

  it('takes YYYY-MM up to the current month only', () => {
    const schema = createHistoryPeriodSchema(() => Date.UTC(2026, 10, 22));
    for (const ok of ['2026-11', '2026-01', '1999-12'])
      expect(schema.safeParse(ok).success, ok).to.equal(true);
    for (const bad of ['2026-12', '2027-01', '2026-13', '2026-00', '2026-1', 'november', '', undefined])
      expect(schema.safeParse(bad).success, String(bad)).to.equal(false);
  });
});
