import { expect } from 'chai';
import { AssignmentService } from '../../api/src/experiments/assignment-service.js';
import { mayServe, type StoredExperiment } from '../../api/src/experiments/experiment-store.js';
import { RunningExperiments } from '../../api/src/experiments/running-experiments.js';
import { memoryDatabase } from '../helpers/memory-devices.js';

const base = {
  description: '',
  status: 'running' as const,
  createdAtUs: 0,
  stoppedAtUs: null,
  include: [] as string[],
  exclude: [] as string[],
};
const open: StoredExperiment = {
  ...base,
  id: 1,
  key: 'button_color',
  seed: 'seed-open',
  options: ['#FF0000', '#00FF00'].map((value) => ({ value, weight: 1 })),
};
const gated: StoredExperiment = {
  ...base,
  id: 2,
  key: 'premium_price',
  seed: 'seed-gated',
  include: ['PREMIUM'],
  exclude: ['BLOCKED'],
  options: [5, 7, 9].map((value) => ({ value, weight: 1 })),
};

describe('mayServe (segment-targeted experiments)', () => {
  it('serves an open experiment to anyone, a targeted one only to a viewer in its segments now', () => {
    expect(mayServe(open, null)).to.equal(true);
    expect(mayServe(open, new Set())).to.equal(true);
    expect(mayServe(gated, null)).to.equal(false);
    expect(mayServe(gated, new Set())).to.equal(false);
    expect(mayServe(gated, new Set(['OTHER']))).to.equal(false);
    expect(mayServe(gated, new Set(['PREMIUM']))).to.equal(true);
    expect(mayServe(gated, new Set(['PREMIUM', 'BLOCKED']))).to.equal(false);
    const excludeOnly = { ...gated, include: [] };
    expect(mayServe(excludeOnly, null)).to.equal(false);
    expect(mayServe(excludeOnly, new Set())).to.equal(true);
  });
});

describe('AssignmentService (segment-targeted experiments, shared Device-Token)', () => {
  const members: Record<string, string[]> = {
    member: ['PREMIUM'],
    outsider: [],
    blocked: ['PREMIUM', 'BLOCKED'],
  };
  const setup = () => {
    const names: string[] = [];
    const { pool, stored } = memoryDatabase(names);
    const segmentReads: string[] = [];
    const service = new AssignmentService(
      pool,
      new RunningExperiments({ running: async () => [open, gated] }, 60_000),
      { cacheSize: 100, registerLingerMs: 0 },
      async (viewer) => {
        segmentReads.push(viewer);
        return new Set(members[viewer] ?? []);
      },
    );
    const served = async (viewer: string | null) =>
      Object.fromEntries((await service.assign('device-D', viewer)).map((a) => [a.experiment.key, a.value]));
    return { service, names, stored, segmentReads, served };
  };

  it("serves the targeted value only with a member's token, and never changes it", async () => {
    const { stored, served } = setup();
    const first = await served('member');
    expect(first).to.have.keys('button_color', 'premium_price');
    const value = first.premium_price;
    // The same Device-Token without a viewer, or with a non-member's: open value only.
    expect(await served(null)).to.deep.equal({ button_color: first.button_color });
    expect(await served('outsider')).to.deep.equal({ button_color: first.button_color });
    expect(await served('blocked')).to.deep.equal({ button_color: first.button_color });
    expect(await served('member')).to.deep.equal(first);
    expect(stored.get('device-D')!.get(gated.id)).to.equal(gated.options.findIndex((o) => o.value === value));
  });

  it('reports a targeted assignment as new once, when a member first enters', async () => {
    const { service } = setup();
    const outsider = await service.assign('device-D', 'outsider');
    expect(outsider.map((a) => [a.experiment.key, a.isNew])).to.deep.equal([['button_color', true]]);
    const member = await service.assign('device-D', 'member');
    expect(member.map((a) => [a.experiment.key, a.isNew])).to.deep.equal([
      ['button_color', false],
      ['premium_price', true],
    ]);
    const again = await service.assign('device-D', 'member');
    expect(again.map((a) => a.isNew)).to.deep.equal([false, false]);
  });

  it('keeps the fast path: a cached device without a viewer costs no statement and no segment read', async () => {
    const { names, segmentReads, served } = setup();
    await served('member');
    const before = names.length;
    await served(null);
    await served(null);
    expect(names.slice(before)).to.deep.equal([]);
    expect(segmentReads).to.deep.equal(['member']);
    // A cached member: its segments are read (the proof), nothing else; a non-member alike.
    await served('member');
    await served('outsider');
    expect(names.slice(before)).to.deep.equal([]);
    expect(segmentReads).to.deep.equal(['member', 'member', 'outsider']);
  });
});
