import { expect } from 'chai';
import {
  createProgressSchemas,
  toProgressMessage,
  ProgressMessageV1,
  progressStream,
} from '../../lib/contracts/progress.js';
import { checkOccurredAt } from '../../lib/contracts/time.js';
import { formatPath } from '../../lib/contracts/validation.js';
import { streamDecoder } from '../../etl/src/stream-row.js';

const decodeProgress = streamDecoder(progressStream);

const NOW = Date.parse('2026-06-01T12:00:00Z');
const limits = { maxPastMs: 30 * 86_400_000, maxFutureMs: 300_000 };
const schemas = createProgressSchemas(limits, 500, () => NOW);
const film = '0b9b5a4e-7d0c-4a5e-9d7f-2f1e3c4b5a69';
const viewer = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';

describe('progress contract', () => {
  it('accepts a minimal body and an ISO time with offset', () => {
    expect(schemas.single.safeParse({ position_sec: 0, duration_sec: 1 }).success).to.equal(true);
    expect(
      schemas.single.safeParse({ position_sec: 5, duration_sec: 5, occurred_at: '2026-06-01T14:00:00+02:00' })
        .success,
    ).to.equal(true);
  });

  for (const [name, body] of [
    ['negative position', { position_sec: -1, duration_sec: 10 }],
    ['fractional position', { position_sec: 0.5, duration_sec: 10 }],
    ['position past duration', { position_sec: 11, duration_sec: 10 }],
    ['unknown field', { position_sec: 1, duration_sec: 10, viewer_id: viewer }],
    ['string number', { position_sec: '1', duration_sec: 10 }],
    ['absurd duration', { position_sec: 1, duration_sec: 10 ** 9 }],
    ['time too far ahead', { position_sec: 1, duration_sec: 10, occurred_at: '2026-06-01T12:06:00Z' }],
    ['time too old', { position_sec: 1, duration_sec: 10, occurred_at: '2026-04-01T12:00:00Z' }],
    [
      'time below the millisecond',
      { position_sec: 1, duration_sec: 10, occurred_at: '2026-06-01T11:59:00.0001Z' },
    ],
    [
      'time with an offset, below the millisecond',
      { position_sec: 1, duration_sec: 10, occurred_at: '2026-06-01T13:59:00.123456+02:00' },
    ],
  ] as const) {
    it(`rejects ${name}`, () => {
      expect(schemas.single.safeParse(body).success).to.equal(false);
    });
  }

  it('accepts a time whose digits below the millisecond are zeros', () => {
    for (const occurred_at of [
      '2026-06-01T11:59:00.123000Z',
      '2026-06-01T11:59:00.1Z',
      '2026-06-01T11:59:00Z',
      // A short fraction, then a zone with digits: the zone is not a fraction.
      '2026-06-01T13:59:00.12+02:00',
      '2026-06-01T06:59:00.5-05:00',
      '2026-06-01T17:29:00.5+05:30',
      '2026-06-01T13:59:00.123000+02:00',
    ]) {
      expect(schemas.single.safeParse({ position_sec: 1, duration_sec: 10, occurred_at }).success).to.equal(
        true,
      );
    }
  });

  it('maps a request to a contract-v1 message that validates against the consumer schema', () => {
    const msg = toProgressMessage(
      {
        film_id: film,
        position_sec: 10,
        duration_sec: 20,
        occurred_at: '2026-06-01T13:00:00+01:00',
        event_id: 'E0E0E0E0-1111-4222-8333-444455556666',
      },
      viewer,
      NOW,
    );
    expect(msg).to.deep.equal({
      schema_version: 1,
      event_id: 'e0e0e0e0-1111-4222-8333-444455556666',
      viewer_id: viewer,
      film_id: film,
      position_sec: 10,
      duration_sec: 20,
      occurred_at: '2026-06-01T12:00:00.000Z',
      received_at: '2026-06-01T12:00:00.000Z',
    });
    expect(ProgressMessageV1.safeParse(msg).success).to.equal(true);
  });

  it('derives the same id for a retried copy without event_id, and different ids for different events', () => {
    const item = { film_id: film, position_sec: 10, duration_sec: 20 };
    const a = toProgressMessage(item, viewer, NOW);
    const b = toProgressMessage(item, viewer, NOW + 60_000); // retried a minute later
    expect(a.event_id).to.equal(b.event_id);
    expect(a.event_id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ProgressMessageV1.safeParse(a).success).to.equal(true);
    expect(toProgressMessage({ ...item, position_sec: 11 }, viewer, NOW).event_id).not.to.equal(a.event_id);
    const otherViewer = '7f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    expect(toProgressMessage(item, otherViewer, NOW).event_id).not.to.equal(a.event_id);
  });

  it('formats error paths the way clients address fields', () => {
    expect(formatPath(['events', 3, 'position_sec'])).to.equal('events[3].position_sec');
    expect(formatPath([])).to.equal('');
  });

  it('checks client time against both limits', () => {
    expect(checkOccurredAt(NOW, NOW, limits)).to.equal(null);
    expect(checkOccurredAt(NOW + 300_001, NOW, limits)).to.match(/future/);
    expect(checkOccurredAt(NOW - limits.maxPastMs - 1, NOW, limits)).to.match(/past/);
  });
});

describe('decodeProgress (ETL)', () => {
  const value = (o: unknown) => Buffer.from(JSON.stringify(o));
  const msg = toProgressMessage({ film_id: film, position_sec: 1, duration_sec: 2 }, viewer, NOW);

  it('turns a contract message into one JSONEachRow line: the message plus its Kafka coordinates', () => {
    const res = decodeProgress(value(msg), 4, '77');
    if (!res.ok) throw new Error(res.reason);
    const line = res.row.toString();
    expect(line.endsWith('}\n')).to.equal(true);
    expect(line.indexOf('\n')).to.equal(line.length - 1);
    expect(JSON.parse(line)).to.deep.equal({ ...msg, kafka_partition: 4, kafka_offset: 77 });
  });

  it('keeps one message on one line when its JSON spans lines', () => {
    const res = decodeProgress(Buffer.from(`${JSON.stringify(msg, null, 2)}\n\n`), 1, '9');
    if (!res.ok) throw new Error(res.reason);
    const line = res.row.toString();
    expect(line.indexOf('\n')).to.equal(line.length - 1);
    expect(JSON.parse(line)).to.deep.equal({ ...msg, kafka_partition: 1, kafka_offset: '9' });
  });

  it('splices the coordinates before the closing brace when the value has trailing blanks', () => {
    const res = decodeProgress(Buffer.from(`${JSON.stringify(msg)}  \t`), 2, '5');
    if (!res.ok) throw new Error(res.reason);
    expect(JSON.parse(res.row.toString())).to.deep.equal({ ...msg, kafka_partition: 2, kafka_offset: 5 });
  });

  it('rejects empty, non-JSON and off-contract values with a reason', () => {
    expect(decodeProgress(null, 0, '1')).to.deep.equal({ ok: false, reason: 'empty message value' });
    expect(decodeProgress(Buffer.from('{oops'), 0, '1')).to.deep.equal({
      ok: false,
      reason: 'value is not JSON',
    });
    const bad = decodeProgress(value({ ...msg, position_sec: -5 }), 0, '1');
    expect(bad.ok).to.equal(false);
    expect(!bad.ok && bad.reason).to.match(/schema mismatch at position_sec/);
    expect(decodeProgress(value({ ...msg, schema_version: 2 }), 0, '1').ok).to.equal(false);
  });
});
