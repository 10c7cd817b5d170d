// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../lib/apm/start.js';
import { warnOnMissingApiNodeFlags } from '../lib/runtime/node-flags.js';
import { runShape } from './compose.js';

/** api + etl in one process against configured Kafka/ClickHouse (embedded by default). */
runShape('standalone', (base) => warnOnMissingApiNodeFlags(base.log));
