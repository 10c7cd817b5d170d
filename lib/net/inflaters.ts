import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * The request Content-Encodings both HTTP servers (the API's JSON bodies, the analysts' SQL
 * endpoint) inflate, by lower-case name; any other is refused by the caller.
 */
export const INFLATERS: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};
