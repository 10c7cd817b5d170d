import { expect } from 'chai';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { bootstrapStatements, pendingMigrations } from '../../lib/clickhouse/migrate.js';

const single = { database: 'analytics', cluster: undefined, ttlDays: 30 };
const cluster = { database: 'analytics', cluster: 'events', ttlDays: 30 };

describe('ClickHouse migrations', () => {
  it('have unique, increasing versions', () => {
    const versions = MIGRATIONS.map((m) => m.version);
    expect(versions).to.deep.equal([...new Set(versions)].sort((a, b) => a - b));
  });

  it('run only what has not been applied, in order', () => {
    const fake = [3, 1, 2].map((version) => ({ version, name: `m${version}`, statements: () => [] }));
    expect(pendingMigrations(fake, new Set([1])).map((m) => m.version)).to.deep.equal([2, 3]);
  });

  it('target one node with plain MergeTree engines and block dedup enabled', () => {
    const sql = MIGRATIONS.flatMap((m) => m.statements(single)).join('\n');
    expect(sql).not.to.contain('ON CLUSTER');
    expect(sql).not.to.contain('Replicated');
    expect(sql).to.contain('non_replicated_deduplication_window');
    expect(sql).to.contain('TTL toDateTime(received_at) + INTERVAL 30 DAY');
  });

  it('target a cluster with ON CLUSTER, Replicated engines and Distributed tables', () => {
    const stmts = [...bootstrapStatements(cluster), ...MIGRATIONS.flatMap((m) => m.statements(cluster))];
    for (const s of stmts) expect(s).to.contain("ON CLUSTER 'events'");
    const sql = stmts.join('\n');
    expect(sql).to.contain('analytics.progress_events_local');
    expect(sql).to.match(
      /ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/analytics\/progress_events', '\{replica\}'\)/,
    );
    expect(sql).to.contain(
      "ENGINE = Distributed('events', 'analytics', 'progress_events_local', cityHash64(viewer_id))",
    );
    expect(sql).to.contain('ReplicatedReplacingMergeTree(');
  });

  it('make every statement idempotent', () => {
    for (const s of MIGRATIONS.flatMap((m) => m.statements(single))) expect(s).to.match(/IF NOT EXISTS/);
  });
});
