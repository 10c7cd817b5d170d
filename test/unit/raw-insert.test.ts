import { expect } from 'chai';
import type { ClickHouseClient } from '@clickhouse/client';
import { insertRaw, registerNativeInsert } from '../../lib/clickhouse/raw-insert.js';

describe('insertRaw on the embedded engine', () => {
  const calls: { table: string; settings?: Record<string, string | number> }[] = [];
  const client = {} as ClickHouseClient;
  registerNativeInsert(client, (params) => {
    calls.push(params);
    return Promise.resolve();
  });
  beforeEach(() => (calls.length = 0));

  it('parses each insert on one thread, beside the caller’s own settings', async () => {
    const body = Buffer.from('{"a":1}\n');
    await insertRaw(client, { table: 'db.t', body, settings: { date_time_input_format: 'best_effort' } });
    expect(calls).to.have.length(1);
    expect(calls[0]!.settings).to.deep.equal({
      input_format_parallel_parsing: 0,
      date_time_input_format: 'best_effort',
    });
  });

  it('lets a caller’s setting win, and sends nothing for an empty body', async () => {
    await insertRaw(client, {
      table: 'db.t',
      body: Buffer.from('{"a":1}\n'),
      settings: { input_format_parallel_parsing: 1 },
    });
    await insertRaw(client, { table: 'db.t', body: Buffer.alloc(0), settings: {} });
    expect(calls.map((c) => c.settings)).to.deep.equal([{ input_format_parallel_parsing: 1 }]);
  });
});
