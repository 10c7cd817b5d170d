import { expect } from 'chai';
import { hkdfSync } from 'node:crypto';
import pg from 'pg';
import { HistoryLinks } from '../../api/src/segments/history-links.js';
import { request, type Harness } from '../helpers/harness.js';
import { startAdminSession, type AdminSession } from '../helpers/experiments.js';
import { randomUUID } from '../helpers/ids.js';
import { waitFor } from '../helpers/kafka-helpers.js';

const HEADER = 'user;segment;operation;timestamp';
const thisMonth = () => new Date().toISOString().slice(0, 7);

describe('segment history report', function () {
  this.timeout(300_000);
  let h: Harness;
  let api: AdminSession['api'];
  before(async () => {
    ({ h, api } = await startAdminSession());
  });
  after(async () => {
    await h.stop();
  });
  const linkFor = async (period: string): Promise<string> => {
    const res = await api(`/segments/history?period=${period}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    // Root-relative: the harness sets no PUBLIC_BASE_URL.
    return new URL(res.body.url as string, h.url).toString();
  };

  it('answers a month with an expiring link that streams every add and removal of that month as CSV', async () => {
    const a = `HIST_A_${randomUUID().slice(0, 6).toUpperCase()}`;
    const b = `HIST_B_${randomUUID().slice(0, 6).toUpperCase()}`;
    const all = `HIST_ALL_${randomUUID().slice(0, 6).toUpperCase()}`;
    for (const slug of [a, b]) expect((await api('/segments', { body: { slug } })).status).to.equal(201);
    const user = (await api('/dev/users', { body: {} })).body.user_id as string;
    const leaver = (await api('/dev/users', { body: {} })).body.user_id as string;
    expect((await api('/segments', { body: { slug: all, percent: 100 } })).status).to.equal(201);
    await api(`/users/${user}/segments`, { body: { add: [a, { slug: b, ttl_seconds: 3600 }] } });
    await api(`/users/${user}/segments`, { body: { remove: [a] } });
    await api(`/users/${leaver}/segments`, { body: { add: [a] } });
    await api(`/dev/users/${leaver}`, { method: 'DELETE' });
    await api(`/segments/${all}`, { method: 'DELETE' });

    const res = await api(`/segments/history?period=${thisMonth()}`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    // No PUBLIC_BASE_URL: a root-relative link, whatever Host the request named.
    expect(res.body.url as string).to.match(/^\/api\/v1\/segments\/history\/download\?/);
    const url = new URL(res.body.url as string, h.url);
    expect(url.pathname).to.equal('/api/v1/segments/history/download');
    const ttlMs = Date.parse(res.body.expires_at as string) - Date.now();
    expect(ttlMs).to.be.within(0, h.config.reports.linkTtlSeconds * 1000);

    // The link is the credential: no token needed.
    const csv = await fetch(url);
    expect(csv.status).to.equal(200);
    expect(csv.headers.get('content-type')).to.equal('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).to.equal(
      `attachment; filename="segment-history-${thisMonth()}.csv"`,
    );
    const lines = (await csv.text()).trimEnd().split('\n');
    expect(lines[0]).to.equal(HEADER);
    const mine = lines.slice(1).filter((l) => l.startsWith(user) || l.startsWith(leaver));
    const stored = await h.pool.query<{ user_id: string; segment: string; operation: string; at: Date }>(
      `SELECT user_id, segment, operation, at FROM segment_history
        WHERE user_id = ANY($1) AND at <= now() ORDER BY at, id`,
      [[user, leaver]],
    );
    expect(mine).to.deep.equal(
      stored.rows.map((r) => `${r.user_id};${r.segment};${r.operation};${r.at.toISOString()}`),
    );
    const ops = mine.map((l) => l.split(';').slice(0, 3).join(' '));
    expect(ops).to.include.members([
      `${user} ${all} add`,
      `${user} ${a} add`,
      `${user} ${b} add`,
      `${user} ${a} remove`,
      `${leaver} ${a} add`,
      `${leaver} ${a} remove`,
      `${leaver} ${all} remove`,
      `${user} ${all} remove`,
    ]);
    // b's expiry, an hour ahead, is in the history table but not in the report yet.
    expect(ops).not.to.include(`${user} ${b} remove`);
    const pending = await h.pool.query(
      `SELECT 1 FROM segment_history WHERE user_id = $1 AND segment = $2 AND operation = 'remove'`,
      [user, b],
    );
    expect(pending.rowCount).to.equal(1);
  });

  it('gzips the download for clients that accept it', async () => {
    const url = await linkFor(thisMonth());
    const plain = await (await fetch(url, { headers: { 'Accept-Encoding': 'identity' } })).text();
    const zipped = await fetch(url, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(zipped.headers.get('content-encoding')).to.equal('gzip');
    expect(await zipped.text()).to.equal(plain); // fetch inflates it
  });

  it('refuses altered, foreign and expired links, and bad periods, in the shared error shape', async () => {
    const url = new URL(await linkFor('2020-01'));
    const altered = new URL(url);
    altered.searchParams.set('period', '2020-02');
    const later = new URL(url);
    later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    for (const u of [altered, later]) {
      const res = await request(u.toString());
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal('invalid_signature');
    }
    // A link signed with this deployment's key but already expired.
    const key = Buffer.from(hkdfSync('sha256', h.secret, '', 'report-download-links', 32));
    const old = new HistoryLinks(key, 60, () => Date.now() - 120_000).sign('2020-01');
    const expired = await request(`${h.url}/api/v1/segments/history/download?${old.query}`);
    expect(expired.status).to.equal(410);
    expect(expired.body.error.code).to.equal('link_expired');
    // The same key with a live expiry works: the 410 was the expiry, not the key.
    const fresh = new HistoryLinks(key, 60).sign('2020-01');
    expect((await fetch(`${h.url}/api/v1/segments/history/download?${fresh.query}`)).status).to.equal(200);
    const missing = await request(`${h.url}/api/v1/segments/history/download?period=2020-01`);
    expect(missing.status).to.equal(400);
    // The same expiry spelt another way is not the link that was signed.
    const expires = url.searchParams.get('expires')!;
    for (const spelling of [`+${expires}`, `0${expires}`, `${expires}.0`, `${Number(expires) / 10}e1`]) {
      const respelt = new URL(url);
      respelt.searchParams.set('expires', spelling);
      const res = await request(respelt.toString());
      expect(res.status, spelling).to.equal(400);
      expect(res.body.error.details[0]).to.include({ path: 'expires' });
    }

    const nextYear = `${new Date().getUTCFullYear() + 1}-01`;
    for (const period of ['2026-13', 'november', '', nextYear]) {
      const res = await api(`/segments/history?period=${period}`);
      expect(res.status, period).to.equal(400);
      expect(res.body.error.code).to.equal('validation_failed');
    }
    expect((await api('/segments/history?period=2020-01', { token: await h.token() })).status).to.equal(403);
    expect((await request(`${h.url}/api/v1/segments/history?period=2020-01`)).status).to.equal(401);
  });

  it('streams a 1,000,000-row month with backpressure, never holding the report in memory', async () => {
    const period = '2019-03';
    const rows = 1_000_000;
    // Seeded straight into the table: the report is what is measured, not the API writes.
    // (own connection: the API pool's 2 s statement timeout is not meant for bulk loads)
    const seed = new pg.Client({ connectionString: h.config.postgres.url });
    await seed.connect();
    try {
      await seed.query(
        `INSERT INTO segment_history (user_id, segment, operation, reason, at)
         SELECT md5(i::text)::uuid, 'BULK_' || (i % 7), CASE WHEN i % 2 = 0 THEN 'add' ELSE 'remove' END,
                'manual', timestamptz '2019-03-01T00:00:00Z' + (i * interval '2 seconds')
           FROM generate_series(1, $1) AS i`,
        [rows],
      );
      await seed.query('ANALYZE segment_history');
    } finally {
      await seed.end();
    }
    const res = await fetch(await linkFor(period), { headers: { 'Accept-Encoding': 'identity' } });
    expect(res.status).to.equal(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value).split('\n')[0]).to.equal(HEADER);
    // The test stops reading: the database must end up waiting on the socket (ClientWrite),
    // its query still running. A server that read the whole report before sending it
    // would have finished the query instead.
    const blocked = await waitFor(
      'the export query to wait on its client',
      async () =>
        (
          await h.pool.query<{ state: string; wait_event: string | null }>(
            `SELECT state, wait_event FROM pg_stat_activity
              WHERE application_name = 'segment-history-export' AND datname = current_database()`,
          )
        ).rows,
      (r) => r.length === 1 && r[0]!.state === 'active' && r[0]!.wait_event === 'ClientWrite',
      60_000,
    );
    expect(blocked[0]!.state).to.equal('active');

    let text = new TextDecoder().decode(first.value, { stream: true });
    let lines = 0;
    let last = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const cut = text.lastIndexOf('\n');
      if (cut < 0) continue;
      const complete = text.slice(0, cut);
      text = text.slice(cut + 1);
      const split = complete.split('\n');
      lines += split.length;
      last = split[split.length - 1]!;
    }
    // +1 header; the first chunk's complete lines were counted with the rest.
    expect(lines).to.equal(rows + 1);
    const lastAt = new Date(Date.UTC(2019, 2, 1) + rows * 2000).toISOString();
    expect(last).to.match(new RegExp(`;BULK_${rows % 7};add;${lastAt.replace(/[.]/g, '\\.')}$`));
    // The connection went back: nothing left running.
    await waitFor(
      'the export connection to close',
      async () =>
        (
          await h.pool.query(
            `SELECT 1 FROM pg_stat_activity WHERE application_name = 'segment-history-export' AND datname = current_database()`,
          )
        ).rowCount,
      (n) => n === 0,
    );
  });
});
