import { expect } from 'chai';
import { bucketOf, pickOption, sharesOf } from '../../api/src/experiments/bucketing.js';
import { chiSquareGoodnessOfFit } from '../../api/src/experiments/chi-square.js';

describe('hash bucketing', () => {
  it('is deterministic per (seed, device) and in [0, 1)', () => {
    const u = bucketOf('seed-1', 'device-abc');
    expect(bucketOf('seed-1', 'device-abc')).to.equal(u);
    expect(u).to.be.at.least(0).and.below(1);
  });

  it('is independent across experiment seeds', () => {
    const devices = Array.from({ length: 20_000 }, (_, i) => `device-${i}`);
    // Same device, two experiments: the halves must not line up (correlation ~ 0).
    const a = devices.map((d) => (bucketOf('exp-a', d) < 0.5 ? 1 : 0));
    const b = devices.map((d) => (bucketOf('exp-b', d) < 0.5 ? 1 : 0));
    const both = a.filter((x, i) => x === 1 && b[i] === 1).length / devices.length;
    expect(both).to.be.closeTo(0.25, 4.5 * Math.sqrt((0.25 * 0.75) / devices.length));
  });

  it('spreads devices uniformly (chi-square over 20 buckets, p > 0.0001)', () => {
    const counts = new Array<number>(20).fill(0);
    for (let i = 0; i < 100_000; i++) counts[Math.floor(bucketOf('uniform', `d${i}`) * 20)]!++;
    expect(chiSquareGoodnessOfFit(counts, new Array(20).fill(1)).pValue).to.be.above(0.0001);
  });

  it('picks options by cumulative weight, the last owning the top end', () => {
    const w = [75, 10, 5, 10];
    expect(pickOption(w, 0)).to.equal(0);
    expect(pickOption(w, 0.7499999)).to.equal(0);
    expect(pickOption(w, 0.75)).to.equal(1);
    expect(pickOption(w, 0.85)).to.equal(2);
    expect(pickOption(w, 0.9)).to.equal(3);
    expect(pickOption(w, 0.9999999999)).to.equal(3);
    expect(pickOption([1, 1, 1], 1 / 3)).to.equal(1);
    expect(() => pickOption([], 0.5)).to.throw(RangeError);
    expect(() => pickOption([0, 0], 0.5)).to.throw(RangeError);
  });

  it("reproduces the spec's price split over many devices", () => {
    const weights = [75, 10, 5, 10];
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 50_000; i++) counts[pickOption(weights, bucketOf('price-seed', `device-${i}`))]!++;
    expect(chiSquareGoodnessOfFit(counts, weights).pValue).to.be.above(0.0001);
    expect(sharesOf(weights)).to.deep.equal([0.75, 0.1, 0.05, 0.1]);
  });
});
