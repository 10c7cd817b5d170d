import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  /** PEM of the CA a client must trust. */
  caFile: string;
  /** PEM leaf certificate for 127.0.0.1 and localhost, signed by the CA. */
  certFile: string;
  /** Its private key, unencrypted PKCS#8 PEM. */
  keyFile: string;
  /** Key then certificate in one file: Kafka's `ssl.keystore.type=PEM` keystore. */
  keystoreFile: string;
  /** A client certificate and key signed by the same CA (mutual TLS). */
  clientCertFile: string;
  clientKeyFile: string;
}

/**
 * A throwaway CA, and a server and a client certificate signed by it, made with openssl into
 * `dir` (tests: their temp dir; no key is ever committed). Valid two days; the server's for
 * 127.0.0.1 and localhost.
 */
export function makeTestCertificate(dir: string): TestCertificate {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const newKey = ['-newkey', 'rsa:2048', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...newKey,
    '-days',
    '2',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-subj',
    '/CN=sa-test-ca',
  );
  const issue = (name: string, cn: string, ext: string) => {
    openssl('req', ...newKey, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    const ca = ['-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial'];
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      ...ca,
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    );
  };
  issue('tls', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  issue('client', 'sa-test-client', 'extendedKeyUsage=clientAuth');
  writeFileSync(f('keystore.pem'), readFileSync(f('tls.key'), 'utf8') + readFileSync(f('tls.crt'), 'utf8'));
  return {
    caFile: f('ca.crt'),
    certFile: f('tls.crt'),
    keyFile: f('tls.key'),
    keystoreFile: f('keystore.pem'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
  };
}
