import { join } from 'node:path';
import { expect } from 'chai';
import { clickHouseOptions, createClickHouse } from '../../lib/clickhouse/client.js';
import { loadConfig } from '../../lib/config/config.js';
import { ClickHouseServer } from '../helpers/clickhouse-server.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { testEnv } from '../helpers/test-env.js';

/**
 * CLICKHOUSE_USER / CLICKHOUSE_PASSWORD reach the server, through the same config -> client
 * path every process takes: a real clickhouse-server with a password user (users.d).
 */
describe('ClickHouse server credentials', function () {
  this.timeout(60_000);
  const password: string = randomUUID();
  let server: ClickHouseServer;

  before(async () => {
    server = new ClickHouseServer(join(testEnv().workDir, uniqueName('ch-users')), [
      { name: 'analytics', password },
    ]);
    await server.start();
  });
  after(async () => {
    await server.kill('SIGTERM');
  });

  const currentUser = async (user: string, pw: string | undefined) => {
    const env = {
      CLICKHOUSE_URL: server.url,
      CLICKHOUSE_USER: user,
      ...(pw ? { CLICKHOUSE_PASSWORD: pw } : {}),
    };
    const client = await createClickHouse(clickHouseOptions(loadConfig(env)));
    try {
      // 18.16 has no currentUser(): the running query lists itself, with its user.
      const rs = await client.query({
        query: "SELECT user AS u FROM system.processes WHERE query LIKE '%sa-whoami%'",
        format: 'JSONEachRow',
      });
      return (await rs.json<{ u: string }>())[0]?.u;
    } finally {
      await client.close();
    }
  };
  const refusal = (user: string, pw: string | undefined) =>
    currentUser(user, pw).then(
      (u) => `connected as ${String(u)}`,
      (err: Error) => err.message,
    );

  it('connects as the configured user with the right password', async () => {
    expect(await currentUser('analytics', password)).to.equal('analytics');
  });

  it('is refused with a wrong or missing password', async () => {
    expect(await refusal('analytics', 'wrong-password')).to.match(/password/i);
    expect(await refusal('analytics', undefined)).to.match(/password/i);
  });
});
