import { expect } from 'chai';
import { z } from 'zod';
import {
  createProgressSchemas,
  isProgressMessageV1,
  toProgressMessage,
} from '../../lib/contracts/progress.js';
import { canonicalJson, checkProperties } from '../../lib/contracts/properties.js';
import {
  createUserEventSchemas,
  toUserEventMessage,
  UserEventMessageV1,
} from '../../lib/contracts/user-event.js';
import { formatPath, parseOrThrow, toFieldErrors } from '../../lib/contracts/validation.js';
import { ValidationError } from '../../lib/errors.js';

// Cases the mutation run (npm run test:mutation) showed the contract tests leave open.

const NOW = Date.parse('2026-06-01T12:00:00Z');
const time = { maxPastMs: 30 * 86_400_000, maxFutureMs: 300_000 };
const film = '0b9b5a4e-7d0c-4a5e-9d7f-2f1e3c4b5a69';
const viewer = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const WEEK = 7 * 24 * 3600;

describe('validation helpers (mutation-testing cases)', () => {
  it('formats every shape of path: leading index, nested indexes, names after indexes', () => {
    expect(formatPath(['events'])).to.equal('events');
    expect(formatPath([0])).to.equal('[0]');
    expect(formatPath([2, 'event_type'])).to.equal('[2].event_type');
    expect(formatPath(['a', 'b', 1, 0, 'c'])).to.equal('a.b[1][0].c');
  });

  it('lists every bad field with its path, zod code and message', () => {
    const schema = z.strictObject({ events: z.array(z.strictObject({ n: z.int() })) });
    const res = schema.safeParse({ events: [{ n: 1 }, { n: 'x' }], extra: 1 });
    if (res.success) throw new Error('expected a failure');
    const errors = toFieldErrors(res.error);
    expect(errors.map((e) => [e.path, e.code])).to.have.deep.members([
      ['events[1].n', 'invalid_type'],
      ['', 'unrecognized_keys'],
    ]);
    for (const e of errors) expect(e.message).to.be.a('string').and.not.equal('');
  });

  it('parseOrThrow returns the parsed value, or a 400 ValidationError naming the input and each field', () => {
    const schema = z.strictObject({ a: z.int(), b: z.string().default('dflt') });
    expect(parseOrThrow(schema, { a: 1 }, 'body')).to.deep.equal({ a: 1, b: 'dflt' });
    let caught: unknown;
    try {
      parseOrThrow(schema, { a: 'x', b: 2 }, 'request body');
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(ValidationError);
    const v = caught as ValidationError;
    expect(v.message).to.equal('request body is invalid');
    expect(v.status).to.equal(400);
    expect((v.details as { path: string }[]).map((d) => d.path)).to.have.members(['a', 'b']);
  });
});

describe('properties limits (mutation-testing cases)', () => {
  const limits = { maxBytes: 40, maxDepth: 2, maxKeys: 3 };

  it('accepts exactly the limits: depth, keys and bytes', () => {
    expect(checkProperties({ a: { b: 1 } }, { ...limits, maxBytes: 1000 })).to.equal(null); // depth 2
    expect(checkProperties({ a: 1, b: 2, c: 3 }, { ...limits, maxBytes: 1000 })).to.equal(null); // 3 keys
    const atBytes = { s: 'x'.repeat(limits.maxBytes - 8) }; // {"s":"…"} is 8 bytes of framing
    expect(Buffer.byteLength(JSON.stringify(atBytes))).to.equal(limits.maxBytes);
    expect(checkProperties(atBytes, limits)).to.equal(null);
    expect(checkProperties({ s: 'x'.repeat(limits.maxBytes - 7) }, limits)).to.equal(
      `take ${limits.maxBytes + 1} bytes as JSON, more than ${limits.maxBytes}`,
    );
  });

  it('says exactly what is wrong, depth first', () => {
    expect(checkProperties({ a: { b: { c: 1 } } }, limits)).to.equal('nest deeper than 2 levels');
    expect(checkProperties({ a: 1, b: 2, c: 3, d: 4 }, limits)).to.equal('have 4 keys, more than 3');
    expect(checkProperties({ a: { b: { c: 1 } }, x: 1, y: 2, z: 3 }, limits)).to.equal(
      'nest deeper than 2 levels',
    );
  });

  it('counts keys inside arrays of objects, and array items themselves as no keys', () => {
    expect(checkProperties({ list: [1, 2, 3, 4, 5, 6] }, { ...limits, maxBytes: 1000 })).to.equal(null);
    expect(
      checkProperties({ list: [{ a: 1 }, { b: 2 }, { c: 3 }] }, { ...limits, maxDepth: 3, maxBytes: 1000 }),
    ).to.equal('have 4 keys, more than 3');
  });

  it('treats primitives and null as flat', () => {
    for (const v of [null, 1, 'text', true]) expect(checkProperties(v, limits)).to.equal(null);
  });

  it('writes canonical JSON for every kind of value', () => {
    expect(canonicalJson(null)).to.equal('null');
    expect(canonicalJson('a"b')).to.equal('"a\\"b"');
    expect(canonicalJson([])).to.equal('[]');
    expect(canonicalJson({})).to.equal('{}');
    expect(canonicalJson([[1, 'x'], { b: true, a: false }])).to.equal('[[1,"x"],{"a":false,"b":true}]');
    expect(canonicalJson({ 'c"': 1, a: 2, b: 3 })).to.equal('{"a":2,"b":3,"c\\"":1}');
    expect(canonicalJson({ b: 1, a: 2, c: 3 })).to.equal('{"a":2,"b":1,"c":3}');
    expect(canonicalJson({ c: 1, b: 2, a: 3 })).to.equal('{"a":3,"b":2,"c":1}');
  });
});

describe('progress contract (mutation-testing cases)', () => {
  const schemas = createProgressSchemas(time, 2, () => NOW);
  const ok = (s: z.ZodType, v: unknown) => s.safeParse(v).success;

  it('bounds position and duration at exactly 0..a week and 1..a week', () => {
    expect(ok(schemas.single, { position_sec: 0, duration_sec: WEEK })).to.equal(true);
    expect(ok(schemas.single, { position_sec: WEEK, duration_sec: WEEK })).to.equal(true);
    expect(ok(schemas.single, { position_sec: 0, duration_sec: WEEK + 1 })).to.equal(false);
    expect(ok(schemas.single, { position_sec: 0, duration_sec: 0 })).to.equal(false);
    expect(ok(schemas.single, { position_sec: 1, duration_sec: 1 })).to.equal(true);
  });

  it('reports a position past the duration on position_sec', () => {
    const res = schemas.single.safeParse({ position_sec: 11, duration_sec: 10 });
    if (res.success) throw new Error('expected a failure');
    expect(toFieldErrors(res.error)).to.deep.equal([
      { path: 'position_sec', code: 'custom', message: 'must not exceed duration_sec' },
    ]);
  });

  it('needs a film UUID per batch item and 1..batchMaxEvents items', () => {
    const item = { film_id: film, position_sec: 1, duration_sec: 2 };
    expect(ok(schemas.item, item)).to.equal(true);
    expect(ok(schemas.item, { ...item, film_id: 'nope' })).to.equal(false);
    expect(ok(schemas.item, { ...item, position_sec: 3 })).to.equal(false);
    expect(ok(schemas.batch, { events: [item, item] })).to.equal(true);
    expect(ok(schemas.batch, { events: [] })).to.equal(false);
    expect(ok(schemas.batch, { events: [item, item, item] })).to.equal(false);
    expect(ok(schemas.batch, { events: [item], more: 1 })).to.equal(false);
  });

  it('fast check accepts a contract message and refuses each field out of contract', () => {
    const msg = toProgressMessage({ film_id: film, position_sec: 5, duration_sec: 10 }, viewer, NOW);
    expect(isProgressMessageV1(msg)).to.equal(true);
    expect(isProgressMessageV1({ ...msg, position_sec: WEEK, duration_sec: WEEK })).to.equal(true);
    for (const [field, bad] of [
      ['schema_version', 2],
      ['event_id', 'x'],
      ['viewer_id', 'x'],
      ['film_id', 'x'],
      ['position_sec', -1],
      ['position_sec', WEEK + 1],
      ['duration_sec', 0],
      ['duration_sec', WEEK + 1],
      ['occurred_at', 'yesterday'],
      ['received_at', 'today'],
    ] as const) {
      expect(isProgressMessageV1({ ...msg, [field]: bad }), `${field}=${bad}`).to.equal(false);
    }
    const { film_id: _dropped, ...missing } = msg;
    expect(isProgressMessageV1(missing)).to.equal(false);
  });

  it('derives the id from film, duration and client time too', () => {
    const item = { film_id: film, position_sec: 10, duration_sec: 20 };
    const base = toProgressMessage(item, viewer, NOW).event_id;
    const others = [
      toProgressMessage({ ...item, film_id: viewer }, viewer, NOW),
      toProgressMessage({ ...item, duration_sec: 21 }, viewer, NOW),
      toProgressMessage({ ...item, occurred_at: '2026-06-01T11:59:00Z' }, viewer, NOW),
    ].map((m) => m.event_id);
    for (const id of others) expect(id).to.not.equal(base);
    expect(new Set(others).size).to.equal(3);
  });

  it('uses the client time as occurred_at and the server time as received_at', () => {
    const m = toProgressMessage(
      { film_id: film, position_sec: 1, duration_sec: 2, occurred_at: '2026-06-01T13:59:00+02:00' },
      viewer,
      NOW,
    );
    expect(m.occurred_at).to.equal('2026-06-01T11:59:00.000Z');
    expect(m.received_at).to.equal('2026-06-01T12:00:00.000Z');
    const untimed = toProgressMessage({ film_id: film, position_sec: 1, duration_sec: 2 }, viewer, NOW);
    expect(untimed.occurred_at).to.equal('2026-06-01T12:00:00.000Z');
  });
});

describe('user event contract (mutation-testing cases)', () => {
  const props = { maxBytes: 200, maxDepth: 2, maxKeys: 4 };
  const schemas = createUserEventSchemas(time, props, 2, () => NOW);
  const ok = (s: z.ZodType, v: unknown) => s.safeParse(v).success;

  it('takes lower-case dotted event types up to 64 characters', () => {
    for (const t of ['search', 'player.pause', 'a1_b.c2', 'x'.repeat(64)])
      expect(ok(schemas.item, { event_type: t }), t).to.equal(true);
    for (const t of [
      '',
      'Search',
      '1abc',
      'player.',
      '.pause',
      'player..pause',
      'player-pause',
      'x'.repeat(65),
    ])
      expect(ok(schemas.item, { event_type: t }), t).to.equal(false);
  });

  it('explains a bad event type and bad properties in words', () => {
    const res = schemas.item.safeParse({ event_type: 'Bad', properties: { a: { b: { c: 1 } } } });
    if (res.success) throw new Error('expected a failure');
    const errors = toFieldErrors(res.error);
    expect(errors).to.deep.include({
      path: 'event_type',
      code: 'invalid_format',
      message: 'must be a lower-case dotted name, e.g. player.pause or search',
    });
    expect(errors).to.deep.include({
      path: 'properties',
      code: 'custom',
      message: 'properties nest deeper than 2 levels',
    });
  });

  it('accepts properties within the limits, an event id, a client time; refuses unknown fields', () => {
    const item = {
      event_type: 'search',
      event_id: 'E0E0E0E0-1111-4222-8333-444455556666',
      occurred_at: '2026-06-01T11:00:00Z',
      properties: { q: 'matrix', page: 2 },
    };
    expect(ok(schemas.item, item)).to.equal(true);
    expect(ok(schemas.item, { ...item, event_id: 'nope' })).to.equal(false);
    expect(ok(schemas.item, { ...item, viewer_id: viewer })).to.equal(false);
    expect(ok(schemas.batch, { events: [item, item] })).to.equal(true);
    expect(ok(schemas.batch, { events: [] })).to.equal(false);
    expect(ok(schemas.batch, { events: [item, item, item] })).to.equal(false);
  });

  it('maps an item to a contract message: lower-case client id, client and server times', () => {
    const m = toUserEventMessage(
      {
        event_type: 'player.pause',
        event_id: 'E0E0E0E0-1111-4222-8333-444455556666',
        occurred_at: '2026-06-01T13:00:00+02:00',
        properties: { at: 5 },
      },
      viewer,
      NOW,
    );
    expect(m).to.deep.equal({
      schema_version: 1,
      event_id: 'e0e0e0e0-1111-4222-8333-444455556666',
      viewer_id: viewer,
      event_type: 'player.pause',
      occurred_at: '2026-06-01T11:00:00.000Z',
      received_at: '2026-06-01T12:00:00.000Z',
      properties: { at: 5 },
    });
    expect(UserEventMessageV1.safeParse(m).success).to.equal(true);
  });

  it('derives a stable id without a client one: same for a retry, whatever the key order; different per field', () => {
    const item = { event_type: 'search', properties: { q: 'x', page: 1 } };
    const a = toUserEventMessage(item, viewer, NOW);
    expect(a.occurred_at).to.equal(a.received_at);
    expect(a.event_id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(
      toUserEventMessage({ event_type: 'search', properties: { page: 1, q: 'x' } }, viewer, NOW + 1000)
        .event_id,
    ).to.equal(a.event_id);
    const others = [
      toUserEventMessage({ ...item, event_type: 'search.more' }, viewer, NOW),
      toUserEventMessage(item, film, NOW),
      toUserEventMessage({ ...item, properties: { q: 'y', page: 1 } }, viewer, NOW),
      toUserEventMessage({ ...item, occurred_at: '2026-06-01T11:00:00Z' }, viewer, NOW),
    ].map((m) => m.event_id);
    for (const id of others) expect(id).to.not.equal(a.event_id);
    expect(new Set(others).size).to.equal(others.length);
    const bare = toUserEventMessage({ event_type: 'search' }, viewer, NOW);
    expect(bare.properties).to.deep.equal({});
    expect(bare.event_id).to.equal(
      toUserEventMessage({ event_type: 'search', properties: {} }, viewer, NOW).event_id,
    );
    expect(UserEventMessageV1.safeParse(bare).success).to.equal(true);
  });
});
