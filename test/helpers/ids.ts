import { randomBytes, randomUUID } from 'node:crypto';

/** Random names so tests never share topics, groups or databases (clickhouse-js guid()). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export { randomUUID };
