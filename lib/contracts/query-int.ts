import { z } from 'zod';

/**
 * A whole number in a query string, written the one plain way (`20`): `z.coerce` would also
 * read `0x14`, `2e1`, `+20` or `020` as 20, and a signed link's `expires` spelt another way
 * would still pass its signature, so any other spelling is refused.
 */
export function queryInt(min: number, max: number) {
  return z
    .string()
    .regex(/^(0|[1-9]\d{0,15})$/, { message: 'must be a whole number in decimal digits' })
    .transform(Number)
    .pipe(z.int().min(min).max(max))
    .meta({ description: `a whole number from ${min} to ${max}, in decimal digits` });
}
