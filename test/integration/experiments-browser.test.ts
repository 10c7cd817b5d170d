import { expect } from 'chai';
import { chromium, type Browser } from 'playwright-core';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import {
  adminToken,
  createExperiment,
  getExperiments,
  inParallel,
  newDevice,
} from '../helpers/experiments.js';
import { uniqueName } from '../helpers/ids.js';

/**
 * The stats page in a real browser: Debian's Chromium driven by playwright-core, with
 * JavaScript disabled (the page must be readable without it), after real assignments.
 */
describe('experiments: stats page in Chromium', function () {
  this.timeout(180_000);
  let h: Harness;
  let browser: Browser;
  const key = uniqueName('exp_browser');

  before(async () => {
    h = await startHarness({ env: { EXPERIMENTS_CACHE_MS: '0' } });
    expect(
      (
        await createExperiment(h, key, [
          { value: 'small', weight: 1 },
          { value: 'large', weight: 3 },
        ])
      ).status,
    ).to.equal(201);
    await inParallel(Array.from({ length: 120 }, newDevice), 8, async (d) => {
      expect((await getExperiments(h, d)).status).to.equal(200);
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  after(async () => {
    await browser?.close();
    await h.stop();
  });

  it('shows per experiment the devices, shares against targets and the SRM verdict the API reports', async () => {
    const report = (await request(`${h.url}/api/v1/experiments/stats`, { token: await adminToken(h) })).body;
    const expected = report.experiments.find((e: { key: string }) => e.key === key);
    expect(expected.total_devices).to.equal(120);

    // Signing in as a person would: the form, the admin token pasted once, the page.
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    expect((await page.goto(`${h.url}/pages/experiment-stats/login`))?.status()).to.equal(200);
    await page.fill('textarea[name=token]', await adminToken(h));
    const [response] = await Promise.all([
      page.waitForNavigation({ url: `${h.url}/pages/experiment-stats` }),
      page.click('button[type=submit]'),
    ]);
    expect(response?.status()).to.equal(200);
    const [cookie] = await context.cookies(h.url);
    expect(cookie?.name).to.equal(h.config.admin.cookie);
    expect(cookie).to.include({ httpOnly: true, secure: true, sameSite: 'Strict' });
    // The session opens the stats views, and is no token for the admin API.
    expect(cookie!.value.split('.')).to.have.length(3);
    const asBearer = await request(`${h.url}/api/v1/admin/experiments`, { token: cookie!.value });
    expect(asBearer.status).to.equal(401);
    expect(await page.title()).to.equal('Experiment stats');

    const section = page.locator(`section[data-experiment="${key}"]`);
    expect(await section.locator('h2').innerText()).to.contain(key);
    expect(await section.locator('.total').innerText()).to.equal('120');
    const rows = section.locator('tbody tr');
    expect(await rows.count()).to.equal(2);
    for (let i = 0; i < 2; i++) {
      const row = rows.nth(i);
      const option = expected.options[i];
      expect(await row.locator('.value').innerText()).to.equal(JSON.stringify(option.value));
      expect(await row.locator('.devices').innerText()).to.equal(String(option.devices));
      expect(await row.locator('.share').innerText()).to.equal(`${(option.share * 100).toFixed(1)}%`);
      expect(await row.locator('.target').innerText()).to.equal(i === 0 ? '25.0%' : '75.0%');
      // No signed-in viewers were exposed: the page says so instead of a number.
      expect(await row.locator('.completion').innerText()).to.equal('no viewers yet');
    }
    const counted = (await rows.locator('.devices').allInnerTexts()).map(Number);
    expect(counted.reduce((a, b) => a + b, 0)).to.equal(120);
    expect(await section.locator('[data-srm]').getAttribute('data-srm')).to.equal(
      expected.srm.mismatch ? 'mismatch' : 'ok',
    );
    // The spec examples are on the page too.
    expect(await page.locator('section[data-experiment="price"] tbody tr').count()).to.equal(4);
    await context.close();
  });

  it('answers 401 to a browser without the admin cookie', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const response = await page.goto(`${h.url}/pages/experiment-stats`);
    expect(response?.status()).to.equal(401);
    await context.close();
  });
});
