import type { Server } from 'node:http';
import type { Config } from '../config/config.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { AnalystEngine } from './engine.js';
import { boundPort, createSqlHttpServer } from './server.js';

export interface SqlHttp {
  service: Service;
  /** Port after start (SQL_HTTP_PORT=0 picks a free one). */
  readonly boundPort: number;
}

/** The config the analysts' interface runs with, or why it does not run. */
export function sqlHttpPlan(config: Config): { on: true; password: string } | { on: false; why: string } {
  if (!config.sqlHttp.enabled) return { on: false, why: 'SQL_HTTP_ENABLED=false' };
  if (config.clickhouse.url !== undefined) {
    return { on: false, why: 'CLICKHOUSE_URL is set: analysts use that server’s own HTTP interface' };
  }
  if (config.sqlHttp.password === undefined) {
    return { on: false, why: 'SQL_HTTP_PASSWORD is not set (npm start generates one)' };
  }
  return { on: true, password: config.sqlHttp.password };
}

/**
 * The ClickHouse HTTP interface over the embedded engine, on its own listener in the process
 * that owns the data directory (a second process cannot open it). Started after the
 * migrations so the tables exist; stopped before the ClickHouse client closes.
 */
export function sqlHttpService(config: Config, password: string, log: Logger): SqlHttp {
  let engine: AnalystEngine | undefined;
  let server: Server | undefined;
  let port = 0;
  return {
    get boundPort() {
      return port;
    },
    service: {
      name: 'sql-http',
      start: async () => {
        engine = await AnalystEngine.open(config.clickhouse.dataDir, config.clickhouse.database, {
          maxExecutionTimeSec: config.sqlHttp.maxExecutionTimeSec,
          maxResultRows: config.sqlHttp.maxResultRows,
          maxResultBytes: config.sqlHttp.maxResultBytes,
          maxMemoryBytes: config.sqlHttp.maxMemoryBytes,
          maxThreads: config.sqlHttp.maxThreads,
          maxConcurrentQueries: config.sqlHttp.maxConcurrentQueries,
        });
        server = createSqlHttpServer({ engine, analyst: { user: config.sqlHttp.user, password }, log });
        const s = server;
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(config.sqlHttp.port, config.sqlHttp.host, () => resolve());
        });
        port = boundPort(s);
        log.info({ host: config.sqlHttp.host, port, user: config.sqlHttp.user }, 'sql_http_listening');
      },
      stop: async () => {
        if (server !== undefined) {
          const s = server;
          const closed = new Promise<void>((resolve) => s.close(() => resolve()));
          // Streams in flight are cut: their client sees an incomplete response, never a hang.
          s.closeAllConnections();
          await closed;
        }
        await engine?.killAll();
        engine?.close();
      },
    },
  };
}
