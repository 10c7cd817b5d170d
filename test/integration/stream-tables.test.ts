import { expect } from 'chai';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { migrate } from '../../lib/clickhouse/migrate.js';
import { readModelColumns, streamColumns, type Column } from '../../lib/clickhouse/stream-table.js';
import { ERASED_VIEWERS_TABLE } from '../../lib/clickhouse/erased-viewers.js';
import { TABLE_STREAMS as STREAMS } from '../../lib/contracts/tables.js';
import { createLogger } from '../../lib/log.js';
import { uniqueName } from '../helpers/ids.js';
import { testEnv } from '../helpers/test-env.js';

interface Described {
  name: string;
  type: string;
  default_type: string;
  default_expression: string;
  comment: string;
  codec_expression: string;
}

/**
 * The migrated tables are what the stream definitions declare: every column's name, type,
 * default, codec and comment as DESCRIBE reports them, in order, and no table without a
 * definition.
 */
describe('ClickHouse tables match their stream definitions', () => {
  const database = uniqueName('streams');

  before(async () => {
    await migrate(
      testEnv().clickhouse,
      { database, cluster: undefined, ttlDays: 30 },
      MIGRATIONS,
      createLogger({ level: 'silent', pretty: false, name: 't' }),
    );
  });

  const query = async <T>(sql: string): Promise<T[]> =>
    (await testEnv().clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<T>();

  const expected = (columns: readonly Column[]) =>
    columns.map((c) => ({
      name: c.name,
      type: c.type,
      default_type: c.default === undefined ? '' : 'DEFAULT',
      default_expression: c.default ?? '',
      comment: c.comment ?? '',
      codec_expression: c.codec ?? '',
    }));

  const described = async (table: string) =>
    (await query<Described>(`DESCRIBE TABLE ${database}.${table}`)).map((c) => ({
      name: c.name,
      type: c.type,
      default_type: c.default_type,
      default_expression: c.default_expression,
      comment: c.comment,
      codec_expression: c.codec_expression,
    }));

  for (const stream of STREAMS.filter((s) => s.table !== undefined)) {
    it(`${stream.table!.name}: the columns of the ${stream.name} stream`, async () => {
      expect(await described(stream.table!.name)).to.deep.equal(expected(streamColumns(stream)));
    });
    if (stream.readModel !== undefined) {
      it(`${stream.readModel.name}: the read model's columns of the ${stream.name} stream`, async () => {
        expect(await described(stream.readModel!.name)).to.deep.equal(expected(readModelColumns(stream)));
      });
    }
  }

  it('has no table without a definition', async () => {
    const tables = await query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = '${database}' AND engine != 'MaterializedView' ORDER BY name`,
    );
    const declared = STREAMS.flatMap((s) => [
      s.table?.name,
      s.readModel?.name,
      ...(s.aggregates ?? []).map((a) => a.name),
    ]).filter((n) => n !== undefined);
    expect(tables.map((t) => t.name)).to.have.members([
      ...declared,
      'schema_migrations',
      ERASED_VIEWERS_TABLE,
    ]);
  });
});
