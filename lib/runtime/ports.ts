import { createServer } from 'node:net';

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/**
 * A base port P such that P..P+count-1 and P+100..P+100+count-1 (more blocks with `offsets`,
 * e.g. a broker's TLS listeners) are all free.
 * NOTE: drawn from 20000-31999, below Linux's ephemeral range (32768+): there an outgoing
 * client connection can take a port between this check and the broker's bind (the fault
 * suite saw a broker fail to start that way).
 */
export async function findFreePortBlock(count: number, offsets = [0, 100]): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (11800 - Math.max(...offsets)));
    const ports = Array.from({ length: count }, (_, i) => offsets.map((o) => base + o + i)).flat();
    const free = await Promise.all(ports.map((p) => isPortFree(p)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free port block found');
}

/**
 * A free port for a server that binds it later (a child process, nginx, clickhouse-server).
 * Drawn like findFreePortBlock, below the ephemeral range: a port the kernel hands out for
 * port 0 comes from that range, where an outgoing connection can take it between this check
 * and the server's bind. A server in this process should listen on port 0 and read its port.
 */
export function findFreePort(): Promise<number> {
  return findFreePortBlock(1, [0]);
}
