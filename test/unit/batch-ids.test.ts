import { expect } from 'chai';
import { assertIdsNameOneEvent } from '../../api/src/ingest/accept.js';

const event = (event_id: string, rest: Record<string, unknown> = {}) => ({
  viewer_id: 'v',
  event_id,
  ...rest,
});

describe('a batch: one event_id names one event', () => {
  it('takes distinct ids, and the same event listed twice (a retry inside a batch)', () => {
    expect(() => assertIdsNameOneEvent([event('a'), event('b'), event('a'), event('a')])).not.to.throw();
    expect(() => assertIdsNameOneEvent([event('a', { p: 1 }), event('a', { p: 1 })])).not.to.throw();
    // Key order inside properties does not make another event (nor another derived id).
    const reordered = [
      event('a', { properties: { q: 'x', n: 1 } }),
      event('a', { properties: { n: 1, q: 'x' } }),
    ];
    expect(() => assertIdsNameOneEvent(reordered)).not.to.throw();
  });

  it('refuses the first event that gives an earlier id other content, naming both', () => {
    try {
      assertIdsNameOneEvent([
        event('a', { p: 1 }),
        event('b'),
        event('b'),
        event('a', { p: 2 }),
        event('b', { p: 3 }),
      ]);
      expect.fail('accepted');
    } catch (err) {
      expect((err as { status: number }).status).to.equal(400);
      expect((err as { details: unknown }).details).to.deep.equal([
        {
          path: 'events[3].event_id',
          code: 'custom',
          message: 'the event_id of events[0], with other content: an event_id names one event',
        },
      ]);
    }
  });
});
