import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { signalChild } from '../../lib/runtime/signal-child.js';

// A child that ignores SIGTERM (the disposition survives exec), as a hung graceful stop does.
// It says so once the trap is in place; resolves then.
const deaf = async () => {
  const child = spawn('bash', ['-c', 'trap "" TERM; echo ignoring; exec sleep 30'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return child;
};
const started = (p: ReturnType<typeof spawn>) => new Promise((resolve) => p.once('spawn', resolve));

describe('signalChild', () => {
  it('waits for a child that stops on the signal, without escalating', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await started(child);
    await signalChild(child, 'SIGTERM', 5_000);
    expect(child.signalCode).to.equal('SIGTERM');
  });

  it('sends SIGKILL to a child still running after killAfterMs', async () => {
    const child = await deaf();
    await signalChild(child, 'SIGTERM', 300);
    expect(child.signalCode).to.equal('SIGKILL');
  });

  it('returns at once for a child that already exited', async () => {
    const child = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => child.once('exit', r));
    await signalChild(child, 'SIGTERM');
    expect(child.exitCode).to.equal(0);
  });
});
