import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { expect } from 'chai';
import { findFreePort, findFreePortBlock } from '../../lib/runtime/ports.js';

/** The kernel's ephemeral range (where port 0 and outgoing connections take ports from). */
function ephemeralRange(): [number, number] {
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
  return [Number(low), Number(high)];
}

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

describe('ports for servers bound later (no race with outgoing connections)', () => {
  it('findFreePort and findFreePortBlock hand out bindable ports below the ephemeral range', async () => {
    const [low] = ephemeralRange();
    for (let i = 0; i < 20; i++) {
      const port = await findFreePort();
      expect(port, `port ${port}, ephemeral from ${low}`).to.be.below(low);
      expect(await bindable(port)).to.equal(true);
    }
    const base = await findFreePortBlock(2, [0, 100]);
    for (const port of [base, base + 1, base + 100, base + 101]) expect(port).to.be.below(low);
  });
});
