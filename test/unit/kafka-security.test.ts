import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig, redactedConfig } from '../../lib/config/config.js';
import { kafkaClientOptions } from '../../lib/kafka/client.js';
import { ConfigError } from '../../lib/errors.js';

const SCRAM = {
  KAFKA_SASL_MECHANISM: 'scram-sha-256',
  KAFKA_SASL_USERNAME: 'etl',
  KAFKA_SASL_PASSWORD: 'pw-123',
};

describe('Kafka transport security options', () => {
  it('defaults to plaintext without SASL', () => {
    expect(kafkaClientOptions(loadConfig({}), 'api').security).to.deep.equal({
      tls: undefined,
      sasl: undefined,
    });
  });

  it('gives every client the TLS files as PEM text and the SASL credentials', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sa-kafka-sec-'));
    for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, `${f}.pem`), `${f}-pem`);
    const options = kafkaClientOptions(
      loadConfig({
        ...SCRAM,
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA_FILE: join(dir, 'ca.pem'),
        KAFKA_SSL_CERT_FILE: join(dir, 'cert.pem'),
        KAFKA_SSL_KEY_FILE: join(dir, 'key.pem'),
      }),
      'etl',
    );
    expect(options.clientId).to.equal('streaming-analytics-etl');
    expect(options.security).to.deep.equal({
      tls: { ca: 'ca-pem', cert: 'cert-pem', key: 'key-pem', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-256', username: 'etl', password: 'pw-123' },
    });
  });

  it('refuses half-configured security when the config loads, naming the option', () => {
    const refused = (env: Record<string, string>, message: string) =>
      expect(() => loadConfig(env)).to.throw(ConfigError, message);
    refused({ KAFKA_SASL_MECHANISM: 'scram-sha-512' }, 'KAFKA_SASL_USERNAME');
    refused({ ...SCRAM, KAFKA_SASL_PASSWORD: '' }, 'KAFKA_SASL_PASSWORD');
    refused({ ...SCRAM, KAFKA_SASL_MECHANISM: 'none' }, 'KAFKA_SASL_MECHANISM="none"');
    refused({ ...SCRAM, KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SSL=true with plain');
    refused(
      { KAFKA_SSL_CA_FILE: '/ca.pem' },
      'KAFKA_SSL_CA_FILE="/ca.pem": expected not set, since KAFKA_SSL=false',
    );
    refused({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: '/c.pem' }, 'KAFKA_SSL_KEY_FILE');
    refused({ KAFKA_SASL_MECHANISM: 'gssapi' }, 'one of none, plain, scram-sha-256, scram-sha-512');
    expect(() => loadConfig({ ...SCRAM, KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain' })).to.not.throw();
  });

  it('names an unreadable PEM file when the client options are built', () => {
    const config = loadConfig({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' });
    expect(() => kafkaClientOptions(config, 'api')).to.throw(ConfigError, 'KAFKA_SSL_CA_FILE');
  });

  it('never logs the SASL password', () => {
    const shown = JSON.stringify(redactedConfig(loadConfig(SCRAM)));
    expect(shown).to.not.contain('pw-123');
    expect(shown).to.contain('"saslUsername":"etl"');
  });
});
