/**
 * The control server of the read benches: bare node:http on its own process, answering
 * every request at once with a small fixed JSON body (no framework, no I/O). Loaded at a
 * low rate in the same windows as the API, its tail is the machine's own: the stalls any
 * process on these cores sees (the hypervisor, the kernel's loopback path, neighbours),
 * so a window the API misses can be told apart from one the machine missed.
 * PORT: where it listens on 127.0.0.1.
 */
import { createServer } from 'node:http';

const BODY = '[{"button_color":"#FF0000"},{"price":10}]';

const server = createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(BODY);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
