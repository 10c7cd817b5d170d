import type { z } from 'zod';
import { ValidationError } from '../errors.js';

export interface FieldError {
  /** JSON path of the bad field, e.g. `events[3].position_sec`; empty for the body itself. */
  path: string;
  code: string;
  message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function toFieldErrors(error: z.ZodError, at: readonly PropertyKey[] = []): FieldError[] {
  return error.issues.map((issue) => ({
    path: formatPath([...at, ...issue.path]),
    code: issue.code,
    message: issue.message,
  }));
}

/**
 * Parses `input` with `schema`, or throws a ValidationError listing every bad field; `at`
 * names where the input sits (a path or query parameter's name), so each field's path does.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  at: readonly PropertyKey[] = [],
): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ValidationError(`${what} is invalid`, { details: toFieldErrors(result.error, at) });
  }
  return result.data;
}
