import type { Config } from '../config/config.js';
import { devSqlPassword } from '../runtime/dev-secret.js';

/** Where `npm start`'s SQL endpoint answers on this machine, and as whom to connect. */
export interface AnalystEndpoint {
  url: string;
  user: string;
  password: string;
}

/**
 * The analysts' SQL endpoint as a client on this machine reaches it: SQL_URL when set (the
 * banner prints it when the endpoint moved to a free port), else SQL_HTTP_HOST/PORT; the
 * password is SQL_HTTP_PASSWORD or the one `npm start` generated.
 */
export function analystEndpoint(config: Config, env: NodeJS.ProcessEnv = process.env): AnalystEndpoint {
  const host = config.sqlHttp.host === '0.0.0.0' ? '127.0.0.1' : config.sqlHttp.host;
  return {
    url: env.SQL_URL ?? `http://${host}:${config.sqlHttp.port}`,
    user: config.sqlHttp.user,
    password: config.sqlHttp.password ?? devSqlPassword(config.local.dataDir),
  };
}

/** The display name the endpoint answers with (server.ts), telling it from any other ClickHouse. */
export const ENDPOINT_DISPLAY_NAME = 'streaming-analytics-embedded';

/** Whether our SQL endpoint answers at `url` (a ping, bounded: nothing listening is the common case). */
export async function endpointAnswers(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(new URL('/ping', url), { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok && res.headers.get('x-clickhouse-server-display-name') === ENDPOINT_DISPLAY_NAME;
  } catch {
    return false;
  }
}
