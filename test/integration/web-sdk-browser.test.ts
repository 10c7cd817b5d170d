import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID } from '../helpers/ids.js';
import { groupLag, waitFor } from '../helpers/kafka-helpers.js';
import { testEnv } from '../helpers/test-env.js';

/** A player page on its own origin: the SDK as `npm run build` emits it, driven by the test. */
const PLAYER_PAGE = `<!doctype html>
<script type="module">
  import { createTracker } from '/sdk/index.js';
  const q = new URLSearchParams(location.search);
  window.queuedAtLoad = Object.keys(localStorage).filter((k) => k.startsWith('sa-tracker:')).length;
  window.errors = [];
  window.tracker = createTracker({
    url: q.get('api'),
    token: q.get('token'),
    batchSize: Number(q.get('batch')),
    flushIntervalMs: Number(q.get('interval')),
    retryBaseMs: 200,
    retryMaxMs: 2000,
    onError: (e) => window.errors.push(e.message),
  });
</script>`;

/**
 * The web SDK in Debian's Chromium (playwright-core) against the real stack: the API and
 * the ETL in-process, the test broker, the embedded ClickHouse engine. Every check ends
 * with a plain count() of the viewer's rows.
 */
describe('web SDK in Chromium', function () {
  this.timeout(120_000);
  let h: Harness;
  let browser: Browser;
  let site: Server;
  let siteUrl: string;
  let sdkDir: string;

  before(async () => {
    sdkDir = mkdtempSync(join(tmpdir(), 'sa-sdk-'));
    const build = promisify(execFile)(process.execPath, [
      'node_modules/typescript/bin/tsc',
      '-p',
      'sdk/web/tsconfig.json',
      '--outDir',
      sdkDir,
    ]);
    site = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/player.html') {
        res.writeHead(200, { 'Content-Type': 'text/html' }).end(PLAYER_PAGE);
      } else if (path.startsWith('/sdk/') && path.endsWith('.js')) {
        const file = join(sdkDir, basename(path));
        res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(readFileSync(file));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    h = await startHarness({
      etl: true,
      env: { CORS_ALLOWED_ORIGINS: siteUrl, KAFKA_SEND_TIMEOUT_MS: '1000' },
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    await build;
  });
  after(async () => {
    testEnv().kafka.pause(1, false);
    await browser?.close();
    await h?.stop();
    site?.close();
    rmSync(sdkDir, { recursive: true, force: true });
  });

  /** A viewer's player page in a fresh profile (its own localStorage). */
  async function openPlayer(
    viewer: string,
    opts: { batch: number; interval: number },
  ): Promise<{
    context: BrowserContext;
    page: Page;
    url: string;
    batchAnswers: { status: number; retryAfter: string | null }[];
  }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const batchAnswers: { status: number; retryAfter: string | null }[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/batch') && r.request().method() === 'POST')
        batchAnswers.push({ status: r.status(), retryAfter: r.headers()['retry-after'] ?? null });
    });
    const query = new URLSearchParams({
      api: h.url,
      token: await h.token(viewer),
      batch: String(opts.batch),
      interval: String(opts.interval),
    });
    const url = `${siteUrl}/player.html?${query.toString()}`;
    await page.goto(url);
    await page.waitForFunction(() => 'tracker' in globalThis);
    return { context, page, url, batchAnswers };
  }

  /** `n` progress positions of one film and `n` user actions, queued in the page. */
  function play(page: Page, n: number, film = randomUUID()): Promise<void> {
    return page.evaluate(
      ({ n, film }) => {
        const t = (globalThis as any).tracker;
        for (let i = 0; i < n; i++) {
          t.progress(film, i * 10, 5400);
          t.track('player.seek', { to: i * 10 });
        }
      },
      { n, film },
    );
  }

  const pending = (page: Page) => page.evaluate(() => (globalThis as any).tracker.pending as number);

  /** The viewer's stored rows once the ETL has caught up: plain count(), no dedup in the query. */
  async function stored(viewer: string): Promise<{ progress: number; events: number }> {
    for (const [group, topic] of [
      [h.config.etl.groupId, h.config.topics.progress],
      [h.config.etl.eventsGroupId, h.config.topics.events],
    ] as const) {
      await waitFor(
        'ETL caught up',
        () => groupLag(testEnv().brokers, group, topic),
        (lag) => lag === 0,
        60_000,
      );
    }
    const db = h.config.clickhouse.database;
    const count = async (table: string) => {
      const rs = await testEnv().clickhouse.query({
        query: `SELECT count() AS n FROM ${db}.${table} WHERE viewer_id = '${viewer}'`,
        format: 'JSONEachRow',
      });
      return Number((await rs.json<{ n: string }>())[0]!.n);
    };
    return { progress: await count('progress_events'), events: await count('user_events') };
  }

  it('keeps the events through a broker outage (503s) and stores each once when the broker is back', async () => {
    const viewer = randomUUID();
    const { context, page, batchAnswers } = await openPlayer(viewer, { batch: 10, interval: 300 });
    await play(page, 15);
    await page.evaluate(() => (globalThis as any).tracker.flush());
    expect(await pending(page)).to.equal(0);

    testEnv().kafka.pause(1, true);
    try {
      await play(page, 15);
      await waitFor(
        'a 503',
        async () => batchAnswers.filter((a) => a.status === 503).length,
        (n) => n >= 2,
        30_000,
      );
      expect(await pending(page), 'events kept while the API answers 503').to.be.greaterThan(0);
    } finally {
      testEnv().kafka.pause(1, false);
    }
    await waitFor(
      'queue drained',
      () => pending(page),
      (n) => n === 0,
      60_000,
      250,
    );
    expect(batchAnswers.find((a) => a.status === 503)?.retryAfter).to.equal('1');
    expect(await page.evaluate(() => (globalThis as any).errors)).to.deep.equal([]);
    expect(await stored(viewer)).to.deep.equal({ progress: 30, events: 30 });
    await context.close();
  });

  it('sends after a reload what was still queued: none lost, none doubled', async () => {
    const viewer = randomUUID();
    // Nothing is sent before the reload: the batch is never full and its timer never fires.
    const { context, page, batchAnswers } = await openPlayer(viewer, { batch: 1000, interval: 600_000 });
    await play(page, 12);
    expect(await pending(page)).to.equal(24);
    await page.reload();
    await page.waitForFunction(() => 'tracker' in globalThis);
    expect(await page.evaluate(() => (globalThis as any).queuedAtLoad)).to.equal(24);
    await waitFor(
      'queue drained',
      () => pending(page),
      (n) => n === 0,
      30_000,
      250,
    );
    expect(batchAnswers.map((a) => a.status)).to.include(202);
    expect(await stored(viewer)).to.deep.equal({ progress: 12, events: 12 });
    await context.close();
  });

  it('resumes a film and lists continue watching from the positions it sent', async () => {
    const viewer = randomUUID();
    const { context, page } = await openPlayer(viewer, { batch: 10, interval: 300 });
    const films = { barely: randomUUID(), halfway: randomUUID(), watched: randomUUID() };
    await page.evaluate(async (f) => {
      const t = (globalThis as any).tracker;
      t.progress(f.barely, 60, 5400);
      t.progress(f.halfway, 2700, 5400);
      t.progress(f.watched, 5300, 5400);
      await t.flush();
    }, films);
    const read = () =>
      page.evaluate(async (f) => {
        const t = (globalThis as any).tracker;
        return { list: await t.continueWatching(), watched: await t.resume(f.watched) };
      }, films);
    const { list, watched } = await waitFor(
      'positions readable',
      read,
      (r) => r.list.length > 0 && r.watched !== null,
      30_000,
      250,
    );
    // Under MIN_RESUME_PCT (5) and over MAX_RESUME_PCT (90) a film is not in the row.
    expect(list).to.have.length(1);
    expect(list[0]).to.include({ filmId: films.halfway, positionSec: 2700, durationSec: 5400, percent: 50 });
    expect(list[0].lastWatchedAt).to.be.a('string');
    expect(watched).to.include({ filmId: films.watched, positionSec: 5300, watched: true });
    expect(await page.evaluate((film) => (globalThis as any).tracker.resume(film), randomUUID())).to.equal(
      null,
    );
    await context.close();
  });

  it('stores the events a closing tab hands to sendBeacon', async () => {
    const viewer = randomUUID();
    const { context, page } = await openPlayer(viewer, { batch: 1000, interval: 600_000 });
    const logsBefore = h.rawLogs.length;
    await play(page, 10);
    await page.close({ runBeforeUnload: true });
    await waitFor(
      'beacon events stored',
      () => stored(viewer),
      (s) => s.progress === 10 && s.events === 10,
      30_000,
      500,
    );
    // Only the beacons can have sent them: the page's own timer and batch were never due.
    const answered = h.logs
      .slice(logsBefore)
      .filter((l) => l.msg === 'http_request' && String(l.path).endsWith('/batch'))
      .map((l) => `${String(l.method)} ${String(l.path)} ${String(l.status)}`);
    expect([...new Set(answered)].sort()).to.deep.equal([
      'POST /api/v1/events/batch 202',
      'POST /api/v1/progress/batch 202',
    ]);
    await context.close();
  });
});
