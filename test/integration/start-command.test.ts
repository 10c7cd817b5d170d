import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { jwtVerify } from 'jose';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { DEV_JWT_AUDIENCE, DEV_JWT_ISSUER } from '../../lib/runtime/dev-secret.js';
import { findFreePort, findFreePortBlock } from '../../lib/runtime/ports.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { waitFor } from '../helpers/kafka-helpers.js';
import { dropDatabase, testDatabaseUrl } from '../helpers/postgres.js';
import { exited, ROOT } from '../helpers/processes.js';
import { testEnv } from '../helpers/test-env.js';

const exec = promisify(execFile);

/** `npm start`'s output once it printed its banner; if it failed, the lines that say why. */
async function startedOutput(logFile: string): Promise<string> {
  const output = await waitFor(
    'banner',
    async () => readFileSync(logFile, 'utf8'),
    (t) => t.includes('Stop: Ctrl-C') || t.includes('process_failed'),
    180_000,
    250,
  );
  const why = output.split('\n').filter((l) => /"level":"(error|fatal)"|process_failed/.test(l));
  expect(output, why.join('\n') || output.slice(-4000)).not.to.contain('process_failed');
  return output;
}

/**
 * The README's `npm start`, as a user runs it: no KAFKA_BROKERS (so it starts its own
 * broker from the Maven jars), embedded ClickHouse, generated dev secret. The test then
 * runs the two curl commands the banner prints, exactly as printed.
 */
describe('npm start', function () {
  this.timeout(240_000);
  let proc: ChildProcess;
  let dataDir: string;
  let output: string;
  let logFile: string;
  let port: number;
  let kafkaPort: number;
  let sqlPort: number;

  const database = testDatabaseUrl(uniqueName('sa_start'));
  before(async () => {
    dataDir = join(testEnv().workDir, uniqueName('start'));
    logFile = `${dataDir}.out`;
    const out = openSync(logFile, 'a');
    port = await findFreePort();
    kafkaPort = await findFreePortBlock(1);
    sqlPort = await findFreePort();
    proc = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        LOCAL_DATA_DIR: dataDir,
        LOCAL_KAFKA_PORT: String(kafkaPort),
        CLICKHOUSE_DATA_DIR: join(dataDir, 'chdb'),
        KAFKA_BROKERS: '',
        JWT_SECRET: '',
        CLICKHOUSE_URL: '',
        // A database of its own: the default one is the developer's own npm start's.
        POSTGRES_URL: database,
        SQL_HTTP_PORT: String(sqlPort),
        SQL_HTTP_PASSWORD: '',
      },
      stdio: ['ignore', out, out],
      detached: true, // own process group: npm → node; stop them together
    });
    output = await startedOutput(logFile);
  });

  after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      process.kill(-proc.pid!, 'SIGKILL');
      await exited(proc);
    }
    await dropDatabase(database);
  });

  it('prints a URL, a dev token signed with the generated secret, and curl commands that work when pasted', async () => {
    const token = /TOKEN=(\S+)/.exec(output)?.[1];
    expect(token, output).to.be.a('string');
    const secret = readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim();
    await jwtVerify(token!, new TextEncoder().encode(secret));

    const curls = output.split('\n').filter((l) => l.trim().startsWith('curl ') && l.includes('/api/v1/'));
    expect(curls).to.have.length(2);
    const post = await exec('bash', ['-c', `TOKEN=${token}; ${curls[0]!.trim()}`]);
    expect(post.stdout).to.match(/HTTP\/1\.1 202/);
    const get = await waitFor(
      'the resume position',
      async () => (await exec('bash', ['-c', `TOKEN=${token}; ${curls[1]!.trim()}`])).stdout,
      (s) => /HTTP\/1\.1 200/.test(s),
      60_000,
      500,
    );
    expect(get).to.contain('"position_sec":754');
  });

  it('binds its dev secret to the dev issuer and audience, and starts without warnings about claims or retried Kafka answers', async () => {
    const secret = new TextEncoder().encode(readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim());
    const token = /TOKEN=(\S+)/.exec(output)![1]!;
    await jwtVerify(token, secret, { issuer: DEV_JWT_ISSUER, audience: DEV_JWT_AUDIENCE });
    const status = async (t: string) =>
      (await fetch(`http://127.0.0.1:${port}/api/v1/progress`, { headers: { Authorization: `Bearer ${t}` } }))
        .status;
    expect(await status(token)).to.equal(200);
    const sub = randomUUID();
    const unbound = await signHs256(readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim(), {
      sub,
      ttlSec: 600,
    });
    expect(await status(unbound), 'a token signed with the dev secret but for no issuer').to.equal(401);
    const warnings = output.split('\n').filter((l) => l.includes('"level":"warn"'));
    expect(warnings.filter((l) => l.includes('jwt_claims_unbound'))).to.deep.equal([]);
    expect(warnings.filter((l) => /"msg":"Response /.test(l))).to.deep.equal([]);
  });

  it('prints a read-only SQL endpoint with the generated password and a curl that answers when pasted', async () => {
    const password = readFileSync(join(dataDir, 'dev-sql-password'), 'utf8').trim();
    expect(output).to.contain(`http://127.0.0.1:${sqlPort}`).and.to.contain(`password ${password}`);
    const curl = output.split('\n').find((l) => l.trim().startsWith('curl ') && l.includes(`:${sqlPort}`));
    expect(curl, output).to.be.a('string');
    const { stdout } = await exec('bash', ['-c', curl!.trim()]);
    expect(stdout.trim()).to.match(/^\d+$/);
    const refused = await exec('bash', [
      '-c',
      `${curl!.trim().replace(/SELECT count\(\) FROM progress_events/, 'DROP TABLE progress_events')} -o /dev/null -w '%{http_code}'`,
    ]);
    expect(refused.stdout).to.equal('403');
  });

  it('signs tokens with the same dev secret via npm run token', async () => {
    const sub = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    const { stdout } = await exec('npm', ['run', '-s', 'token', '--', '--sub', sub, '--role', 'admin'], {
      cwd: ROOT,
      env: { ...process.env, LOCAL_DATA_DIR: dataDir, JWT_SECRET: '' },
    });
    const secret = readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim();
    const { payload } = await jwtVerify(stdout.trim(), new TextEncoder().encode(secret), {
      issuer: DEV_JWT_ISSUER,
      audience: DEV_JWT_AUDIENCE,
    });
    expect(payload).to.include({ sub });
    expect(payload.roles).to.deep.equal(['admin']);
    // A token the API would refuse is not printed: the lifetime past JWT_MAX_LIFETIME_SEC.
    const tooLong = await exec('npm', ['run', '-s', 'token', '--', '--ttl-sec', '90000'], {
      cwd: ROOT,
      env: { ...process.env, LOCAL_DATA_DIR: dataDir, JWT_SECRET: '' },
    }).then(
      () => '',
      (err: { stderr: string }) => err.stderr,
    );
    expect(tooLong).to.match(/--ttl-sec 90000 is above JWT_MAX_LIFETIME_SEC \(86400\)/);
    // npm run migrate beside a running npm start says who holds the embedded engine.
    const migrate = await exec('npm', ['run', '-s', 'migrate'], {
      cwd: ROOT,
      env: { ...process.env, CLICKHOUSE_DATA_DIR: join(dataDir, 'chdb'), CLICKHOUSE_URL: '' },
    }).then(
      () => '',
      (err: { stderr: string }) => err.stderr,
    );
    expect(migrate).to.match(/another process holds it \(a running `npm start`/);
  });

  it('applies users published with npm run users (the users replica runs under npm start)', async () => {
    const user = randomUUID();
    const env = {
      ...process.env,
      LOCAL_DATA_DIR: dataDir,
      JWT_SECRET: '',
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
    };
    const admin = (
      await exec('npm', ['run', '-s', 'token', '--', '--role', 'admin'], { cwd: ROOT, env })
    ).stdout.trim();
    const status = async () =>
      (
        await fetch(`http://127.0.0.1:${port}/api/v1/users/${user}/segments`, {
          headers: { Authorization: `Bearer ${admin}` },
        })
      ).status;
    expect(await status()).to.equal(404);
    const published = await exec(
      'npm',
      ['run', '-s', 'users', '--', 'publish', '--op', 'created', '--user', user],
      {
        cwd: ROOT,
        env,
      },
    );
    expect(JSON.parse(published.stdout)).to.include({ user_id: user, op: 'created' });
    await waitFor('the user to arrive', status, (s) => s === 200, 60_000, 250);
    await exec('npm', ['run', '-s', 'users', '--', 'publish', '--op', 'deleted', '--user', user], {
      cwd: ROOT,
      env,
    });
    await waitFor('the user to be deleted', status, (s) => s === 404, 60_000, 250);
  });

  it("runs the README's user segments example as written", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## User segments'));
    const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block, 'the bash block of the User segments section').to.be.a('string');
    // The same commands; only the port and, since the database outlives this run, the slugs differ.
    const tag = uniqueName('r')
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '_');
    const script = block!
      .replaceAll('localhost:8080', `127.0.0.1:${port}`)
      .replaceAll('VOICE_MESSAGES', `VOICE_MESSAGES_${tag}`)
      .replaceAll('PREMIUM_TRIAL', `PREMIUM_TRIAL_${tag}`);
    const { stdout } = await exec('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      env: { ...process.env, LOCAL_DATA_DIR: dataDir, JWT_SECRET: '' },
    });
    // The user's segments right after the change: both.
    expect(stdout).to.match(new RegExp(`"slug":"VOICE_MESSAGES_${tag}"`));
    expect(stdout).to.match(new RegExp(`"slug":"PREMIUM_TRIAL_${tag}"`));
    // The history CSV: header, both adds, and the removal by the segment's deletion.
    const csv = stdout.slice(stdout.indexOf('user;segment;operation;timestamp'));
    expect(csv, stdout).to.have.length.above(0);
    const mine = csv.split('\n').filter((l) => l.includes(tag));
    expect(
      mine.some((l) => new RegExp(`;VOICE_MESSAGES_${tag};add`).test(l)),
      csv,
    ).to.equal(true);
    expect(
      mine.some((l) => new RegExp(`;PREMIUM_TRIAL_${tag};add`).test(l)),
      csv,
    ).to.equal(true);
    expect(
      mine.some((l) => new RegExp(`;VOICE_MESSAGES_${tag};remove`).test(l)),
      csv,
    ).to.equal(true);
  });

  it('stops cleanly on SIGINT: HTTP, ETL, producer and the local broker', async () => {
    process.kill(-proc.pid!, 'SIGINT');
    await exited(proc);
    const log = readFileSync(logFile, 'utf8');
    for (const service of [
      'http',
      'consumer:progress-events',
      'users-replica',
      'kafka-publisher',
      'local-kafka',
    ]) {
      expect(log).to.contain(`"service":"${service}","msg":"service_stopped"`);
    }
    expect(log).to.contain('"msg":"shutdown_done"');
  });
});

/**
 * A local clickhouse-server usually holds 8123, the SQL endpoint's default port: `npm start`
 * must still start, on another port, and say how to reach it.
 */
describe("npm start with the SQL endpoint's default port taken", function () {
  this.timeout(240_000);

  it('moves the SQL endpoint to a free port, prints it with SQL_URL, and answers there', async () => {
    // Holding 8123 ourselves, or finding it already held by something else: either way taken.
    const blocker = createServer();
    await new Promise<void>((resolve) => {
      blocker.once('error', () => resolve());
      blocker.listen(8123, '127.0.0.1', () => resolve());
    });
    const dataDir = join(testEnv().workDir, uniqueName('start8123'));
    const logFile = `${dataDir}.out`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(await findFreePort()),
      LOCAL_DATA_DIR: dataDir,
      LOCAL_KAFKA_PORT: String(await findFreePortBlock(1)),
      CLICKHOUSE_DATA_DIR: join(dataDir, 'chdb'),
      KAFKA_BROKERS: '',
      JWT_SECRET: '',
      CLICKHOUSE_URL: '',
      POSTGRES_URL: testDatabaseUrl(uniqueName('sa_start')),
      SQL_HTTP_PASSWORD: '',
    };
    delete env.SQL_HTTP_PORT;
    const proc = spawn('npm', ['start'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')],
      detached: true,
    });
    try {
      const output = await startedOutput(logFile);
      const [, base, port] = /SQL for analysts[^\n]*?(http:\/\/[\w.]+:(\d+))/.exec(output) ?? [];
      expect(base, output).to.be.a('string');
      expect(Number(port)).to.not.equal(8123);
      expect(output).to.contain(`SQL_URL=${base} npm run sql`);
      const password = readFileSync(join(dataDir, 'dev-sql-password'), 'utf8').trim();
      const res = await fetch(`${base!.replace('localhost', '127.0.0.1')}/?query=SELECT%201`, {
        headers: { Authorization: `Basic ${Buffer.from(`analyst:${password}`).toString('base64')}` },
      });
      expect(res.status).to.equal(200);
      expect((await res.text()).trim()).to.equal('1');
    } finally {
      process.kill(-proc.pid!, 'SIGINT');
      await exited(proc);
      blocker.close();
    }
  });
});
