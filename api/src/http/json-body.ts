import type { Context } from 'koa';
import { ValidationError } from '../../../lib/errors.js';

/**
 * Reads a JSON request body with a hard byte limit. Checks the declared length first so an
 * oversize upload is refused before it is read; counts bytes while reading for chunked
 * bodies. Errors are ValidationErrors with the HTTP status to answer (400/413/415).
 */
export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  if (!ctx.is('application/json')) {
    throw new ValidationError('Content-Type must be application/json', {
      status: 415,
      code: 'unsupported_media_type',
    });
  }
  const encoding = ctx.get('Content-Encoding');
  if (encoding !== '' && encoding.toLowerCase() !== 'identity') {
    throw new ValidationError(`Content-Encoding ${encoding} is not supported`, {
      status: 415,
      code: 'unsupported_media_type',
    });
  }
  const text = await readBodyText(ctx, limitBytes);
  if (text.trim() === '') throw new ValidationError('request body is empty', { code: 'invalid_json' });
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`, {
      code: 'invalid_json',
    });
  }
}

/** The body as UTF-8 text, refused with 413 past `limitBytes` (declared or counted while reading). */
export async function readBodyText(ctx: Context, limitBytes: number): Promise<string> {
  const declared = Number(ctx.get('Content-Length') || '0');
  if (declared > limitBytes) throw tooLarge(limitBytes);

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) {
      // Stop reading; the client is told and the connection is not reused.
      ctx.set('Connection', 'close');
      throw tooLarge(limitBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function tooLarge(limitBytes: number): ValidationError {
  return new ValidationError(`request body exceeds ${limitBytes} bytes`, {
    status: 413,
    code: 'payload_too_large',
  });
}
