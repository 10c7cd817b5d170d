import type { Context } from 'koa';

/**
 * How many times the request carried a header, by its lower-case name. Node keeps only the
 * first of most single-valued headers (Content-Type, Authorization): a second one, which a
 * proxy or another parser may read instead, is otherwise never seen.
 */
export function headerCount(ctx: Context, lowerName: string): number {
  const raw = ctx.req.rawHeaders;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]!.length === lowerName.length && raw[i]!.toLowerCase() === lowerName) n++;
  return n;
}
