import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { API_NODE_FLAGS, missingNodeFlags, warnOnMissingApiNodeFlags } from '../../lib/runtime/node-flags.js';

const ROOT = join(import.meta.dirname, '../..');

/** The node flags of a launcher's command line: what comes between `node` and `--import`. */
function flagsBeforeImport(argv: readonly string[]): string[] {
  const node = argv.indexOf('node');
  const end = argv.indexOf('--import');
  expect(node, `node in ${argv.join(' ')}`).to.be.at.least(0);
  expect(end, `--import in ${argv.join(' ')}`).to.be.greaterThan(node);
  return argv.slice(node + 1, end);
}

/** package.json's npm scripts, by name. */
function packageScripts(): Record<string, string> {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
}

const ALL = ['--max-semi-space-size', '--heap-growing-percent', '--no-memory-reducer', '--v8-pool-size'];

describe('API node flags', () => {
  it('finds every flag missing from a bare command line', () => {
    expect(missingNodeFlags(API_NODE_FLAGS, [], undefined)).to.deep.equal(ALL);
  });

  it('takes the flags from the command line or NODE_OPTIONS, with any value and either spelling', () => {
    expect(missingNodeFlags(API_NODE_FLAGS, [...API_NODE_FLAGS], undefined)).to.deep.equal([]);
    expect(missingNodeFlags(API_NODE_FLAGS, [], ` ${API_NODE_FLAGS.join('   ')} `)).to.deep.equal([]);
    // A replica with more cores was given a bigger pool on purpose: not missing.
    expect(
      missingNodeFlags(
        API_NODE_FLAGS,
        ['--v8-pool-size=3', '--heap-growing-percent=50'],
        '--max_semi_space_size=32 --no_memory_reducer',
      ),
    ).to.deep.equal([]);
    expect(missingNodeFlags(API_NODE_FLAGS, ['--import', 'tsx'], '--max-old-space-size=512')).to.deep.equal(
      ALL,
    );
    expect(missingNodeFlags(API_NODE_FLAGS, ['--v8-pool-size=1'], undefined)).to.deep.equal([
      '--max-semi-space-size',
      '--heap-growing-percent',
      '--no-memory-reducer',
    ]);
  });

  it('sees the flags a real node process was started with', () => {
    const probe = `import('${join(ROOT, 'lib/runtime/node-flags.ts')}').then((m) => console.log(JSON.stringify(m.missingNodeFlags(m.API_NODE_FLAGS, process.execArgv, process.env.NODE_OPTIONS))))`;
    const run = (flags: readonly string[]) =>
      JSON.parse(
        execFileSync(process.execPath, [...flags, '--import', 'tsx', '-e', probe], {
          cwd: ROOT,
          env: { ...process.env, NODE_OPTIONS: '' },
          encoding: 'utf8',
        }),
      ) as string[];
    expect(run(API_NODE_FLAGS)).to.deep.equal([]);
    expect(run([])).to.deep.equal(ALL);
  });

  it('logs the missing flags at startup, and nothing when all are there', () => {
    const lines: unknown[][] = [];
    const log = { warn: (...args: unknown[]) => void lines.push(args) };
    warnOnMissingApiNodeFlags(log as never, ['--import', 'tsx'], '--v8-pool-size=2');
    expect(lines).to.deep.equal([
      [
        {
          missing: ['--max-semi-space-size', '--heap-growing-percent', '--no-memory-reducer'],
          expected: API_NODE_FLAGS,
        },
        'api_node_flags_missing',
      ],
    ]);
    warnOnMissingApiNodeFlags(log as never, [...API_NODE_FLAGS], undefined);
    expect(lines).to.have.length(1);
  });

  it('is what every launcher of the API starts node with', () => {
    const scripts = packageScripts();
    for (const name of ['start', 'start:api', 'start:standalone']) {
      expect(flagsBeforeImport(scripts[name]!.split(' ')), `npm run ${name}`).to.deep.equal(API_NODE_FLAGS);
    }
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'infra/docker/app.Dockerfile'), 'utf8'));
    expect(cmd, 'the image has a CMD').to.not.equal(null);
    expect(flagsBeforeImport(JSON.parse(cmd![1]!) as string[]), 'image CMD').to.deep.equal(API_NODE_FLAGS);
  });
});
