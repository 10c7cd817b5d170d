/**
 * URLs may carry a password (postgres://app:pw@db/..., http://user:pw@clickhouse:8123,
 * user:pw@broker:9092). Anything that prints a configured URL (the config_loaded log line,
 * the `npm start` banner, a fatal error) goes through this first: the user stays, the
 * password becomes ***.
 */
const WITH_SCHEME = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)[^\s/?#]*@/gi;
// host:port lists (KAFKA_BROKERS) have no scheme; userinfo then starts the value or follows a comma.
const BARE = /(^|[\s,])([^\s:/?#@,]+:)[^\s/?#,]*@/g;

export function maskUrlCredentials(text: string): string {
  return text.replace(WITH_SCHEME, '$1***@').replace(BARE, '$1$2***@');
}

/** A config value with every URL's password masked (strings, and lists of strings). */
export function maskConfigValue(value: unknown): unknown {
  if (typeof value === 'string') return maskUrlCredentials(value);
  if (Array.isArray(value)) return value.map(maskConfigValue);
  return value;
}
