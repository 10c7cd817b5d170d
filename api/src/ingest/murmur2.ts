/**
 * The Java client's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) in 32-bit integer
 * arithmetic. @platformatic/kafka computes it with BigInt: every step allocates, and under
 * experiment traffic (two exposures per request, keyed by device) it was the largest single
 * source of garbage in the API, which feeds the major GCs of ADR 0006. Same answers: the unit
 * test checks it against both clients' implementations and Kafka's own test vectors.
 */
const SEED = 0x9747b28c | 0;
const M = 0x5bd1e995;

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const whole = length & ~3;
  let h = SEED ^ length;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition the Java client's default partitioner picks for a serialised key, before
 * the modulo: murmur2 made positive. Keyless messages go to 0, as compatibilityPartitioner does.
 */
export function javaCompatiblePartition(_message: unknown, key: unknown): number {
  return Buffer.isBuffer(key) ? murmur2(key) & 0x7fffffff : 0;
}
