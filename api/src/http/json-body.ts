import { pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Context } from 'koa';
import { ValidationError } from '../../../lib/errors.js';
import { checkJsonShape } from './json-shape.js';

/**
 * Deepest JSON a body may nest. Far beyond any contract (an event's `properties` may nest
 * EVENT_PROPERTIES_MAX_DEPTH ≤ 64 levels inside a 3-level envelope); it exists so that no
 * recursive validator ever sees a body deep enough to exhaust the stack.
 */
export const BODY_MAX_DEPTH = 100;

// fatal: invalid UTF-8 is refused, never replaced with U+FFFD behind the client's back.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Where a body already read (by a guard that took its token from it) waits for the handler. */
const READ_BODY = Symbol('readBody');

export interface BodyOptions {
  /**
   * Also accept `text/plain` holding the same JSON: what `navigator.sendBeacon` sends, and a
   * CORS "simple request" a browser sends without a preflight.
   */
  textPlain?: boolean;
}

const INFLATERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * Reads a JSON request body with a hard byte limit, on the inflated size when the body is
 * compressed (gzip, deflate, br): checked against the declared length first, counted while
 * reading and while inflating, so neither a large upload nor a small one that inflates to
 * gigabytes is ever held in memory. Errors are ValidationErrors with the HTTP status to
 * answer (400/413/415).
 */
export async function readJsonBody(
  ctx: Context,
  limitBytes: number,
  opts: BodyOptions = {},
): Promise<unknown> {
  const state = ctx.state as { [READ_BODY]?: unknown };
  if (READ_BODY in state) return state[READ_BODY];
  const json = ctx.is('application/json') !== false;
  if (!json && !(opts.textPlain === true && ctx.is('text/plain') !== false)) {
    throw new ValidationError(
      opts.textPlain === true
        ? 'Content-Type must be application/json or text/plain'
        : 'Content-Type must be application/json',
      { status: 415, code: 'unsupported_media_type' },
    );
  }
  const text = await readBodyText(ctx, limitBytes);
  if (text.trim() === '') throw new ValidationError('request body is empty', { code: 'invalid_json' });
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`, {
      code: 'invalid_json',
    });
  }
  const problem = checkJsonShape(body, BODY_MAX_DEPTH);
  if (problem !== null) {
    throw new ValidationError(`request body is invalid: ${problem.path || 'body'} ${problem.message}`, {
      details: [problem],
    });
  }
  return body;
}

/** Hands a body already read to the handler's readJsonBody. */
export function keepReadBody(ctx: Context, body: unknown): void {
  (ctx.state as { [READ_BODY]?: unknown })[READ_BODY] = body;
}

function inflated(ctx: Context): AsyncIterable<Buffer> {
  const encoding = ctx.get('Content-Encoding').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return ctx.req as AsyncIterable<Buffer>;
  const inflater = INFLATERS[encoding];
  if (inflater === undefined) {
    throw new ValidationError(`Content-Encoding ${encoding} is not supported (gzip, deflate or br)`, {
      status: 415,
      code: 'unsupported_media_type',
    });
  }
  const stream = inflater();
  stream.once('error', (err) => INFLATE_ERRORS.add(err));
  // pipeline tears both streams down when the reader stops early (limit) or either fails.
  return pipeline(ctx.req as Readable, stream, () => undefined);
}

/** Errors raised by an inflater: the body was not what its Content-Encoding said (a 400). */
const INFLATE_ERRORS = new WeakSet<Error>();

/** The body as UTF-8 text, refused with 413 past `limitBytes` (declared, read, or inflated). */
export async function readBodyText(ctx: Context, limitBytes: number): Promise<string> {
  const declared = Number(ctx.get('Content-Length') || '0');
  if (declared > limitBytes) throw tooLarge(limitBytes);

  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of inflated(ctx)) {
      size += chunk.length;
      if (size > limitBytes) {
        // Stop reading; the client is told and the connection is not reused.
        ctx.set('Connection', 'close');
        throw tooLarge(limitBytes);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    if (INFLATE_ERRORS.has(err as Error)) {
      throw new ValidationError(`request body is not valid ${ctx.get('Content-Encoding')} data`, {
        code: 'invalid_encoding',
      });
    }
    throw err;
  }
  try {
    return UTF8.decode(Buffer.concat(chunks, size));
  } catch {
    throw new ValidationError('request body is not valid UTF-8', { code: 'invalid_encoding' });
  }
}

function tooLarge(limitBytes: number): ValidationError {
  return new ValidationError(`request body exceeds ${limitBytes} bytes`, {
    status: 413,
    code: 'payload_too_large',
  });
}
