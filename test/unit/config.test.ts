import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { loadConfig, OPTIONS, redactedConfig } from '../../lib/config/config.js';
import { renderConfigDoc } from '../../lib/config/doc.js';
import { ConfigError } from '../../lib/errors.js';

describe('config', () => {
  it('has a working default for every option', () => {
    const config = loadConfig({});
    expect(config.http.port).to.equal(8080);
    expect(config.kafka.brokers).to.deep.equal(['127.0.0.1:9092']);
    expect(config.clickhouse.url).to.equal(undefined);
    expect(config.http.corsAllowedOrigins).to.deep.equal([]);
  });

  it('parses typed values from the environment', () => {
    const config = loadConfig({
      PORT: '3000',
      KAFKA_BROKERS: 'a:1, b:2',
      LOG_PRETTY: 'yes',
      CORS_ALLOWED_ORIGINS: '*',
    });
    expect(config.http.port).to.equal(3000);
    expect(config.process.logPretty).to.equal(true);
    expect(config.kafka.brokers).to.deep.equal(['a:1', 'b:2']);
    expect(config.http.corsAllowedOrigins).to.deep.equal(['*']);
  });

  it('fails fast naming the key, the bad value and what was expected', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).to.throw(
      ConfigError,
      'invalid config PORT="eighty": expected an integer between 0 and 65535',
    );
    expect(() => loadConfig({ ETL_BATCH_MAX_ROWS: '0' })).to.throw(ConfigError, 'ETL_BATCH_MAX_ROWS');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).to.throw(ConfigError, 'one of fatal, error');
    expect(() => loadConfig({ CLICKHOUSE_URL: 'not a url' })).to.throw(ConfigError, 'an absolute URL');
    expect(() => loadConfig({ LOG_PRETTY: 'maybe' })).to.throw(ConfigError, 'true or false');
  });

  it('redacts secrets for logging', () => {
    const shown = redactedConfig(loadConfig({ JWT_SECRET: 's3cr3t-value', CLICKHOUSE_PASSWORD: 'pw' }));
    expect(shown.auth!.secret).to.equal('[redacted]');
    expect(shown.clickhouse!.password).to.equal('[redacted]');
    expect(JSON.stringify(shown)).not.to.contain('s3cr3t-value');
  });

  it('documents every option with its default in docs/configuration.md (npm run config:doc)', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).to.equal(renderConfigDoc());
    for (const option of Object.values(OPTIONS).flatMap((s) => Object.values(s)))
      expect(doc).to.contain(`\`${option.key}\``);
  });
});
