import { expect } from 'chai';
import type { ClickHouseClient } from '@clickhouse/client';
import { EventStatusService } from '../../api/src/events/event-status.js';
import { progressStream } from '../../lib/contracts/progress.js';
import { UnavailableError } from '../../lib/errors.js';

const id = '0b9b5a4e-7d0c-4a5e-9d7f-2f1e3c4b5a69';
const empty = {
  query: () => Promise.resolve({ json: () => Promise.resolve([]) }),
} as unknown as ClickHouseClient;

function service(clickhouse: ClickHouseClient, find: () => Promise<undefined>) {
  return new EventStatusService({
    clickhouse,
    database: 'db',
    sources: [{ stream: progressStream, topic: 'progress', groupId: 'etl' }],
    tail: { find },
    timeoutMs: 100,
  });
}

describe('event status: a dependency down is a fast 503', () => {
  it('answers unknown when no store has the event', async () => {
    expect(await service(empty, () => Promise.resolve(undefined)).status(id, undefined)).to.deep.equal({
      event_id: id,
      status: 'unknown',
    });
  });

  it('turns a ClickHouse failure into UnavailableError', async () => {
    const down = {
      query: () => Promise.reject(new Error('connect ECONNREFUSED')),
    } as unknown as ClickHouseClient;
    const err = await service(down, () => Promise.resolve(undefined))
      .status(id, undefined)
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UnavailableError);
    // The code is the reason http_requests_shed_total counts: it names where to look.
    expect((err as UnavailableError).code).to.equal('event_store_unavailable');
  });

  it('answers 503 within its bound when the Kafka search hangs', async () => {
    const started = Date.now();
    const err = await service(empty, () => new Promise<undefined>(() => undefined))
      .status(id, 'a1b2c3d4-0000-4000-8000-000000000000')
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UnavailableError);
    expect(Date.now() - started).to.be.below(1000);
  });
});
