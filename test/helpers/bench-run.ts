import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { uniqueName } from './ids.js';
import { ROOT } from './processes.js';
import { testEnv } from './test-env.js';

const exec = promisify(execFile);

/** `npm run <script> -- --quick` into a directory of its own; the one results file it wrote, parsed. */
export async function quickRun(script: string) {
  const out = join(testEnv().workDir, uniqueName(script.replace(':', '_')));
  await exec('npm', ['run', '-s', script, '--', '--quick', '--out', out], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = readdirSync(join(out, 'results'));
  expect(files).to.have.length(1);
  expect(files[0]).to.match(/^(|[a-z-]+-)\d{4}-\d\d-\d\dT\d\d-\d\d-quick\.json$/);
  return JSON.parse(readFileSync(join(out, 'results', files[0]!), 'utf8'));
}
