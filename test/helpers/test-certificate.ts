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
}

/**
 * A throwaway CA and a server certificate signed by it, made with openssl into `dir` (tests:
 * their temp dir; no key is ever committed). Valid two days, for 127.0.0.1 and localhost.
 */
export function makeTestCertificate(dir: string): TestCertificate {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const key = ['-newkey', 'rsa:2048', '-nodes', '-days', '2'];
  openssl('req', '-x509', ...key, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-subj', '/CN=sa-test-ca');
  openssl('req', ...key.slice(0, 3), '-keyout', f('tls.key'), '-out', f('tls.csr'), '-subj', '/CN=localhost');
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    f('tls.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
    '-out',
    f('tls.crt'),
  );
  writeFileSync(f('keystore.pem'), readFileSync(f('tls.key'), 'utf8') + readFileSync(f('tls.crt'), 'utf8'));
  return {
    caFile: f('ca.crt'),
    certFile: f('tls.crt'),
    keyFile: f('tls.key'),
    keystoreFile: f('keystore.pem'),
  };
}
