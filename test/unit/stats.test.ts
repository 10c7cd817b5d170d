import { expect } from 'chai';
import { chiSquareGoodnessOfFit, chiSquareSurvival, logGamma } from '../../api/src/experiments/chi-square.js';
import { meanInterval, tQuantile975 } from '../../api/src/experiments/mean-interval.js';

describe('chi-square', () => {
  it('matches tabulated critical values', () => {
    // (x, df, P(X ≥ x)) from standard chi-square tables.
    const table: Array<[number, number, number]> = [
      [3.841, 1, 0.05],
      [6.635, 1, 0.01],
      [10.828, 1, 0.001],
      [13.816, 2, 0.001],
      [16.266, 3, 0.001],
      [7.815, 3, 0.05],
      [30.144, 19, 0.05],
      [0.455, 1, 0.5],
    ];
    for (const [x, df, p] of table)
      expect(chiSquareSurvival(x, df), `${x}, ${df}`).to.be.closeTo(p, p * 0.002);
    expect(chiSquareSurvival(0, 3)).to.equal(1);
    expect(chiSquareSurvival(500, 1)).to.be.below(1e-100);
  });

  it('computes logGamma', () => {
    expect(logGamma(1)).to.be.closeTo(0, 1e-12);
    expect(logGamma(5)).to.be.closeTo(Math.log(24), 1e-12);
    expect(logGamma(0.5)).to.be.closeTo(Math.log(Math.sqrt(Math.PI)), 1e-12);
  });

  it('tests observed counts against weights (the SRM check)', () => {
    const fair = chiSquareGoodnessOfFit([5000, 5000], [1, 1]);
    expect(fair.chiSquare).to.equal(0);
    expect(fair.pValue).to.equal(1);
    // 5,200 vs 4,800 on 50/50: χ² = 400²/5000·2 = 16, p ≈ 6.3e-5 → mismatch at 0.001.
    const skew = chiSquareGoodnessOfFit([5200, 4800], [1, 1]);
    expect(skew.chiSquare).to.be.closeTo(16, 1e-9);
    expect(skew.pValue).to.be.closeTo(6.334e-5, 1e-7);
    const weighted = chiSquareGoodnessOfFit([750, 100, 50, 100], [75, 10, 5, 10]);
    expect(weighted.chiSquare).to.equal(0);
    expect(weighted.degreesOfFreedom).to.equal(3);
    expect(chiSquareGoodnessOfFit([0, 0], [1, 1]).pValue).to.equal(1);
    expect(() => chiSquareGoodnessOfFit([1], [1])).to.throw(RangeError);
  });
});

describe('mean with 95% interval', () => {
  it('uses Student t for small samples and approaches 1.96', () => {
    expect(tQuantile975(1)).to.equal(12.706);
    expect(tQuantile975(30)).to.equal(2.042);
    expect(tQuantile975(31)).to.be.closeTo(2.0395, 0.001);
    expect(tQuantile975(120)).to.be.closeTo(1.9799, 0.001);
    expect(tQuantile975(1e6)).to.be.closeTo(1.96, 0.001);
  });

  it('centres the interval on the mean with half-width t·s/√n', () => {
    const r = meanInterval(25, 0.6, 0.04);
    expect(r.mean).to.equal(0.6);
    expect(r.high! - 0.6).to.be.closeTo(2.064 * Math.sqrt(0.04 / 25), 1e-12);
    expect(0.6 - r.low!).to.be.closeTo(2.064 * Math.sqrt(0.04 / 25), 1e-12);
  });

  it('has no interval below two values', () => {
    expect(meanInterval(0, 0, 0)).to.deep.equal({ n: 0, mean: null, low: null, high: null });
    expect(meanInterval(1, 0.5, Number.NaN)).to.deep.equal({ n: 1, mean: 0.5, low: null, high: null });
  });
});
