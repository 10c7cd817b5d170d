import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { compactObjectCheck, isIsoUtcBytes, isUuidBytes } from '../../lib/contracts/fast-bytes.js';
import { isIsoUtc, isUuid } from '../../lib/contracts/fast-checks.js';
import { progressStream } from '../../lib/contracts/progress.js';
import { streamBatchDecoder, streamDecoder } from '../../etl/src/stream-row.js';
import { coordinatesPrefix, joinLines, kafkaRowLine, LineArena } from '../../etl/src/row-line.js';
import type { SourceMessage } from '../../etl/src/batch-builder.js';
import { uuidToWords } from '../../etl/src/dedup/uuid-words.js';
import { shapes } from './contract-shapes.js';

/**
 * The byte checks may say "no" where JSON.parse and the contract's fast check say "yes"
 * (the ETL then decodes the ordinary way), never the reverse; and the ETL's batch decoder
 * gives exactly the answers, lines and ids of the one-message decoder.
 */

const { rand, pick, dateTimeShape: randomDateTimeShape, progress: valid } = shapes(7);

/** What the ETL accepted before the byte check: JSON.parse, then the contract's fast check. */
function parsedAccepts(value: Buffer): boolean {
  try {
    return progressStream.fastCheck!(JSON.parse(value.toString('utf8')));
  } catch {
    return false;
  }
}

const check = progressStream.byteCheck!;
const at = new Int32Array(progressStream.fieldList.length + 1);
const bytesAccept = (value: Buffer) => check(value, value.length, at);

/** Text-level mutations of a compact message (what a hand-written producer might send). */
const TEXT_MUTATIONS: ((s: string) => string)[] = [
  (s) => s.replace('"position_sec":', '"position_sec": '),
  (s) => s.replace('"position_sec":', '"position_sec"\t:'),
  (s) => ` ${s}`,
  (s) => `${s} `,
  (s) => `${s}\n`,
  (s) => `\ufeff${s}`,
  (s) => s.replace(/"position_sec":(\d+)/, '"position_sec":$1.0'),
  (s) => s.replace(/"position_sec":(\d+)/, '"position_sec":$1e0'),
  (s) => s.replace(/"position_sec":(\d+)/, '"position_sec":-$1'),
  (s) => s.replace(/"position_sec":(\d+)/, '"position_sec":0$1'),
  (s) => s.replace(/"position_sec":(\d+)/, '"position_sec":"$1"'),
  (s) => s.replace(/"position_sec":\d+/, '"position_sec":-0'),
  (s) => s.replace(/"position_sec":\d+/, '"position_sec":1000000000000000000000'),
  (s) => s.replace(/"position_sec":\d+/, '"position_sec":604800'),
  (s) => s.replace(/"position_sec":\d+/, '"position_sec":604801'),
  (s) => s.replace(/"duration_sec":\d+/, '"duration_sec":0'),
  (s) => s.replace('"schema_version":1', '"schema_version":2'),
  (s) => s.replace('"schema_version":1', '"schema_version":1.0'),
  (s) => s.replace('"schema_version":1', '"schema_version":"1"'),
  (s) => s.replace('"event_id"', '"event\\u005fid"'),
  (s) => s.replace('"event_id"', '"Event_id"'),
  (s) => s.replace('"event_id"', '"event_idx"'),
  (s) => s.replace('"event_id":"', '"event_id":"\\u0030'),
  (s) => s.replace(/"viewer_id":"([0-9a-f-]{36})"/, (_, v: string) => `"viewer_id":"${v.toUpperCase()}"`),
  (s) => s.replace(/"film_id":"[0-9a-f]/, '"film_id":"g'),
  (s) => s.replace(/"film_id":"([0-9a-f-]{36})"/, '"film_id":"$1x"'),
  (s) => s.replace(/"film_id":"([0-9a-f-]{36})"/, '"film_id":null'),
  (s) => s.replace(/"occurred_at":"[^"]*"/, '"occurred_at":"2026-11-22T12:00:00+01:00"'),
  (s) => s.replace(/"occurred_at":"[^"]*"/, '"occurred_at":"2023-02-29T00:00:00Z"'),
  (s) => s.replace(/"occurred_at":"[^"]*"/, '"occurred_at":"2024-02-29T00:00:00Z"'),
  (s) => s.replace(/"occurred_at":"[^"]*"/, '"occurred_at":"2024-02-29T00:00:00\\u005a"'),
  (s) => s.replace(/"occurred_at":"[^"]*"/, '"occurred_at":"2024-02-29T00:00:00.12é4Z"'),
  (s) => s.replace(/"occurred_at":"[^"]*"/, `"occurred_at":"${randomDateTimeShape()}"`),
  (s) => s.replace(/,"received_at":"[^"]*"/, ''),
  (s) => s.replace('}', ',"extra":1}'),
  (s) => s.replace('}', ',"kafka_offset":1}'),
  (s) => s.replace('{', '{"position_sec":5,'), // a key twice: JSON.parse keeps the last
  (s) => s.replace('}', `,"event_id":"${randomUUID()}"}`),
  (s) => s.replace('{"schema_version":1,', '{').replace('}', ',"schema_version":1}'), // reordered
  (s) => `[${s}]`,
  (s) => s.slice(0, -1),
  (s) => `${s}}`,
  (s) => s.replace(',', ',,'),
  (s) => s.replace(':', '::'),
];

function mutate(s: string): string {
  const r = rand();
  if (r < 0.5) return pick(TEXT_MUTATIONS)(s);
  const i = Math.floor(rand() * s.length);
  if (r < 0.7) return s.slice(0, i) + s.slice(i + 1);
  const c = pick(['"', ',', ':', '{', '}', '\\', ' ', '0', '9', 'a', 'Z', '-', '.', 'é', '\u0000']);
  return r < 0.85 ? s.slice(0, i) + c + s.slice(i + 1) : s.slice(0, i) + c + s.slice(i);
}

describe('byte checks (lib/contracts/fast-bytes.ts)', () => {
  it('UUIDs: the same answers as isUuid on random, tricky and mutated ids', () => {
    const ids = [
      '00000000-0000-0000-0000-000000000000',
      '0a0b0c0d-1111-0222-8333-444455556666',
      '0a0b0c0d-1111-9222-8333-444455556666',
      '0a0b0c0d-1111-4222-c333-444455556666',
      '0a0b0c0d-1111-4222-B333-444455556666',
      '0a0b0c0d11114222833344445555666600ab',
      '0a0b0c0g-1111-4222-8333-444455556666',
    ];
    for (let i = 0; i < 3000; i++) {
      const id = randomUUID();
      const j = Math.floor(rand() * 36);
      ids.push(id, id.toUpperCase(), id.slice(0, j) + pick(['-', 'g', 'F', '0', 'é', ' ']) + id.slice(j + 1));
    }
    for (const id of ids) {
      const b = Buffer.from(`"${id}"`, 'latin1');
      expect(isUuidBytes(b, 1), id).to.equal(id.length === 36 && isUuid(id));
    }
    expect(isUuidBytes(Buffer.from(randomUUID()).subarray(0, 35), 0)).to.equal(false);
  });

  it('date-times: the same answers as isIsoUtc on 20,000 shapes around the calendar edges', () => {
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = randomDateTimeShape();
      const b = Buffer.from(`"${v}"`, 'latin1');
      expect(isIsoUtcBytes(b, 1, b.length - 1), v).to.equal(isIsoUtc(v));
      if (isIsoUtc(v)) accepted++;
    }
    expect(accepted).to.be.greaterThan(1000);
  });

  it('progress messages: every compact valid message, and no mutant the parsed check refuses', () => {
    let bytesAccepted = 0;
    let refused = 0;
    for (let i = 0; i < 30_000; i++) {
      const text = JSON.stringify(valid());
      const mutated = i % 4 === 0 ? text : mutate(mutate(text));
      const value = Buffer.from(mutated);
      const bytes = bytesAccept(value);
      const parsed = parsedAccepts(value);
      if (bytes) {
        expect(parsed, mutated).to.equal(true);
        bytesAccepted++;
      }
      if (!parsed) refused++;
      if (mutated === text) expect(bytes, text).to.equal(true);
    }
    expect(bytesAccepted).to.be.greaterThan(7_500);
    expect(refused).to.be.greaterThan(10_000);
  });

  it('takes keys in any order, each once, and says where each value starts', () => {
    const m = valid();
    const { event_id, ...rest } = m;
    const value = Buffer.from(JSON.stringify({ ...rest, event_id }));
    expect(bytesAccept(value)).to.equal(true);
    const i = progressStream.fieldList.findIndex((f) => f.name === 'event_id') + 1;
    expect(value.toString('latin1', at[i], at[i]! + 36)).to.equal(event_id);
    const twice = Buffer.from(JSON.stringify(m).replace('}', `,"event_id":"${event_id}"}`));
    expect(bytesAccept(twice)).to.equal(false);
  });

  it('has no check for more keys than its mask holds', () => {
    const fields = Array.from({ length: 30 }, (_, i) => ({
      name: `f${i}`,
      bytes: { kind: 'uuid' as const },
    }));
    expect(compactObjectCheck(1, fields)).to.equal(undefined);
    expect(compactObjectCheck(1, fields.slice(0, 29))).to.be.a('function');
  });
});

describe('the batch decoder (etl/src/stream-row.ts)', () => {
  const one = streamDecoder(progressStream);
  const batch = streamBatchDecoder(progressStream);

  it('decides, encodes and identifies exactly as the one-message decoder', () => {
    const messages: SourceMessage[] = [];
    for (let i = 0; i < 5_000; i++) {
      const text = JSON.stringify(valid());
      const r = rand();
      const value =
        r < 0.02
          ? null
          : Buffer.from(r < 0.6 ? text : r < 0.65 ? JSON.stringify(JSON.parse(text), null, 2) : mutate(text));
      messages.push({ offset: String(9_999_990 + i), key: null, value });
    }
    const decode = batch(5, messages, true);
    const withoutViewers = batch(5, messages, false);
    let fast = 0;
    for (const m of messages) {
      const a = decode(m.value, m.offset);
      const b = one(m.value, 5, m.offset);
      // Asked for no viewers (no viewer is erased): the same answer, the viewer perhaps left out.
      const c = withoutViewers(m.value, m.offset);
      expect(c.ok).to.equal(b.ok);
      if (c.ok && b.ok) {
        expect([c.row.equals(b.row), c.id, c.splitKey]).to.deep.equal([true, b.id, b.splitKey]);
        if (c.viewer !== undefined) expect(c.viewer).to.equal(b.viewer);
      }
      expect(a.ok, m.value?.toString()).to.equal(b.ok);
      if (a.ok && b.ok) {
        expect(a.row.equals(b.row), m.value?.toString()).to.equal(true);
        expect([a.id, a.viewer, a.splitKey]).to.deep.equal([b.id, b.viewer, b.splitKey]);
        if (a.row.buffer !== b.row.buffer) fast++;
      } else expect(a).to.deep.equal(b);
    }
    expect(fast).to.be.greaterThan(2_500);
  });

  it('names ids and viewers in small letters, as the UUID columns print them, and keeps the bytes sent', () => {
    const m = valid() as unknown as Record<string, string>;
    const upper = { ...m, event_id: m.event_id!.toUpperCase(), viewer_id: m.viewer_id!.toUpperCase() };
    const value = Buffer.from(JSON.stringify(upper));
    const fast = batch(2, [{ offset: '9', key: null, value }], true)(value, '9');
    const slow = one(value, 2, '9');
    for (const d of [fast, slow]) {
      if (!d.ok) throw new Error(d.reason);
      expect([d.id, d.viewer]).to.deep.equal([m.event_id, m.viewer_id]);
      expect(d.row.toString()).to.include(upper.event_id);
    }
    // Every id a decoder answers is a UUID (dropSeen reads it as four words).
    for (let i = 0; i < 2_000; i++) {
      const v = Buffer.from(i % 2 === 0 ? JSON.stringify(valid()) : mutate(JSON.stringify(valid())));
      const d = one(v, 0, '1');
      if (d.ok) expect(uuidToWords(d.id, new Uint32Array(4)), d.id).to.equal(true);
    }
  });

  it('writes consecutive lines back to back: one block is one slice, sent without a copy', () => {
    const messages = Array.from({ length: 100 }, (_, i) => ({
      offset: String(i),
      key: null,
      value: Buffer.from(JSON.stringify(valid())),
    }));
    const decode = batch(1, messages, true);
    const lines = messages.map((m) => {
      const d = decode(m.value, m.offset);
      if (!d.ok) throw new Error(d.reason);
      return d.row;
    });
    const body = joinLines(lines);
    expect(body.buffer).to.equal(lines[0]!.buffer);
    expect(body.equals(Buffer.concat(lines))).to.equal(true);
    // A dropped line in between: a copy, with the same bytes.
    const gap = [lines[0]!, lines[2]!, lines[3]!];
    const joined = joinLines(gap);
    expect(joined.buffer).not.to.equal(lines[0]!.buffer);
    expect(joined.equals(Buffer.concat(gap))).to.equal(true);
    expect(joinLines([]).length).to.equal(0);
    expect(joinLines([lines[4]!])).to.equal(lines[4]);
  });

  it('a line that does not fit the arena is refused, and the decoder still answers', () => {
    const m = valid();
    const value = Buffer.from(JSON.stringify(m));
    const arena = new LineArena(value.length + 10);
    expect(arena.splice(value, coordinatesPrefix(0), '1')).to.equal(undefined);
    const fits = new LineArena(1000);
    const line = fits.splice(value, coordinatesPrefix(3), '42');
    expect(line!.equals(kafkaRowLine(value, m, 3, '42'))).to.equal(true);
    // Sized for other messages than it is given: still the same answers.
    const decode = batch(0, [], true);
    const d = decode(value, '7');
    const e = one(value, 0, '7');
    expect(d.ok && e.ok && d.row.equals(e.row)).to.equal(true);
  });
});
