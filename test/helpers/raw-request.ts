import { request as httpRequest, type Agent } from 'node:http';

export interface RawAnswer {
  status: number;
  body: string;
}

function hasHeader(headers: Record<string, unknown> | undefined, name: string): boolean {
  return Object.keys(headers ?? {}).some((k) => k.toLowerCase() === name);
}

/** One HTTP request with the path sent byte for byte (fetch would normalise dot segments). */
export function rawRequest(
  url: string,
  init: {
    method?: string;
    path: string;
    token?: string;
    /** JSON-encoded unless it is a Buffer, which is sent byte for byte. */
    body?: unknown;
    /** An array value sends that header once per element. */
    headers?: Record<string, string | string[]>;
    /** The client's source address (any 127.x.y.z): a client of its own to per-address limits. */
    localAddress?: string;
    /** Default: node's global agent (kept-alive connections, reused between requests). */
    agent?: Agent;
  },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const method = init.method ?? 'GET';
  const payload =
    init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        localAddress: init.localAddress,
        agent: init.agent,
        method,
        path: init.path,
        headers: {
          // JSON by default; a header the caller names (any letter case) wins.
          ...(payload === undefined || hasHeader(init.headers, 'content-type')
            ? {}
            : { 'Content-Type': 'application/json' }),
          ...(init.token === undefined ? {} : { Authorization: `Bearer ${init.token}` }),
          ...init.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
