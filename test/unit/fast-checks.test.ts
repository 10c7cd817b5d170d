import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { z } from 'zod';
import { isIntIn, isIsoUtc, isUuid } from '../../lib/contracts/fast-checks.js';
import { isProgressMessageV1, ProgressMessageV1 } from '../../lib/contracts/progress.js';
import { exposureStream } from '../../lib/contracts/exposure.js';
import { uuidParam } from '../../lib/contracts/stream-fields.js';
import { shapes } from './contract-shapes.js';

/**
 * The hand-written checks may say "no" where zod says "yes" (zod then decides), never the
 * reverse: that would let an off-contract message into ClickHouse unnoticed.
 */

const { rand, pick, dateTimeShape: randomDateTimeShape, progress: valid } = shapes(42);

const zUuid = z.uuid();
const zDateTime = z.iso.datetime();

const TRICKY_UUIDS = [
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '0a0b0c0d-1111-0222-8333-444455556666', // version 0
  '0a0b0c0d-1111-9222-8333-444455556666', // version 9
  '0a0b0c0d-1111-4222-c333-444455556666', // variant c
  '0a0b0c0d-1111-4222-B333-444455556666', // variant B
  '0A0B0C0D-1111-4222-8333-44445555666F',
  '0a0b0c0d11114222833344445555666600ab',
  '0a0b0c0d-1111-4222-8333-44445555666',
  '0a0b0c0d-1111-4222-8333-4444555566667',
  '0a0b0c0g-1111-4222-8333-444455556666',
  ' 0a0b0c0-1111-4222-8333-444455556666',
  '0a0b0c0d-1111-4222-8333_444455556666',
  '',
];

describe('fast contract checks never accept what zod refuses', () => {
  it('UUIDs: agrees with z.uuid() on random and tricky ids', () => {
    for (const id of [...TRICKY_UUIDS, ...Array.from({ length: 2000 }, () => randomUUID())]) {
      for (const v of [id, id.toUpperCase()]) {
        const zod = zUuid.safeParse(v).success;
        if (isUuid(v)) expect(zod, v).to.equal(true);
        // Everything zod accepts except nil and max is taken by the fast path.
        if (zod && !/^(0{8}|f{8})-/i.test(v)) expect(isUuid(v), v).to.equal(true);
      }
    }
    expect(isUuid(42)).to.equal(false);
  });

  it('UUIDs: the OpenAPI pattern of a request UUID accepts exactly what the server does', () => {
    const param = uuidParam();
    const pattern = new RegExp((z.toJSONSchema(param, { io: 'input' }) as { pattern: string }).pattern);
    for (const id of [...TRICKY_UUIDS, ...Array.from({ length: 2000 }, () => randomUUID())]) {
      for (const v of [id, id.toUpperCase()]) {
        expect(pattern.test(v), v).to.equal(param.safeParse(v).success);
      }
    }
    expect(pattern.test('00000000-0000-0000-0000-000000000000')).to.equal(false);
  });

  it('date-times: agrees with z.iso.datetime() on 20,000 shapes around the calendar edges', () => {
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = randomDateTimeShape();
      const zod = zDateTime.safeParse(v).success;
      expect(isIsoUtc(v), v).to.equal(zod);
      if (zod) accepted++;
    }
    for (const v of ['2024-02-29T00:00:00Z', '2000-02-29T23:59:59.999Z', '2026-11-22T12:00:00.123Z'])
      expect(isIsoUtc(v), v).to.equal(true);
    for (const v of ['2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2026-04-31T00:00:00Z'])
      expect(isIsoUtc(v), v).to.equal(false);
    expect(accepted).to.be.greaterThan(1000); // the generator does reach valid values
  });

  it('integers: agrees with z.int() bounds', () => {
    const schema = z.int().min(1).max(604_800);
    for (const v of [0, 1, 2.5, 604_800, 604_801, -0, -1, 1e21, Number.NaN, Infinity, '5', null, true])
      expect(isIntIn(v, 1, 604_800), String(v)).to.equal(schema.safeParse(v).success);
  });

  it('progress messages: 50,000 valid and mutated messages', () => {
    const values: unknown[] = [
      ...TRICKY_UUIDS,
      -1,
      0,
      -0,
      1,
      1.5,
      604_800,
      604_801,
      1e21,
      '5',
      null,
      true,
      [],
      {},
      2,
      '2024-02-29T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2026-11-22T12:00:00+01:00',
    ];
    const keys = Object.keys(valid());
    let fastAccepted = 0;
    let mutantsRefused = 0;
    for (let i = 0; i < 50_000; i++) {
      const m: Record<string, unknown> = valid();
      const mutations = i % 5 === 0 ? 0 : 1 + Math.floor(rand() * 2);
      for (let k = 0; k < mutations; k++) {
        const kind = rand();
        if (kind < 0.7) m[pick(keys)] = pick(values);
        else if (kind < 0.8) delete m[pick(keys)];
        else if (kind < 0.9) m[pick(['extra', 'kafka_offset', 'constructor'])] = 1;
        else Object.assign(m, JSON.parse('{"__proto__": {"x": 1}}'));
      }
      // The ETL sees parsed JSON, never objects with prototypes of their own.
      const json: unknown = JSON.parse(JSON.stringify(m));
      const zod = ProgressMessageV1.safeParse(json).success;
      const fast = isProgressMessageV1(json);
      if (fast) {
        expect(zod, JSON.stringify(json)).to.equal(true);
        fastAccepted++;
      }
      if (!zod) mutantsRefused++;
      if (mutations === 0) expect(fast, JSON.stringify(json)).to.equal(true);
    }
    expect(fastAccepted).to.be.greaterThan(10_000);
    expect(mutantsRefused).to.be.greaterThan(10_000);
  });

  it('exposure messages (derived from the stream definition): 20,000 valid and mutated messages', () => {
    const check = exposureStream.fastCheck!;
    const valid = () => ({
      schema_version: 1,
      event_id: randomUUID(),
      device_id: pick(['device-0001', 'A.b_c~d-12345678', 'x'.repeat(128)]),
      viewer_id: pick([null, randomUUID()]),
      experiment: pick(['price', 'button_color', `e${'x'.repeat(63)}`]),
      option_index: Math.floor(rand() * 256),
      value: pick(['10', '"#FF0000"', 'x'.repeat(1024)]),
      received_at: new Date(Math.floor(rand() * 4_102_444_800_000)).toISOString(),
    });
    const values: unknown[] = [
      ...TRICKY_UUIDS,
      null,
      -1,
      255,
      256,
      1.5,
      '5',
      'short',
      'x'.repeat(129),
      'x'.repeat(1025),
      'Price',
      `e${'x'.repeat(64)}`,
      'bad token!',
      '2023-02-29T00:00:00Z',
      '2026-11-22T12:00:00+01:00',
      [],
      {},
    ];
    const keys = Object.keys(valid());
    let fastAccepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const m: Record<string, unknown> = valid();
      const mutations = i % 4 === 0 ? 0 : 1 + Math.floor(rand() * 2);
      for (let k = 0; k < mutations; k++) {
        const kind = rand();
        if (kind < 0.8) m[pick(keys)] = pick(values);
        else if (kind < 0.9) delete m[pick(keys)];
        else m[pick(['extra', 'kafka_offset'])] = 1;
      }
      const json: unknown = JSON.parse(JSON.stringify(m));
      const zod = exposureStream.message.safeParse(json).success;
      const fast = check(json);
      if (fast) {
        expect(zod, JSON.stringify(json)).to.equal(true);
        fastAccepted++;
      }
      if (mutations === 0) expect(fast, JSON.stringify(json)).to.equal(true);
    }
    expect(fastAccepted).to.be.greaterThan(5_000);
  });
});
