// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../lib/apm/start.js';
import { runShape } from './compose.js';

/**
 * ETL process: Kafka → ClickHouse. Without CLICKHOUSE_URL it writes to the embedded engine's
 * data directory, which then belongs to this process alone (use the standalone mode to
 * serve reads from it too).
 */
runShape('etl');
