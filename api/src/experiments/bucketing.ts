import { createHash } from 'node:crypto';

const TWO_POW_52 = 2 ** 52;

/**
 * A uniform number in [0, 1) for (experiment seed, device): the first 52 bits of
 * SHA-256. Deterministic (same device, same experiment → same bucket on every replica and
 * after restarts, no lock or counter), and independent across experiments because each
 * has its own seed.
 */
export function bucketOf(seed: string, deviceToken: string): number {
  const digest = createHash('sha256').update(seed).update('\0').update(deviceToken).digest();
  // 52 bits: 6 bytes + the top 4 bits of the 7th, exact in a double.
  const hi = digest.readUIntBE(0, 6);
  const lo = digest[6]! >>> 4;
  return (hi * 16 + lo) / TWO_POW_52;
}

/** Index of the option whose cumulative-weight interval holds `u` (u in [0, 1)). */
export function pickOption(weights: readonly number[], u: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  if (weights.length === 0 || !(total > 0)) throw new RangeError('weights must be positive');
  const target = u * total;
  let cumulative = 0;
  for (let i = 0; i < weights.length; i++) {
    cumulative += weights[i]!;
    if (target < cumulative) return i;
  }
  // Rounding at the top end: the last option owns the remainder.
  return weights.length - 1;
}

/** Each weight as a share of the total. */
export function sharesOf(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}
