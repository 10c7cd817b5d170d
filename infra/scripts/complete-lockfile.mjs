// Keeps package-lock.json complete and verifiable. Run after `npm install` changes it:
//   node infra/scripts/complete-lockfile.mjs
// 1. Adds lock entries for chdb's optional platform packages that npm leaves out when this
//    machine's registry does not carry them (`npm ci` then refuses the lock file as out of
//    sync). Each entry names its os/cpu, so npm skips it on other platforms.
// 2. Gives every registry entry without one its `integrity` (the registry's dist.integrity,
//    by `npm view`; versions are never changed), so `npm ci` checks what it downloads
//    against a hash pinned here and not against whatever the registry answers that day.
// An entry the registry cannot give a hash for is listed in lockfile-unverifiable.json;
// test/unit/lockfile-integrity.test.ts fails on any entry without integrity not listed
// there, and on a listed one that has it (run this script again to refresh the list).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const LOCK = 'package-lock.json';
const UNVERIFIABLE = 'infra/scripts/lockfile-unverifiable.json';
const PLATFORMS = {
  '@chdb/lib-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  '@chdb/lib-darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  '@chdb/lib-linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  '@chdb/lib-linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
};

/** The package name of a lock key (node_modules/a/node_modules/@s/b -> @s/b). */
export function packageName(key) {
  return key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** Entries npm downloads from a registry: not the root, not links, not bundled. */
export function isRegistryEntry(key, entry) {
  return key !== '' && entry.link !== true && entry.inBundle !== true && typeof entry.version === 'string';
}

function registryIntegrity(name, version) {
  try {
    const out = execFileSync('npm', ['view', `${name}@${version}`, 'dist.integrity', '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const value = JSON.parse(out);
    return typeof value === 'string' && value.startsWith('sha') ? value : undefined;
  } catch {
    return undefined; // not on this registry (e.g. another platform's native package)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
  const chdb = lock.packages['node_modules/chdb'];
  let added = 0;
  for (const [name, version] of Object.entries(chdb?.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] !== undefined || PLATFORMS[name] === undefined) continue;
    lock.packages[key] = { version, license: 'Apache-2.0', optional: true, ...PLATFORMS[name] };
    added++;
  }
  let hashed = 0;
  const unverifiable = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!isRegistryEntry(key, entry) || entry.integrity !== undefined) continue;
    const integrity = registryIntegrity(packageName(key), entry.version);
    if (integrity === undefined) {
      unverifiable.push({
        key,
        version: entry.version,
        reason: 'not on the registry reachable when the lock was completed',
      });
      continue;
    }
    // Same key order as npm writes (version, resolved, integrity, ...).
    const { version, resolved, ...rest } = entry;
    lock.packages[key] = { version, ...(resolved === undefined ? {} : { resolved }), integrity, ...rest };
    hashed++;
  }
  lock.packages = Object.fromEntries(
    Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
  );
  writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
  writeFileSync(UNVERIFIABLE, `${JSON.stringify(unverifiable, null, 2)}\n`);
  console.log(
    `complete-lockfile: added ${added} optional platform entries, pinned ${hashed} integrity hashes; ` +
      `${unverifiable.length} the registry cannot verify (${UNVERIFIABLE})`,
  );
}
