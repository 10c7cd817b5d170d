/**
 * Typed errors. Every error the system raises on purpose is an AppError: it carries the
 * HTTP status and the stable `code` the API answers with, whether a retry can fix it, and
 * its cause. The Koa error middleware maps these to the one JSON error shape; anything
 * that is not an AppError is a bug and becomes an opaque 500.
 */
export interface ErrorOptions {
  details?: unknown;
  cause?: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retriable: boolean;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, retriable: boolean, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.retriable = retriable;
    this.details = opts.details ?? null;
  }
}

/** Bad input: 400 (or the status given, e.g. 413/415). Never retriable. */
export class ValidationError extends AppError {
  constructor(message: string, opts: ErrorOptions & { code?: string; status?: number } = {}) {
    super(opts.status ?? 400, opts.code ?? 'validation_failed', message, false, opts);
  }
}

export class UnauthorizedError extends AppError {
  /** RFC 6750 error code for the WWW-Authenticate header. */
  readonly bearerError: 'invalid_request' | 'invalid_token';
  constructor(message: string, bearerError: 'invalid_request' | 'invalid_token', opts: ErrorOptions = {}) {
    super(401, 'unauthorized', message, false, opts);
    this.bearerError = bearerError;
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(403, opts.code ?? 'forbidden', message, false, opts);
  }
}

/** What was asked for existed once and is gone for good (e.g. an expired link): 410. */
export class GoneError extends AppError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(410, opts.code ?? 'gone', message, false, opts);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super(404, 'not_found', message, false, opts);
  }
}

/** The request conflicts with existing state (e.g. a key already taken): 409. */
export class ConflictError extends AppError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super(409, 'conflict', message, false, opts);
  }
}

/**
 * A dependency (Kafka, ClickHouse, PostgreSQL) is down or too slow: 503 with Retry-After. The
 * code names the dependency (`kafka_unavailable`, ...): it is also the reason the API's
 * http_requests_shed_total counts, which tells an on-call engineer where to look.
 */
export class UnavailableError extends AppError {
  readonly retryAfterSec: number;
  constructor(message: string, opts: ErrorOptions & { retryAfterSec?: number; code?: string } = {}) {
    super(503, opts.code ?? 'unavailable', message, true, opts);
    this.retryAfterSec = opts.retryAfterSec ?? 1;
  }
}

/** Bad configuration: the process refuses to start. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly value: string,
    readonly expected: string,
    /** For options wrong only in combination with others, where key=value would mislead. */
    message = `invalid config ${key}=${JSON.stringify(value)}: expected ${expected}`,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Whether retrying may help: our AppErrors say so; kafkajs errors carry `retriable`
 * (and "retries exceeded" wraps a retriable cause); socket errors of a server that is
 * down or restarting (ECONNREFUSED...) are transient by nature.
 */
export function isRetriable(err: unknown, depth = 0): boolean {
  if (err instanceof AppError) return err.retriable;
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const e = err as { retriable?: unknown; code?: unknown; name?: unknown; cause?: unknown };
  if (e.retriable === true) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSConnectionError') return true;
  return e.cause !== undefined && isRetriable(e.cause, depth + 1);
}
