import type { z } from 'zod';

/**
 * Parses a Kafka value as JSON and validates it against a contract schema; on failure the
 * reason names the first bad field (it goes into the dead letter's headers). `fastCheck`,
 * where a contract has one, accepts the common valid message without running zod (it
 * never accepts what the schema refuses, and the schema has no transforms, so the parsed
 * value is the message).
 */
export function decodeContract<S extends z.ZodType>(
  value: Buffer | null,
  schema: S,
  fastCheck?: (json: unknown) => json is z.output<S>,
): { ok: true; message: z.output<S> } | { ok: false; reason: string } {
  if (value === null) return { ok: false, reason: 'empty message value' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, reason: 'value is not JSON' };
  }
  if (fastCheck?.(json) === true) return { ok: true, message: json };
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `schema mismatch at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`,
    };
  }
  return { ok: true, message: parsed.data };
}
