import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { registerNativeInsert } from './raw-insert.js';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../config/config.js';

export type { ClickHouseClient };

export interface ClickHouseOptions {
  /** HTTP endpoint of a server; undefined selects the embedded engine. */
  url: string | undefined;
  user: string;
  password: string | undefined;
  dataDir: string;
  requestTimeoutMs: number;
}

/** The one place config becomes client options (user and password included). */
export function clickHouseOptions(config: Config): ClickHouseOptions {
  return {
    url: config.clickhouse.url,
    user: config.clickhouse.user,
    password: config.clickhouse.password,
    dataDir: config.clickhouse.dataDir,
    requestTimeoutMs: config.clickhouse.requestTimeoutMs,
  };
}

export function isEmbedded(opts: Pick<ClickHouseOptions, 'url'>): boolean {
  return opts.url === undefined;
}

/**
 * One client API for both modes: @clickhouse/client talks HTTP to a server, or, with no
 * URL, runs on chdb's in-process engine through the client's `connection` hook. Callers
 * never know which. NOTE: chdb binds one data directory per process (engine singleton),
 * so in embedded mode api and etl must share a process (the standalone mode).
 */
export async function createClickHouse(opts: ClickHouseOptions): Promise<ClickHouseClient> {
  if (opts.url !== undefined) {
    return createClient({
      url: opts.url,
      username: opts.user,
      password: opts.password ?? '',
      request_timeout: opts.requestTimeoutMs,
      compression: { request: false, response: false },
      // Failures surface as rejected promises that our callers log with context.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }
  const path = resolve(opts.dataDir);
  mkdirSync(path, { recursive: true });
  // Loaded lazily: server-mode processes never map the 500 MB engine library.
  const { createChdbConnection } = await import('chdb/connection');
  const connection = createChdbConnection({ path });
  const client = createClient({ connection: connection as never });
  registerNativeInsert(client, (params) => connection.chdb.rawInsert(params));
  return client;
}
