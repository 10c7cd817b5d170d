import { expect } from 'chai';
import { DeviceLoadRoute } from '../../api/src/experiments/device-load-route.js';

/** Feeds `n` loads, each new with probability `share` (a fixed pattern, not random). */
function feed(route: DeviceLoadRoute, n: number, share: number): boolean[] {
  const seen: boolean[] = [];
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += share;
    const wasNew = acc >= 1;
    if (wasNew) acc -= 1;
    route.observe(wasNew);
    seen.push(route.oneStatement());
  }
  return seen;
}

describe('DeviceLoadRoute', () => {
  it('starts on lookup first and takes one statement once most loads are new', () => {
    const route = new DeviceLoadRoute('adaptive');
    expect(route.oneStatement()).to.equal(false);
    const seen = feed(route, 400, 1);
    // EWMA over 128 loads from 0 to 0.75: ln(0.25) / ln(127/128) ≈ 177 loads.
    expect(seen.indexOf(true)).to.be.within(170, 185);
    expect(route.oneStatement()).to.equal(true);
  });

  it('stays on lookup first for a mix with a third new, as the benchmark sends', () => {
    const route = new DeviceLoadRoute('adaptive');
    expect(feed(route, 5000, 1 / 3)).to.not.include(true);
    expect(route.newShare()).to.be.closeTo(1 / 3, 0.05);
  });

  it('goes back to lookup first when the share falls to half, not before (hysteresis)', () => {
    const route = new DeviceLoadRoute('adaptive');
    feed(route, 2000, 1);
    // 60% new keeps the share above the bound to leave: stays on one statement.
    expect(feed(route, 2000, 0.6)).to.not.include(false);
    const seen = feed(route, 400, 0);
    expect(seen.indexOf(false)).to.be.greaterThan(0);
    expect(route.oneStatement()).to.equal(false);
    expect(route.newShare()).to.be.below(0.5);
  });

  it('keeps a fixed mode whatever it observes', () => {
    const lookup = new DeviceLoadRoute('lookup-first');
    expect(feed(lookup, 1000, 1)).to.not.include(true);
    const one = new DeviceLoadRoute('one-statement');
    expect(feed(one, 1000, 0)).to.not.include(false);
  });
});
