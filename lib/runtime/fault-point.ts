/**
 * TEST-ONLY crash points. When SA_FAULT_POINT names one of these, the process SIGKILLs
 * itself the first time it gets there: the crash lands exactly in the window a test means
 * to pin (test/integration/etl-fault-points.test.ts), not wherever a kill from outside
 * happens to fall. Unset (always, outside those tests) every point is a no-op. Not a
 * configuration option: nothing in production sets it, so docs/configuration.md leaves it out.
 */
export const FAULT_POINTS = [
  /** The ETL's ClickHouse insert returned; its offsets are not committed yet. */
  'etl-after-insert',
  /** The ETL committed a block's offsets (with its dead letters, if any). */
  'etl-after-commit',
  /** Dead letters sent inside their transaction; offsets and commit not yet. */
  'dlq-mid-transaction',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

// Read once, at load: a point cannot be armed or disarmed while the process runs.
const armed = process.env.SA_FAULT_POINT;
if (armed !== undefined && armed !== '' && !(FAULT_POINTS as readonly string[]).includes(armed)) {
  throw new Error(`SA_FAULT_POINT=${armed}: expected one of ${FAULT_POINTS.join(', ')}`);
}

export function faultPoint(point: FaultPoint): void {
  if (armed === point) process.kill(process.pid, 'SIGKILL');
}
