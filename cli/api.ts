// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../lib/apm/start.js';
import { ConfigError } from '../lib/errors.js';
import { warnOnMissingApiNodeFlags } from '../lib/runtime/node-flags.js';
import { runShape } from './compose.js';

/** API process: HTTP → Kafka, resume reads from a ClickHouse server. */
runShape('api', (base) => {
  warnOnMissingApiNodeFlags(base.log);
  if (base.config.clickhouse.url === undefined) {
    // chdb binds its data directory to one process; the ETL must share it.
    throw new ConfigError(
      'CLICKHOUSE_URL',
      '',
      'a ClickHouse server URL (or run the standalone mode: npm start)',
    );
  }
});
