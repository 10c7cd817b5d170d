import pino, { type Logger } from 'pino';
import { logContext } from './log-context.js';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear. Tokens and secrets must never reach logs;
 * a test greps captured log output for them.
 */
export const REDACT_PATHS = [
  'authorization',
  'token',
  'password',
  'secret',
  '*.authorization',
  '*.token',
  '*.password',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
];

export interface LogOptions {
  level: string;
  pretty: boolean;
  name: string;
}

export function createLogger(opts: LogOptions, destination?: pino.DestinationStream): Logger {
  const base: pino.LoggerOptions = {
    name: opts.name,
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: logContext,
  };
  if (opts.pretty && destination === undefined) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return destination === undefined ? pino(base) : pino(base, destination);
}
