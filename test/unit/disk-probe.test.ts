import { expect } from 'chai';
import { readFileSync, statSync } from 'node:fs';
import {
  blockDeviceOf,
  diskStalls,
  majorMinor,
  parseReadings,
  summariseStalls,
  type DiskReading,
} from '../../stress-testing/src/disk-probe.js';

/** Readings every 2 ms from t = 0: [completed, inFlight] each. */
function readings(...counts: Array<[number, number]>): DiskReading[] {
  return counts.map(([completed, inFlight], i) => ({ tNs: i * 2_000_000, completed, inFlight }));
}

describe('disk probe: stalls of the disk under the benchmark', () => {
  it('reads the watcher lines and refuses a line it cannot read', () => {
    expect(parseReadings('10 5 1\n12 7 0\n')).to.deep.equal([
      { tNs: 10, completed: 5, inFlight: 1 },
      { tNs: 12, completed: 7, inFlight: 0 },
    ]);
    expect(() => parseReadings('10 5\n')).to.throw(/unreadable line/);
    expect(() => parseReadings('10 5 1 9\n')).to.throw(/unreadable line/);
    expect(() => parseReadings('10 x 1\n')).to.throw(/unreadable line/);
  });

  it('a stall is I/O in flight and none completed, from its first reading to its last', () => {
    // 0–4 ms busy and completing; 6–20 ms stalled (8 readings, 14 ms); then completing again.
    const r = readings(
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [4, 1],
      [4, 1],
      [4, 2],
      [4, 2],
      [4, 2],
      [4, 2],
      [4, 1],
      [9, 0],
    );
    expect(diskStalls(r, 10)).to.deep.equal([{ startNs: 6_000_000, ms: 14 }]);
    expect(diskStalls(r, 15)).to.deep.equal([]);
  });

  it('an idle disk is not a stalled one, and nothing in flight ends a stall', () => {
    const idle = readings(...Array.from({ length: 20 }, (): [number, number] => [7, 0]));
    expect(diskStalls(idle, 1)).to.deep.equal([]);
    // 0–8 ms stalled, idle at 10 ms, stalled again 12–22 ms: two stalls, not one of 22 ms.
    const split = readings(
      [3, 1],
      [3, 1],
      [3, 1],
      [3, 1],
      [3, 1],
      [3, 0],
      [3, 1],
      [3, 1],
      [3, 1],
      [3, 1],
      [3, 1],
      [3, 1],
    );
    expect(diskStalls(split, 1)).to.deep.equal([
      { startNs: 0, ms: 8 },
      { startNs: 12_000_000, ms: 10 },
    ]);
  });

  it('a stall still running at the last reading counts', () => {
    expect(diskStalls(readings([1, 0], [2, 1], [2, 1], [2, 1], [2, 1], [2, 1], [2, 1]), 10)).to.deep.equal([
      { startNs: 2_000_000, ms: 10 },
    ]);
  });

  it('sums up a window: stalls of 10 ms or more, the longest and their total', () => {
    const r = readings(
      ...Array.from({ length: 7 }, (): [number, number] => [1, 1]), // 12 ms
      [2, 0],
      ...Array.from({ length: 4 }, (): [number, number] => [3, 1]), // 6 ms: under 10
      [4, 0],
      ...Array.from({ length: 21 }, (): [number, number] => [5, 2]), // 40 ms
    );
    expect(summariseStalls('vda', r)).to.deep.equal({
      device: 'vda',
      stallsOver10ms: 2,
      longestStallMs: 40,
      stalledMs: 52,
    });
    expect(summariseStalls('vda', readings([1, 0], [2, 0]))).to.include({
      stallsOver10ms: 0,
      longestStallMs: 0,
    });
  });

  it("decodes a file system's device number as the kernel's mount table shows it", () => {
    // mountinfo's third field is the st_dev of the mount's files, as major:minor.
    const root = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[4] === '/');
    expect(root, 'a mount at /').to.not.equal(undefined);
    const { major, minor } = majorMinor(statSync('/', { bigint: true }).dev);
    expect(`${major}:${minor}`).to.equal(root![2]);
    // glibc's makedev, for numbers beyond the old 8-bit fields.
    const dev =
      (0x12345n & 0xffn) |
      ((0x3abn & 0xfffn) << 8n) |
      ((0x12345n & ~0xffn) << 12n) |
      ((0x3abn & ~0xfffn) << 32n);
    expect(majorMinor(dev)).to.deep.equal({ major: 0x3abn, minor: 0x12345n });
    expect(majorMinor((0x12n << 8n) | ((0x1001n & ~0xfffn) << 32n) | 0x7n)).to.deep.equal({
      major: 0x1012n,
      minor: 7n,
    });
  });

  it('finds no block device for a file system without one', () => {
    expect(blockDeviceOf('/proc')).to.equal(undefined);
  });
});
