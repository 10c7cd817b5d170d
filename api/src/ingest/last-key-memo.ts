/**
 * Wraps a key-hashing partitioner so a run of messages with one key hashes it once. A batch
 * request is one viewer's events, all keyed by that viewer, and murmur2 over the same key per
 * message showed high in the batch path's CPU profile. The answer depends on the key alone
 * (the client maps it onto the partition count afterwards), so reuse is exact.
 */
export function lastKeyMemo<M extends { key?: unknown }, A extends unknown[]>(
  partitioner: (message: M, ...rest: A) => number,
): (message: M, ...rest: A) => number {
  let lastKey: unknown;
  let last = 0;
  return (message, ...rest) => {
    if (typeof message.key === 'string' && message.key === lastKey) return last;
    last = partitioner(message, ...rest);
    lastKey = message.key;
    return last;
  };
}
