import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { HARNESS_NODE_FLAGS, ROOT } from '../src/proc.js';
import { BENCHES, renderPage, resultFiles, writeResults, type Bench } from '../src/results.js';
import { missingNodeFlags } from '../../lib/runtime/node-flags.js';

const DIR = join(ROOT, 'stress-testing');

describe('benchmark results and pages', () => {
  it('every page is the one generated from its newest results file in the tree', () => {
    for (const bench of Object.keys(BENCHES) as Bench[]) {
      const page = BENCHES[bench].page;
      if (resultFiles(DIR, bench).length === 0) {
        expect(existsSync(join(DIR, page)), `${page} without a full run`).to.equal(false);
        continue;
      }
      expect(
        readFileSync(join(DIR, page), 'utf8'),
        `${page} (node --import tsx stress-testing/src/results.ts)`,
      ).to.equal(renderPage(DIR, bench));
    }
  });

  it('keeps no two results files with the same bytes', () => {
    const files = execFileSync('git', ['ls-files', 'stress-testing/results'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '');
    const contents = files.map((f) => readFileSync(join(ROOT, f), 'utf8'));
    expect(new Set(contents).size).to.equal(files.length);
  });

  it('writes one file per run, named by its date and time; the newest sorts last', () => {
    const out = mkdtempSync(join(tmpdir(), 'sa-results-'));
    try {
      const run = { consumeMessages: 1, produceMessages: 1, rounds: 1, best: [] };
      writeResults(out, 'kafka-clients', { date: '2026-11-24T09:05:00.000Z', quick: true, ...run });
      writeResults(out, 'kafka-clients', { date: '2026-11-24T10:15:00.000Z', quick: false, ...run });
      writeResults(out, 'kafka-clients', { date: '2026-11-23T23:59:00.000Z', quick: false, ...run });
      expect(readdirSync(join(out, 'results')).sort()).to.deep.equal([
        'kafka-clients-2026-11-23T23-59.json',
        'kafka-clients-2026-11-24T09-05-quick.json',
        'kafka-clients-2026-11-24T10-15.json',
      ]);
      expect(resultFiles(out, 'kafka-clients').at(-1)).to.equal('kafka-clients-2026-11-24T10-15.json');
      expect(readFileSync(join(out, 'KAFKA-CLIENTS.md'), 'utf8')).to.contain(
        'results/kafka-clients-2026-11-24T10-15.json',
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('starts the load-driving benchmarks with the harness flags (no GC of theirs inside a window)', () => {
    const scripts = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    for (const name of ['bench:experiments', 'bench:segments', 'bench:soak']) {
      const argv = scripts[name]!.split(' ');
      expect(argv.slice(1, argv.indexOf('--import')), `npm run ${name}`).to.deep.equal(HARNESS_NODE_FLAGS);
    }
    expect(missingNodeFlags(HARNESS_NODE_FLAGS, ['--single-threaded-gc'], undefined)).to.deep.equal([
      '--no-memory-reducer',
    ]);
  });
});
