import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.js';
import { ConfigError } from '../errors.js';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** Node TLS options every Kafka client takes as they are (kafkajs `ssl`, @platformatic/kafka `tls`). */
export interface KafkaTls {
  /** PEM text, not a path: the files are read once, at startup. */
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

/** One member per mechanism, as the clients' own option types are written. */
export type KafkaSasl = {
  [M in SaslMechanism]: { mechanism: M; username: string; password: string };
}[SaslMechanism];

/** How every Kafka client of a process reaches the brokers. undefined parts: plaintext, no SASL. */
export interface KafkaSecurity {
  tls: KafkaTls | undefined;
  sasl: KafkaSasl | undefined;
}

type SecurityConfig = Config['kafka'];

/**
 * Rules between the options, checked when the config loads: a half-configured client would
 * otherwise fail later, at its first connection, with a broker error that names no option.
 */
export function checkKafkaSecurity(c: SecurityConfig): void {
  const mechanism = c.saslMechanism;
  if (mechanism === 'none') {
    if (c.saslUsername !== undefined || c.saslPassword !== undefined)
      throw new ConfigError('KAFKA_SASL_MECHANISM', 'none', 'a mechanism, since SASL credentials are set');
  } else {
    if (c.saslUsername === undefined)
      throw new ConfigError('KAFKA_SASL_USERNAME', '', `a user, since KAFKA_SASL_MECHANISM=${mechanism}`);
    if (c.saslPassword === undefined)
      throw new ConfigError('KAFKA_SASL_PASSWORD', '', `a password, since KAFKA_SASL_MECHANISM=${mechanism}`);
    if (mechanism === 'plain' && !c.ssl)
      throw new ConfigError(
        'KAFKA_SASL_MECHANISM',
        mechanism,
        'KAFKA_SSL=true with plain (it sends the password itself), or a scram mechanism',
      );
  }
  const files = {
    KAFKA_SSL_CA_FILE: c.sslCaFile,
    KAFKA_SSL_CERT_FILE: c.sslCertFile,
    KAFKA_SSL_KEY_FILE: c.sslKeyFile,
  };
  for (const [key, path] of Object.entries(files)) {
    if (path !== undefined && !c.ssl) throw new ConfigError(key, path, 'not set, since KAFKA_SSL=false');
  }
  if ((c.sslCertFile === undefined) !== (c.sslKeyFile === undefined))
    throw new ConfigError(
      c.sslCertFile === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE',
      '',
      'set together with the other of KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    );
}

function readPem(key: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(key, path, 'a readable PEM file');
  }
}

/** The security settings of every Kafka client, with the PEM files read. */
export function kafkaSecurity(c: SecurityConfig): KafkaSecurity {
  checkKafkaSecurity(c);
  const tls: KafkaTls | undefined = c.ssl
    ? {
        ca: readPem('KAFKA_SSL_CA_FILE', c.sslCaFile),
        cert: readPem('KAFKA_SSL_CERT_FILE', c.sslCertFile),
        key: readPem('KAFKA_SSL_KEY_FILE', c.sslKeyFile),
        rejectUnauthorized: c.sslRejectUnauthorized,
      }
    : undefined;
  const sasl: KafkaSasl | undefined =
    c.saslMechanism === 'none'
      ? undefined
      : {
          mechanism: c.saslMechanism,
          username: c.saslUsername ?? '',
          password: c.saslPassword ?? '',
        };
  return { tls, sasl };
}

/** No TLS, no SASL: the local and test brokers' PLAINTEXT listener. */
export const PLAINTEXT: KafkaSecurity = Object.freeze({ tls: undefined, sasl: undefined });
