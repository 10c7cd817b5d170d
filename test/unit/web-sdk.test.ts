import { expect } from 'chai';
import { EVENT_TYPE as SERVER_EVENT_TYPE } from '../../lib/contracts/user-event.js';
import {
  backoffDelayMs,
  MAX_RETRY_AFTER_MS,
  parseRetryAfterMs,
  retryDelayMs,
} from '../../sdk/web/src/backoff.js';
import { nextBatch, utf8Bytes, type QueuedEvent } from '../../sdk/web/src/batch.js';
import { batchBody, classify } from '../../sdk/web/src/http.js';
import { EVENT_TYPE, progressItem, userEventItem } from '../../sdk/web/src/items.js';
import { EventQueue } from '../../sdk/web/src/queue.js';
import { expiresAtMs } from '../../sdk/web/src/token.js';
import { FakeStorage } from './web-sdk-fakes.js';

const event = (id: string, stream: 'progress' | 'event', bytes = 10, seq = 0): QueuedEvent => ({
  id,
  stream,
  seq,
  item: `{"id":"${id}"}`,
  bytes,
});

describe('web SDK: backoff and Retry-After', () => {
  const opts = { baseMs: 500, maxMs: 30_000 };

  it('waits between half and all of a ceiling that doubles per attempt', () => {
    for (const [attempt, ceiling] of [
      [0, 500],
      [1, 1000],
      [3, 4000],
    ] as const) {
      expect(backoffDelayMs(attempt, opts, () => 0)).to.equal(ceiling / 2);
      expect(backoffDelayMs(attempt, opts, () => 0.999999)).to.equal(ceiling);
      const d = backoffDelayMs(attempt, opts, Math.random);
      expect(d).to.be.within(ceiling / 2, ceiling);
    }
  });

  it('never waits longer than the cap, however many attempts failed', () => {
    for (const attempt of [6, 7, 50, 1e6]) {
      expect(backoffDelayMs(attempt, opts, () => 1)).to.equal(30_000);
      expect(backoffDelayMs(attempt, opts, () => 0)).to.equal(15_000);
    }
  });

  it('reads Retry-After as seconds or as an HTTP date, capped, and ignores what it cannot read', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs('1', now)).to.equal(1000);
    expect(parseRetryAfterMs(' 120 ', now)).to.equal(120_000);
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).to.equal(5000);
    expect(parseRetryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now), 'a date passed').to.equal(0);
    expect(parseRetryAfterMs('86400', now)).to.equal(MAX_RETRY_AFTER_MS);
    for (const bad of [null, undefined, '', '-1', '1.5', 'soon', '2026-01-01']) {
      expect(parseRetryAfterMs(bad, now), String(bad)).to.equal(undefined);
    }
  });

  it('retries never sooner than Retry-After nor sooner than the backoff', () => {
    expect(retryDelayMs(0, 3000, opts, () => 1)).to.equal(3000);
    expect(retryDelayMs(5, 1000, opts, () => 1)).to.equal(16_000);
    expect(retryDelayMs(0, undefined, opts, () => 0)).to.equal(250);
  });

  it('retries 429, 5xx and 503 with their Retry-After; drops any other 4xx', () => {
    expect(classify(202, null, 0)).to.deep.equal({ kind: 'accepted' });
    expect(classify(503, '2', 0)).to.deep.equal({ kind: 'retry', status: 503, retryAfterMs: 2000 });
    expect(classify(429, '7', 0)).to.deep.equal({ kind: 'retry', status: 429, retryAfterMs: 7000 });
    expect(classify(502, '7', 0)).to.deep.equal({ kind: 'retry', status: 502, retryAfterMs: undefined });
    for (const status of [400, 401, 403, 404, 408, 413, 415, 422])
      expect(classify(status, '1', 0), String(status)).to.deep.equal({ kind: 'rejected', status });
  });
});

describe('web SDK: batches', () => {
  it('takes the oldest event’s stream, in order, within the count', () => {
    const queued = [event('a', 'event'), event('b', 'progress'), event('c', 'event'), event('d', 'event')];
    expect(nextBatch(queued, { maxCount: 2, maxBytes: 1000 }, 0).map((e) => e.id)).to.deep.equal(['a', 'c']);
    expect(nextBatch(queued.slice(1), { maxCount: 9, maxBytes: 1000 }, 0).map((e) => e.id)).to.deep.equal([
      'b',
    ]);
    expect(nextBatch([], { maxCount: 9, maxBytes: 1000 }, 0)).to.deep.equal([]);
  });

  it('keeps the body within maxBytes, counting the envelope and the commas', () => {
    const queued = ['a', 'b', 'c'].map((id) => event(id, 'progress', 10));
    // envelope 13 + (10 + 1) per item: two items take 35 bytes, three 46.
    expect(nextBatch(queued, { maxCount: 9, maxBytes: 35 }, 13)).to.have.length(2);
    expect(nextBatch(queued, { maxCount: 9, maxBytes: 46 }, 13)).to.have.length(3);
    // One event over the limit still goes, alone: the server, not the queue, refuses it.
    expect(
      nextBatch([event('big', 'progress', 5000), ...queued], { maxCount: 9, maxBytes: 100 }, 13),
    ).to.have.length(1);
  });

  it('measures UTF-8 bytes as the server counts them', () => {
    for (const s of ['plain', 'é', '€', '😀', '{"q":"Amélie 😀"}'])
      expect(utf8Bytes(s), s).to.equal(Buffer.byteLength(s));
  });

  it('joins items already encoded into the documented batch body, with the beacon token first', () => {
    expect(JSON.parse(batchBody(['{"a":1}', '{"b":2}']))).to.deep.equal({ events: [{ a: 1 }, { b: 2 }] });
    expect(JSON.parse(batchBody(['{"a":1}'], 'tok"en'))).to.deep.equal({
      access_token: 'tok"en',
      events: [{ a: 1 }],
    });
  });
});

describe('web SDK: items', () => {
  const film = '1D6F0B0E-2B1F-4F7A-9C3E-5A4B3C2D1E0F';
  it('sends whole seconds, the film id lower case, the position never past the duration', () => {
    expect(progressItem(film, 754.9, 5399.6, 'id', 't')).to.deep.equal({
      event_id: 'id',
      occurred_at: 't',
      film_id: film.toLowerCase(),
      position_sec: 754,
      duration_sec: 5400,
    });
    expect(progressItem(film, 10.9, 10.2, 'id', 't')).to.include({ position_sec: 10, duration_sec: 10 });
    expect(progressItem(film, 0, 0.2, 'id', 't')).to.include({ position_sec: 0, duration_sec: 1 });
  });

  it('throws at the call for what the server would refuse with the whole batch', () => {
    expect(() => progressItem('film-1', 1, 2, 'id', 't')).to.throw(TypeError, /UUID/);
    expect(() => progressItem(film, -1, 2, 'id', 't')).to.throw(TypeError, /positionSec/);
    expect(() => progressItem(film, 1, Number.NaN, 'id', 't')).to.throw(TypeError, /durationSec/);
    expect(() => progressItem(film, 1, Infinity, 'id', 't')).to.throw(TypeError, /durationSec/);
    expect(() => userEventItem('Player.Pause', undefined, 'id', 't')).to.throw(TypeError, /eventType/);
    expect(() => userEventItem('a'.repeat(65), undefined, 'id', 't')).to.throw(TypeError, /eventType/);
    expect(() => userEventItem('search', [] as never, 'id', 't')).to.throw(TypeError, /properties/);
    expect(userEventItem('player.pause', { at: 3 }, 'id', 't')).to.deep.equal({
      event_id: 'id',
      occurred_at: 't',
      event_type: 'player.pause',
      properties: { at: 3 },
    });
  });

  it('checks event types with the server’s own rule', () => {
    expect(EVENT_TYPE.source).to.equal(SERVER_EVENT_TYPE.source);
  });

  it('reads a JWT’s expiry without verifying it, and nothing from a token that is not one', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'x', exp: 1_800_000_000 })).toString('base64url');
    expect(expiresAtMs(`h.${payload}.s`)).to.equal(1_800_000_000_000);
    expect(expiresAtMs('opaque')).to.equal(undefined);
    expect(expiresAtMs('h.!!!.s')).to.equal(undefined);
  });
});

describe('web SDK: persistent queue', () => {
  const noError = (err: unknown) => {
    throw err;
  };

  it('survives a reload: a new queue on the same storage has every event, in order', () => {
    const storage = new FakeStorage();
    storage.setItem('other-app', 'untouched');
    const first = new EventQueue(storage, 'sa:', noError);
    first.restore(0, 1000);
    for (const id of ['a', 'b', 'c']) first.add(event(id, 'progress', 10, first.nextSeq()));
    first.remove(['b']);
    const second = new EventQueue(storage, 'sa:', noError);
    second.restore(0, 1000);
    expect(second.list().map((e) => e.id)).to.deep.equal(['a', 'c']);
    expect(second.nextSeq()).to.be.greaterThan(second.list()[1]!.seq);
    expect(storage.getItem('other-app')).to.equal('untouched');
  });

  it('drops on restore what a beacon carried long ago, and unreadable entries', () => {
    const storage = new FakeStorage();
    const q = new EventQueue(storage, 'sa:', noError);
    for (const id of ['old', 'recent', 'never']) q.add(event(id, 'event', 10, q.nextSeq()));
    q.markBeaconed(['old'], 1000);
    q.markBeaconed(['recent'], 9000);
    storage.setItem('sa:corrupt', '{not json');
    storage.setItem('sa:wrong-key', JSON.stringify(event('other-id', 'event')));
    const after = new EventQueue(storage, 'sa:', noError);
    after.restore(10_000, 5000);
    expect(after.list().map((e) => e.id)).to.deep.equal(['recent', 'never']);
    expect(after.list()[0]!.beaconAt).to.equal(9000);
    expect([...storage.map.keys()].sort()).to.deep.equal(['sa:never', 'sa:recent']);
  });

  it('keeps events in memory when storage refuses them, and says so', () => {
    const storage = new FakeStorage();
    storage.failWrites = true;
    const errors: unknown[] = [];
    const q = new EventQueue(storage, 'sa:', (e) => errors.push(e));
    q.add(event('a', 'event'));
    expect(q.list().map((e) => e.id)).to.deep.equal(['a']);
    expect(errors).to.have.length(1);
    const none = new EventQueue(undefined, 'sa:', noError);
    none.restore(0, 0);
    none.add(event('b', 'event'));
    expect(none.size).to.equal(1);
  });
});
