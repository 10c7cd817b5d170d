import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { createProgressSchemas } from '../../lib/contracts/progress.js';
import { shapes } from './contract-shapes.js';

const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const LIMITS = { maxPastMs: 30 * 24 * 3600 * 1000, maxFutureMs: 5 * 60 * 1000 };
const schemas = createProgressSchemas(LIMITS, 20, () => NOW);

/** A valid batch item, its time anywhere inside the limits. */
function item(rand: () => number): Record<string, unknown> {
  const duration = 1 + Math.floor(rand() * 7200);
  const at =
    NOW - LIMITS.maxPastMs + 2000 + Math.floor(rand() * (LIMITS.maxPastMs + LIMITS.maxFutureMs - 4000));
  return {
    film_id: randomUUID(),
    position_sec: Math.floor(rand() * (duration + 1)),
    duration_sec: duration,
    ...(rand() < 0.5 ? { occurred_at: new Date(at).toISOString() } : {}),
    ...(rand() < 0.5 ? { event_id: randomUUID() } : {}),
  };
}

/** One change a hostile or buggy client could make to a valid item. */
function mutate(v: Record<string, unknown>, s: ReturnType<typeof shapes>): unknown {
  const { rand, pick } = s;
  const key = pick([
    'film_id',
    'position_sec',
    'duration_sec',
    'occurred_at',
    'event_id',
    'extra',
    '__proto__',
  ]);
  const value = pick<unknown>([
    undefined,
    null,
    '',
    0,
    -1,
    1.5,
    7 * 24 * 3600 + 1,
    '12',
    true,
    [],
    {},
    randomUUID().toUpperCase(),
    '00000000-0000-0000-0000-000000000000',
    randomUUID().replace(/-/g, ''),
    s.dateTimeShape(),
    new Date(NOW - LIMITS.maxPastMs - 1).toISOString(),
    new Date(NOW - LIMITS.maxPastMs + 500).toISOString(),
    new Date(NOW + LIMITS.maxFutureMs + 1).toISOString(),
    new Date(NOW + LIMITS.maxFutureMs - 500).toISOString(),
    '2026-06-15T13:00:00+01:00',
    new Date(NOW - 1000).toISOString().replace('Z', '001Z'),
    new Date(NOW - 1000).toISOString().replace('Z', '000Z'),
    '2026-06-15T13:59:00.12+02:00',
    '2026-06-15T11:59:00.5-00:30',
    Math.floor(rand() * 10_000),
  ]);
  const out: Record<string, unknown> = JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
  if (key === '__proto__') return JSON.parse(`{"__proto__":1,${JSON.stringify(v).slice(1)}`) as unknown;
  if (value === undefined) delete out[key];
  else out[key] = value;
  return out;
}

describe('request fast checks (the API validating without zod)', () => {
  it('accept only what the request schema accepts, and then the schema outputs the input itself', () => {
    const s = shapes(37);
    let fast = 0;
    let checked = 0;
    for (let i = 0; i < 20_000; i++) {
      const valid = item(s.rand);
      const v = s.rand() < 0.3 ? valid : mutate(valid, s);
      const single = v !== null && typeof v === 'object' ? { ...v } : v;
      if (single !== null && typeof single === 'object') delete (single as Record<string, unknown>).film_id;
      for (const [check, schema, input] of [
        [schemas.fast.item, schemas.item, v],
        [schemas.fast.single, schemas.single, single],
        [schemas.fast.batch, schemas.batch, { events: [v] }],
      ] as const) {
        checked++;
        if (!check(input)) continue;
        fast++;
        const parsed = schema.safeParse(input);
        expect(parsed.success, JSON.stringify(input)).to.equal(true);
        expect(parsed.data, JSON.stringify(input)).to.deep.equal(input);
      }
    }
    // Most valid items take the fast path, or the API would gain nothing.
    expect(fast / checked).to.be.greaterThan(0.2);
  });

  it('takes every valid item the generator makes, and leaves the edges of the time limits to the schema', () => {
    const s = shapes(7);
    for (let i = 0; i < 2000; i++) {
      const v = item(s.rand);
      expect(schemas.fast.item(v), JSON.stringify(v)).to.equal(true);
    }
    const base = item(s.rand);
    const at = (ms: number) => ({ ...base, occurred_at: new Date(ms).toISOString() });
    // Inside by less than a second: the schema decides (it accepts).
    expect(schemas.fast.item(at(NOW - LIMITS.maxPastMs + 500))).to.equal(false);
    expect(schemas.item.safeParse(at(NOW - LIMITS.maxPastMs + 500)).success).to.equal(true);
    expect(schemas.fast.item(at(NOW + LIMITS.maxFutureMs + 1))).to.equal(false);
  });

  it('runs the stream’s own request rule (position within duration)', () => {
    const v = { film_id: randomUUID(), position_sec: 11, duration_sec: 10 };
    expect(schemas.fast.item(v)).to.equal(false);
    expect(schemas.item.safeParse(v).success).to.equal(false);
    expect(schemas.fast.item({ ...v, position_sec: 10 })).to.equal(true);
  });

  it('refuses batch shapes the schema refuses: empty, too many, another key, not an array', () => {
    const ok = { film_id: randomUUID(), position_sec: 1, duration_sec: 10 };
    for (const body of [
      { events: [] },
      { events: Array.from({ length: 21 }, () => ok) },
      { events: [ok], extra: 1 },
      { events: { 0: ok } },
      [ok],
      null,
    ]) {
      expect(schemas.fast.batch(body), JSON.stringify(body)).to.equal(false);
      expect(schemas.batch.safeParse(body).success, JSON.stringify(body)).to.equal(false);
    }
    expect(schemas.fast.batch({ events: Array.from({ length: 20 }, () => ok) })).to.equal(true);
  });
});
