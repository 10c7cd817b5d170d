import { readFileSync } from 'node:fs';
import { expect } from 'chai';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  inBundle?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
}

const root = new URL('../../', import.meta.url);
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, LockEntry>;
};
// Entries the registry could not give a hash for (infra/scripts/complete-lockfile.mjs).
const unverifiable = JSON.parse(
  readFileSync(new URL('infra/scripts/lockfile-unverifiable.json', root), 'utf8'),
) as { key: string; version: string }[];

/**
 * `npm ci` checks each download against the lock's integrity hash; an entry without one is
 * installed as the registry serves it. Run node infra/scripts/complete-lockfile.mjs after
 * `npm install` changes the lock.
 */
describe('package-lock.json integrity', () => {
  const entries = Object.entries(lock.packages).filter(
    ([key, e]) => key !== '' && e.link !== true && e.inBundle !== true,
  );

  it('pins an integrity hash on every entry with a resolved URL', () => {
    const missing = entries.filter(([, e]) => e.resolved !== undefined && e.integrity === undefined);
    expect(missing.map(([k]) => k)).to.deep.equal([]);
  });

  it('pins one on every registry entry, except those listed as unverifiable', () => {
    const listed = new Set(unverifiable.map((u) => u.key));
    const missing = entries.filter(([key, e]) => e.integrity === undefined && !listed.has(key));
    expect(
      missing.map(([k]) => k),
      'run node infra/scripts/complete-lockfile.mjs',
    ).to.deep.equal([]);
    for (const [, e] of entries)
      if (e.integrity !== undefined) expect(e.integrity).to.match(/^sha512-[A-Za-z0-9+/]+=*$/);
  });

  it('lists as unverifiable only optional native packages of other platforms, still without a hash', () => {
    for (const u of unverifiable) {
      const e = lock.packages[u.key];
      expect(e, u.key).to.not.equal(undefined);
      expect(e!.version, u.key).to.equal(u.version);
      expect(e!.integrity, `${u.key} has a hash now: run complete-lockfile.mjs again`).to.equal(undefined);
      expect(e!.optional, u.key).to.equal(true);
      const thisPlatform = (e!.os ?? []).includes(process.platform) && (e!.cpu ?? []).includes(process.arch);
      expect(thisPlatform, `${u.key} is installed here: it must be verifiable`).to.equal(false);
    }
  });
});
