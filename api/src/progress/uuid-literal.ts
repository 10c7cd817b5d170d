import { isUuidShape } from '../../../lib/contracts/fast-checks.js';

/**
 * A UUID as a SQL literal, for hot point reads that must not use query parameters: the
 * embedded engine (chdb) runs parameterised queries one at a time process-wide (its
 * parameter state is not isolated per connection), while literal queries run in parallel.
 * Safe by construction: only hex digits and dashes in the 8-4-4-4-12 shape pass; anything
 * else throws before it can reach SQL text.
 */
export function uuidLiteral(value: string): string {
  if (!isUuidShape(value)) throw new TypeError('not a UUID; refusing to inline it into SQL');
  return `toUUID('${value.toLowerCase()}')`;
}
