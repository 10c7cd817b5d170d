import { buildApi } from '../../api/src/build-api.js';
import { buildEtl } from '../../etl/src/build-etl.js';
import { createPostgres } from '../db/postgres-services.js';
import { allTopicSpecs } from '../kafka/topic-specs.js';
import type { Service } from '../lifecycle.js';
import type { ProcessBase } from './process.js';
import { sqlHttpPlan, sqlHttpService, type SqlHttp } from '../sql-http/service.js';
import { clickhouseService, migrationsStep, topicsStep } from './services.js';

/**
 * api + etl in one process: the embedded engine (chdb) binds its data directory to one
 * process, so this is how both share it. Stop order (reverse): HTTP stops accepting, the
 * consumer finishes its batch and commits, the producer flushes, ClickHouse closes.
 */
export function standaloneServices(base: ProcessBase): {
  services: Service[];
  api: ReturnType<typeof buildApi>;
  /** The analysts' SQL endpoint, when it runs (embedded engine with a password). */
  sql: SqlHttp | undefined;
} {
  const { config, log, kafka, clickhouse, metrics } = base;
  const postgres = createPostgres(config, 'standalone', log);
  const api = buildApi(config, { kafka, clickhouse, log, metrics, pool: postgres.pool });
  const etl = buildEtl(config, { kafka, clickhouse, log, metrics });
  const services: Service[] = [
    clickhouseService(clickhouse),
    migrationsStep(clickhouse, config, log),
    ...postgres.services,
    topicsStep(kafka, allTopicSpecs(config)),
    ...etl.services,
    ...api.services,
  ];
  const plan = sqlHttpPlan(config);
  const sql = plan.on ? sqlHttpService(config, plan.password, log) : undefined;
  if (sql !== undefined) services.push(sql.service);
  else log.info({ reason: plan.on ? undefined : plan.why }, 'sql_http_off');
  return { services, api, sql };
}
