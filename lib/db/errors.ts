import { AppError, isRetriable, UnavailableError } from '../errors.js';

// Server-side conditions a retry later can fix: statement timeout, shutdown/crash
// recovery, too many connections, serialization and deadlock (transaction rolled back).
const TRANSIENT_SQLSTATES = new Set([
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '40001',
  '40P01',
  '08000',
  '08003',
  '08006',
]);

/**
 * Maps a pg failure to what the API answers: an outage or timeout becomes a fast 503
 * (UnavailableError); anything else stays as it is (a bug: opaque 500).
 */
export function toDbError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const transient =
    (typeof e.code === 'string' && TRANSIENT_SQLSTATES.has(e.code)) ||
    isRetriable(err) ||
    (typeof e.message === 'string' &&
      /timeout|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error/i.test(
        e.message,
      ));
  return transient
    ? new UnavailableError('database unavailable', {
        cause: err,
        retryAfterSec: 1,
        code: 'postgres_unavailable',
      })
    : err;
}

/** Runs a database call, turning outages into UnavailableError. */
export async function db<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toDbError(err);
  }
}

/** A unique constraint refused the row (SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23505';
}
