import { expect } from 'chai';
import { z } from 'zod';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseEraser, viewerCondition } from '../../api/src/erasure/clickhouse-eraser.js';
import { letterIds } from '../../etl/src/dead-letter-row.js';
import { ErasedViewers, withoutErased } from '../../etl/src/erased-viewers.js';
import { defineStream, field } from '../../lib/contracts/stream.js';
import { eventIdField, receivedAtField, viewerIdField } from '../../lib/contracts/stream-fields.js';
import { TABLE_STREAMS, viewerTables } from '../../lib/contracts/tables.js';

const viewer = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';

describe('erasure: what holds viewer data, and what the ETL drops', () => {
  it('finds every table with viewer data from the stream definitions, read models and aggregates included', () => {
    expect(viewerTables().map((t) => `${t.table}.${t.column}`)).to.deep.equal([
      'progress_events.viewer_id',
      'progress_latest.viewer_id',
      'progress_daily.viewer_id',
      'user_events.viewer_id',
      'experiment_exposures.viewer_id',
      'dead_letters.viewer_id',
    ]);
    expect(viewerTables().find((t) => t.table === 'dead_letters')!.alsoIn).to.deep.equal([
      'message_key',
      'message_value',
    ]);
  });

  it('includes a new stream with a viewer field without a list to edit, and leaves out one without', () => {
    const table = (name: string, createdBy: number) => ({
      name,
      createdBy,
      orderBy: ['received_at'],
      monthOf: 'received_at',
      shardBy: 'rand()',
      doc: '',
    });
    const rated = defineStream({
      name: 'rating',
      title: 'rating',
      version: 1,
      topicOption: 'X',
      key: 'viewer',
      fields: { event_id: eventIdField, viewer_id: viewerIdField, received_at: receivedAtField() },
      table: table('ratings', 90),
    });
    const anonymous = defineStream({
      name: 'weather',
      title: 'weather',
      version: 1,
      topicOption: 'Y',
      key: 'none',
      fields: {
        event_id: eventIdField,
        city: field({
          schema: z.string(),
          source: 'producer',
          column: { type: 'String' },
          docType: '',
          meaning: '',
        }),
        received_at: receivedAtField(),
      },
      table: table('weather', 91),
    });
    expect(viewerTables([...TABLE_STREAMS, rated, anonymous]).map((t) => t.table))
      .to.include('ratings')
      .and.not.include('weather');
  });

  it('matches a table by its viewer column, and by text columns that may name the viewer', () => {
    expect(viewerCondition({ table: 't', column: 'viewer_id', alsoIn: [] })).to.equal(
      'viewer_id = {viewer:UUID}',
    );
    expect(viewerCondition({ table: 't', column: 'viewer_id', alsoIn: ['message_value'] })).to.equal(
      "viewer_id = {viewer:UUID} OR positionCaseInsensitive(ifNull(message_value, ''), {viewer:String}) > 0",
    );
  });

  it('deletes ON CLUSTER from the storage tables in a cluster, and from the tables themselves on one node', async () => {
    const sent: string[] = [];
    const client = {
      command: (q: { query: string }) => {
        sent.push(q.query);
        return Promise.resolve();
      },
    } as unknown as ClickHouseClient;
    const t = viewerTables()[0]!;
    await new ClickHouseEraser(client, { database: 'a', cluster: 'events', ttlDays: 0 }, [t], 1000).delete(
      t,
      viewer,
    );
    await new ClickHouseEraser(client, { database: 'a', cluster: undefined, ttlDays: 0 }, [t], 1000).delete(
      t,
      viewer,
    );
    expect(sent).to.deep.equal([
      "ALTER TABLE a.progress_events_local ON CLUSTER 'events' DELETE WHERE viewer_id = {viewer:UUID}",
      'ALTER TABLE a.progress_events DELETE WHERE viewer_id = {viewer:UUID}',
    ]);
  });

  it("drops erased viewers' items whatever the case of the id, and counts them", () => {
    const rows = [{ v: viewer.toUpperCase() }, { v: null }, { v: undefined }, { v: 'someone-else' }];
    expect(withoutErased(rows, (r) => r.v, new Set([viewer]))).to.deep.equal({
      rows: rows.slice(1),
      dropped: 1,
    });
    expect(withoutErased(rows, (r) => r.v, new Set())).to.deep.equal({ rows, dropped: 0 });
  });

  it("reads a dead letter's viewer from its value, else from a key that is a UUID", () => {
    const value = (o: object) => Buffer.from(JSON.stringify(o));
    const event = randomLike('a');
    expect(
      letterIds({ key: Buffer.from('dev-1234'), value: value({ event_id: event, viewer_id: viewer }) }),
    ).to.deep.equal({
      eventId: event,
      viewerId: viewer,
    });
    expect(letterIds({ key: Buffer.from(viewer.toUpperCase()), value: Buffer.from('{oops') })).to.deep.equal({
      eventId: null,
      viewerId: viewer,
    });
    expect(letterIds({ key: null, value: null })).to.deep.equal({ eventId: null, viewerId: null });
  });

  it('serves the list it has while fresh, reloads it once when older, and fails rather than serve a stale one', async () => {
    let now = 0;
    let loads = 0;
    let answer: () => Promise<unknown> = () => Promise.resolve([{ viewer }]);
    const client = {
      query: () => {
        loads += 1;
        return Promise.resolve({ json: answer });
      },
    } as unknown as ClickHouseClient;
    const list = new ErasedViewers(client, 'db.erased_viewers', 1000, () => now);
    const [a, b] = await Promise.all([list.current(), list.current()]);
    expect(loads, 'one load for concurrent callers').to.equal(1);
    expect(a.has(viewer) && b.has(viewer)).to.equal(true);
    now = 999;
    await list.current();
    expect(loads).to.equal(1);
    now = 1000;
    answer = () => Promise.reject(new Error('ClickHouse down'));
    let failed: unknown;
    await list.current().catch((err: unknown) => (failed = err));
    expect(loads).to.equal(2);
    expect((failed as Error).message).to.equal('ClickHouse down');
  });
});

function randomLike(c: string): string {
  return `${c.repeat(8)}-${c.repeat(4)}-4${c.repeat(3)}-8${c.repeat(3)}-${c.repeat(12)}`;
}
