import { expect } from 'chai';
import { walBetween } from '../../stress-testing/src/wal-window.js';

describe("WAL window: PostgreSQL's log over a measured window", () => {
  it('is the change of each counter between the two readings', () => {
    const start = { records: 100, fpi: 10, bytes: 5000, syncs: 40, checkpoints: 7, sessions: 12 };
    const end = { records: 1100, fpi: 440, bytes: 2_005_000, syncs: 940, checkpoints: 8, sessions: 14 };
    expect(walBetween(start, end)).to.deep.equal({
      records: 1000,
      fullPageImages: 430,
      bytes: 2_000_000,
      syncs: 900,
      checkpoints: 1,
      connectionsOpened: 2,
    });
  });
});
