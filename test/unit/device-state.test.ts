import { expect } from 'chai';
import {
  deviceState,
  firstSeenUs,
  hasStored,
  storedEntries,
  storedOption,
  unstored,
  withStored,
} from '../../api/src/experiments/device-state.js';

describe('DeviceState', () => {
  // A real first-seen time in µs: beyond V8's small integers, as in production.
  const seen = 1_795_469_644_410_123;

  it('holds the first-seen time exactly and no options at first', () => {
    const s = deviceState(seen);
    expect(firstSeenUs(s)).to.equal(seen);
    expect(storedEntries(s)).to.deep.equal([]);
    expect(storedOption(s, 1)).to.equal(undefined);
    expect(hasStored(s, 1)).to.equal(false);
  });

  it('records options per experiment, position 0 included', () => {
    const s = withStored(withStored(deviceState(seen), 7, 0), 3, 2);
    expect(storedOption(s, 7)).to.equal(0);
    expect(hasStored(s, 7)).to.equal(true);
    expect(storedOption(s, 3)).to.equal(2);
    expect(storedOption(s, 5)).to.equal(undefined);
    expect(storedEntries(s)).to.deep.equal([
      [7, 0],
      [3, 2],
    ]);
    expect(firstSeenUs(s)).to.equal(seen);
  });

  it('never changes a state it was given: a cached or shared state stays as it was', () => {
    const base = withStored(deviceState(seen), 1, 1);
    const added = withStored(base, 2, 0);
    const replaced = withStored(added, 1, 3);
    expect(storedEntries(base)).to.deep.equal([[1, 1]]);
    expect(storedEntries(added)).to.deep.equal([
      [1, 1],
      [2, 0],
    ]);
    expect(storedEntries(replaced)).to.deep.equal([
      [1, 3],
      [2, 0],
    ]);
  });

  it('does not mistake a position for an experiment id', () => {
    // Experiment 2 holds position 1: looking up experiment 1 must not find the "1".
    const s = withStored(deviceState(seen), 2, 1);
    expect(storedOption(s, 1)).to.equal(undefined);
    expect(hasStored(s, 1)).to.equal(false);
  });

  it('unstored: eligible experiments (created at or before first seen) without a stored option', () => {
    const s = withStored(deviceState(seen), 1, 0);
    const experiments = [
      { id: 1, createdAtUs: seen - 10 }, // stored
      { id: 2, createdAtUs: seen }, // eligible, created the same µs: not stored
      { id: 3, createdAtUs: seen + 1 }, // created after the device was first seen
      { id: 4, createdAtUs: seen - 1 }, // eligible, not stored
    ];
    expect(unstored(s, experiments).map((e) => e.id)).to.deep.equal([2, 4]);
    expect(unstored(withStored(withStored(s, 2, 1), 4, 0), experiments)).to.deep.equal([]);
  });
});
