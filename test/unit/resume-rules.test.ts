import { expect } from 'chai';
import {
  isInProgress,
  isNewer,
  isWatched,
  newestPerFilm,
  percentPlayed,
  type PositionEvent,
} from '../../api/src/progress/resume-rules.js';
import { loadConfig } from '../../lib/config/config.js';
import { ConfigError } from '../../lib/errors.js';

const BOUNDS = { minPct: 5, maxPct: 90 };

function event(over: Partial<PositionEvent> = {}): PositionEvent {
  return {
    viewer_id: '00000000-0000-4000-8000-000000000001',
    film_id: '11111111-0000-4000-8000-000000000001',
    position_sec: 10,
    duration_sec: 100,
    occurred_at: '2026-01-01T00:00:00.000Z',
    received_at: '2026-01-01T00:00:01.000Z',
    event_id: '22222222-0000-4000-8000-000000000001',
    ...over,
  };
}

describe('continue watching rules', () => {
  it('lists a film from exactly MIN_RESUME_PCT to exactly MAX_RESUME_PCT, and no further', () => {
    expect(isInProgress(BOUNDS, 269, 5400)).to.equal(false); // 4.98%
    expect(isInProgress(BOUNDS, 270, 5400)).to.equal(true); // 5%
    expect(isInProgress(BOUNDS, 4860, 5400)).to.equal(true); // 90%
    expect(isInProgress(BOUNDS, 4861, 5400)).to.equal(false); // 90.02%
  });

  it('counts a film as watched only past MAX_RESUME_PCT', () => {
    expect(isWatched(BOUNDS, 4860, 5400)).to.equal(false);
    expect(isWatched(BOUNDS, 4861, 5400)).to.equal(true);
    expect(isWatched(BOUNDS, 5400, 5400)).to.equal(true);
    expect(isWatched({ minPct: 0, maxPct: 100 }, 5400, 5400)).to.equal(false);
  });

  it('reports the percent floored to hundredths, so a listed film never shows one outside the bounds', () => {
    expect(percentPlayed(270, 5400)).to.equal(5);
    expect(percentPlayed(4860, 5400)).to.equal(90);
    expect(percentPlayed(1, 3)).to.equal(33.33);
    expect(percentPlayed(2, 3)).to.equal(66.66);
    expect(percentPlayed(0, 60)).to.equal(0);
  });

  it('orders events by client time, then arrival, then id', () => {
    const base = event();
    expect(isNewer(event({ occurred_at: '2026-01-01T00:00:00.001Z' }), base)).to.equal(true);
    expect(isNewer(base, event({ occurred_at: '2026-01-01T00:00:00.001Z' }))).to.equal(false);
    expect(isNewer(event({ received_at: '2026-01-01T00:00:02.000Z' }), base)).to.equal(true);
    expect(isNewer(event({ event_id: '22222222-0000-4000-8000-000000000002' }), base)).to.equal(true);
    // The same event again is not newer than itself: a redelivery changes nothing.
    expect(isNewer(base, { ...base })).to.equal(false);
  });

  it('keeps the newest event per viewer and film of a batch, whatever the order', () => {
    const old = event({ position_sec: 10 });
    const newest = event({ position_sec: 50, occurred_at: '2026-01-01T00:05:00.000Z' });
    const other = event({ film_id: '11111111-0000-4000-8000-000000000002' });
    const otherViewer = event({ viewer_id: '00000000-0000-4000-8000-000000000002' });
    const out = newestPerFilm([newest, old, other, old, otherViewer]);
    expect(out).to.have.length(3);
    expect(out).to.include(newest).and.include(other).and.include(otherViewer);
    expect(newestPerFilm([old, newest])).to.deep.equal([newest]);
  });

  it('refuses bounds that are not 0 ≤ MIN_RESUME_PCT < MAX_RESUME_PCT ≤ 100', () => {
    expect(loadConfig({}).resume).to.include({ minPct: 5, maxPct: 90 });
    expect(() => loadConfig({ MIN_RESUME_PCT: '90', MAX_RESUME_PCT: '90' })).to.throw(
      ConfigError,
      'MAX_RESUME_PCT',
    );
    expect(() => loadConfig({ MIN_RESUME_PCT: '-1' })).to.throw(ConfigError, 'MIN_RESUME_PCT');
    expect(() => loadConfig({ MAX_RESUME_PCT: '101' })).to.throw(ConfigError, 'MAX_RESUME_PCT');
    expect(loadConfig({ MIN_RESUME_PCT: '0', MAX_RESUME_PCT: '100' }).resume).to.include({
      minPct: 0,
      maxPct: 100,
    });
  });
});
