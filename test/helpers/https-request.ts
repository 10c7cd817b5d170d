import { request } from 'node:https';
import { connect, type ConnectionOptions } from 'node:tls';

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request trusting `ca` (fetch cannot be given a CA without an undici agent). */
export function httpsRequest(
  url: string,
  init: { ca: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, ca: init.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A bare TLS handshake: the protocol the server agreed to, or the error that refused it. */
export function tlsHandshake(
  port: number,
  opts: ConnectionOptions,
): Promise<{ protocol: string | null } | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...opts }, () => {
      const protocol = socket.getProtocol();
      socket.destroy();
      resolve({ protocol });
    });
    socket.once('error', (error) => resolve({ error }));
  });
}
