import { expect } from 'chai';
import type { Harness } from '../helpers/harness.js';
import {
  asMap,
  getExperiments,
  newDevice,
  startAdminSession,
  type AdminSession,
} from '../helpers/experiments.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { readAll, waitFor } from '../helpers/kafka-helpers.js';
import type { ExposureMessage } from '../../lib/contracts/exposure.js';

describe('experiments targeting segments', function () {
  this.timeout(120_000);
  let h: Harness;
  let api: AdminSession['api'];
  before(async () => {
    ({ h, api } = await startAdminSession());
  });
  after(async () => {
    await h.stop();
  });

  const segment = async (base: string) => {
    const slug = `${base}_${randomUUID().slice(0, 6).toUpperCase()}`;
    expect((await api('/segments', { body: { slug } })).status).to.equal(201);
    return slug;
  };
  const user = async (...segments: string[]) => {
    const id = (await api('/dev/users', { body: {} })).body.user_id as string;
    if (segments.length > 0)
      expect((await api(`/users/${id}/segments`, { body: { add: segments } })).status).to.equal(200);
    return id;
  };
  const keysFor = async (device: string, viewer?: string) => {
    const res = await getExperiments(h, device, viewer === undefined ? undefined : await h.token(viewer));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return Object.keys(asMap(res.body));
  };

  it('lets in only viewers in an included segment and in no excluded one, and serves their value only while they are in', async () => {
    const premium = await segment('PREMIUM');
    const blocked = await segment('BLOCKED');
    const inside = await user(premium);
    const both = await user(premium, blocked);
    const outside = await user();
    const later = await user();
    const key = uniqueName('exp_targeted');
    const created = await api('/admin/experiments', {
      body: {
        key,
        segments: { include: [premium], exclude: [blocked] },
        options: [
          { value: 'a', weight: 1 },
          { value: 'b', weight: 1 },
        ],
      },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body.segments).to.deep.equal({ include: [premium], exclude: [blocked] });

    const d = {
      inside: newDevice(),
      both: newDevice(),
      outside: newDevice(),
      anon: newDevice(),
      later: newDevice(),
    };
    expect(await keysFor(d.inside, inside)).to.include(key);
    expect(await keysFor(d.both, both)).not.to.include(key);
    expect(await keysFor(d.outside, outside)).not.to.include(key);
    expect(await keysFor(d.anon)).not.to.include(key);
    // Untargeted experiments (the seeded spec examples) are served to all of them.
    for (const device of Object.values(d))
      expect(await keysFor(device)).to.include.members(['button_color', 'price']);

    // Entered once: the stored value is served only while the viewer is in the segment; it
    // comes back unchanged when they rejoin.
    const value = asMap((await getExperiments(h, d.inside, await h.token(inside))).body)[key];
    expect((await api(`/users/${inside}/segments`, { body: { remove: [premium] } })).status).to.equal(200);
    expect(await keysFor(d.inside, inside)).not.to.include(key);
    expect((await api(`/users/${inside}/segments`, { body: { add: [premium] } })).status).to.equal(200);
    expect(asMap((await getExperiments(h, d.inside, await h.token(inside))).body)[key]).to.equal(value);

    // Not in yet: asked again on every request, so joining the segment lets the device in.
    expect(await keysFor(d.later, later)).not.to.include(key);
    await api(`/users/${later}/segments`, { body: { add: [premium] } });
    expect(await keysFor(d.later, later)).to.include(key);

    const rows = await h.pool.query<{ device_token: string }>(
      `SELECT a.device_token FROM assignments a JOIN experiments e ON e.id = a.experiment_id WHERE e.key = $1`,
      [key],
    );
    expect(rows.rows.map((r) => r.device_token)).to.have.members([d.inside, d.later]);
  });

  it("never serves a targeted value (nor records its exposure) on a shared Device-Token without a member's token", async () => {
    const gold = await segment('GOLD');
    const member = await user(gold);
    const outsider = await user();
    const key = uniqueName('exp_shared_token');
    const created = await api('/admin/experiments', {
      body: {
        key,
        segments: { include: [gold] },
        options: [
          { value: 'gated-a', weight: 1 },
          { value: 'gated-b', weight: 1 },
        ],
      },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const device = newDevice();
    const serve = async (viewer: string | null) => {
      const res = await getExperiments(h, device, viewer === null ? undefined : await h.token(viewer));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return res.body as Array<Record<string, unknown>>;
    };
    const first = await serve(member);
    const value = asMap(first)[key];
    expect(value).to.be.oneOf(['gated-a', 'gated-b']);
    const served = [first, await serve(null), await serve(outsider), await serve(member)];
    expect(asMap(served[1]!)).not.to.have.property(key);
    expect(asMap(served[2]!)).not.to.have.property(key);
    expect(asMap(served[3]!)[key]).to.equal(value);
    // The open experiments are still served on the shared token.
    expect(asMap(served[1]!)).to.include.keys('button_color', 'price');

    // Exposures: one per value served, none of the gated one without the member's token.
    const brokers = h.config.kafka.brokers;
    const topic = h.config.topics.exposures;
    const total = served.reduce((n, body) => n + body.length, 0);
    const ours = await waitFor(
      `the ${total} exposures of the device`,
      async () =>
        (await readAll(brokers, topic))
          .map((m) => JSON.parse(m.value!) as ExposureMessage)
          .filter((m) => m.device_id === device),
      (mine) => mine.length >= total,
      30_000,
    );
    expect(ours).to.have.length(total);
    const gated = ours.filter((m) => m.experiment === key);
    expect(gated.map((m) => [m.viewer_id, JSON.parse(m.value)])).to.deep.equal([
      [member, value],
      [member, value],
    ]);
    const rows = await h.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM assignments a JOIN experiments e ON e.id = a.experiment_id WHERE e.key = $1`,
      [key],
    );
    expect(rows.rows[0]!.n).to.equal(1);
  });

  it('serves a device whose targeted value was stored by another API replica to a member, with or without a cached state', async () => {
    const vip = await segment('VIP');
    const viewer = await user(vip);
    const key = uniqueName('exp_replicas');
    await api('/admin/experiments', {
      body: {
        key,
        segments: { include: [vip] },
        options: [
          { value: 1, weight: 1 },
          { value: 2, weight: 1 },
        ],
      },
    });
    const device = newDevice();
    // This replica caches the device before it enters the experiment ...
    expect(await keysFor(device)).not.to.include(key);
    // ... and another replica (same database) lets it in.
    const other = await startAdminSession({ POSTGRES_URL: h.config.postgres.url });
    try {
      const there = asMap((await getExperiments(other.h, device, await other.h.token(viewer))).body)[key];
      expect(there).to.be.oneOf([1, 2]);
      expect(asMap((await getExperiments(h, device)).body)).not.to.have.property(key);
      expect(asMap((await getExperiments(h, device, await h.token(viewer))).body)[key]).to.equal(there);
    } finally {
      // Its stop would drop the shared database: detach it first.
      await other.h.stop({ keepDatabase: true });
    }
  });

  it('refuses targeting that names unknown segments or includes and excludes the same one', async () => {
    const known = await segment('KNOWN');
    const cases: Array<[unknown, string]> = [
      [{ include: ['NO_SUCH_SEGMENT'] }, 'unknown_segment'],
      [{ include: [known], exclude: [known] }, 'custom'],
      [{ include: ['lower'] }, 'invalid_format'],
    ];
    for (const [segments, code] of cases) {
      const key = uniqueName('exp_bad_target');
      const res = await api('/admin/experiments', {
        body: {
          key,
          segments,
          options: [
            { value: 1, weight: 1 },
            { value: 2, weight: 1 },
          ],
        },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.body.error.details.map((d: { code: string }) => d.code)).to.include(code);
      expect((await api(`/admin/experiments/${key}`)).status).to.equal(404);
    }
  });
});
