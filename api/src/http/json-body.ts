import type { Readable, Transform } from 'node:stream';
import type { Context } from 'koa';
import { ValidationError } from '../../../lib/errors.js';
import { INFLATERS } from '../../../lib/net/inflaters.js';
import { headerCount } from './header-count.js';
import { checkJsonShape } from './json-shape.js';
import { checkJsonText } from './json-text.js';

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
  requireOneUtf8ContentType(ctx);
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
  const problem = checkJsonShape(body, BODY_MAX_DEPTH) ?? checkJsonText(text);
  if (problem !== null) {
    throw new ValidationError(`request body is invalid: ${problem.path || 'body'} ${problem.message}`, {
      details: [problem],
    });
  }
  return body;
}

/**
 * 400 for two Content-Type headers (Node reads the first, a proxy may have judged the other);
 * 415 for a body declared in a charset other than UTF-8: it would be read as UTF-8, and its
 * text changed from what the client meant (JSON is UTF-8 by RFC 8259; our forms too).
 */
export function requireOneUtf8ContentType(ctx: Context): void {
  if (headerCount(ctx, 'content-type') > 1)
    throw new ValidationError('send one Content-Type header, not several', { code: 'duplicate_header' });
  // Every `charset=` in the header, read leniently: a strict parser gives up on a header it
  // cannot parse (a trailing `;`, a list) and reports no charset, while the type still matches.
  for (const [, quoted, bare] of ctx.get('Content-Type').matchAll(CHARSET)) {
    const charset = (quoted ?? bare ?? '').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') {
      throw new ValidationError(`charset ${charset.slice(0, 32)} is not supported: send UTF-8`, {
        status: 415,
        code: 'unsupported_media_type',
      });
    }
  }
}

const CHARSET = /[;,\s]charset\s*=\s*(?:"([^"]*)"|([^;,\s]*))/gi;

/** Hands a body already read to the handler's readJsonBody. */
export function keepReadBody(ctx: Context, body: unknown): void {
  (ctx.state as { [READ_BODY]?: unknown })[READ_BODY] = body;
}

/** The decoder for the body's Content-Encoding, undefined for none; 415 for one we don't take. */
function inflaterFor(ctx: Context): Transform | undefined {
  const encoding = ctx.get('Content-Encoding').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return undefined;
  const inflater = INFLATERS[encoding];
  if (inflater === undefined) {
    throw new ValidationError(`Content-Encoding ${encoding} is not supported (gzip, deflate or br)`, {
      status: 415,
      code: 'unsupported_media_type',
    });
  }
  return inflater();
}

/** The body as UTF-8 text, refused with 413 past `limitBytes` (declared, read, or inflated). */
export async function readBodyText(ctx: Context, limitBytes: number): Promise<string> {
  const declared = Number(ctx.get('Content-Length') || '0');
  if (declared > limitBytes) {
    // Answered before the body is read: the connection is not reused, or the rest of the
    // body would be read as the next request (or time out into a second answer).
    ctx.set('Connection', 'close');
    throw tooLarge(limitBytes);
  }
  const req = ctx.req;
  const inflater = inflaterFor(ctx);
  if (inflater !== undefined) req.pipe(inflater);
  let body: Buffer;
  try {
    body = await collect(req, inflater ?? req, limitBytes);
  } catch (err) {
    // The request stops being read part-way. It is never destroyed: that would reset the
    // socket under the answer, or under the client's next request on a kept-alive
    // connection. The rest is read and dropped, and the connection is not reused.
    ctx.set('Connection', 'close');
    if (inflater !== undefined) {
      req.unpipe(inflater);
      inflater.destroy();
    }
    req.resume();
    if (err === INFLATE_FAILED) {
      throw new ValidationError(`request body is not valid ${ctx.get('Content-Encoding')} data`, {
        code: 'invalid_encoding',
      });
    }
    if (err instanceof ValidationError) throw err;
    // The client stopped sending (went away, or was cut off at HTTP_REQUEST_TIMEOUT_MS): its
    // fault, logged and counted as a 4xx, never as the server's 5xx.
    throw new ValidationError('request body ended before it was complete', {
      code: 'incomplete_body',
      cause: err,
    });
  }
  try {
    return UTF8.decode(body);
  } catch {
    throw new ValidationError('request body is not valid UTF-8', { code: 'invalid_encoding' });
  }
}

/** Marks an inflater's error: the body was not what its Content-Encoding said (a 400). */
const INFLATE_FAILED = new Error('inflate failed');

/** Reads `source` (the request, or its inflater) to its end, at most `limitBytes`; 413 past it. */
function collect(
  req: Readable & { complete: boolean },
  source: Readable,
  limitBytes: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error): void => {
      source.off('data', onData).off('end', onEnd).off('error', onError);
      req.off('close', onClose);
      if (err === undefined) resolve(Buffer.concat(chunks, size));
      else reject(err);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) done(tooLarge(limitBytes));
      else chunks.push(chunk);
    };
    const onEnd = (): void => done();
    const onError = (err: Error): void => done(source === req ? err : INFLATE_FAILED);
    // A client that goes away mid-body: nothing to answer, but the handler must not wait.
    const onClose = (): void => {
      if (!req.complete) done(new Error('request closed before its body ended'));
    };
    source.on('data', onData).once('end', onEnd).once('error', onError);
    req.once('close', onClose);
  });
}

function tooLarge(limitBytes: number): ValidationError {
  return new ValidationError(`request body exceeds ${limitBytes} bytes`, {
    status: 413,
    code: 'payload_too_large',
  });
}
