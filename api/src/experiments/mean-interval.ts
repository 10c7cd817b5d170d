/** A sample mean with its two-sided 95% confidence interval (Student t). */
export interface MeanInterval {
  n: number;
  mean: number | null;
  low: number | null;
  high: number | null;
}

// t(0.975, df) for df = 1..30; beyond, the Cornish–Fisher expansion is within 1e-3.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  if (df < 1) throw new RangeError('df must be ≥ 1');
  if (df <= 30) return T975[Math.floor(df) - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

/**
 * From n, the mean and the sample variance (as ClickHouse's avg and varSamp give them).
 * With fewer than 2 values there is no interval.
 */
export function meanInterval(n: number, mean: number, sampleVariance: number): MeanInterval {
  if (n === 0) return { n, mean: null, low: null, high: null };
  if (n < 2 || !Number.isFinite(sampleVariance)) return { n, mean, low: null, high: null };
  const half = tQuantile975(n - 1) * Math.sqrt(Math.max(0, sampleVariance) / n);
  return { n, mean, low: mean - half, high: mean + half };
}
