import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { createBrotliCompress, createDeflate, createGzip } from 'node:zlib';
import type { Logger } from '../log.js';
import { INFLATERS } from '../net/inflaters.js';
import { authenticate, AuthError, credentialsOf, type Credentials } from './auth.js';
import type { AnalystEngine, Lease } from './engine.js';
import { chError, ClickHouseHttpError, fromEngineError, httpStatusFor } from './errors.js';
import { assertJoinable, blockJoiner } from './block-join.js';
import { contentTypeOf } from './formats.js';
import { asksForTotals, assertReadingStatement, formatClause, substituteCurrentUser } from './statement.js';

/** ClickHouse's default max_query_size: a longer query is refused, never buffered. */
const MAX_QUERY_BYTES = 262_144;
const SERVED_METHODS = new Set(['GET', 'HEAD', 'POST', 'OPTIONS']);

/** URL parameters that are part of the HTTP protocol, not engine settings. */
const PROTOCOL_PARAMS = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'user',
  'password',
  'quota_key',
  'session_id',
  'session_timeout',
  'session_check',
  'compress',
  'decompress',
  'buffer_size',
  'wait_end_of_query',
  'enable_http_compression',
  'http_zlib_compression_level',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'cancel_http_readonly_queries_on_client_close',
  'client_protocol_version',
]);

export interface SqlHttpOptions {
  engine: AnalystEngine;
  analyst: Credentials;
  log: Logger;
}

export function createSqlHttpServer(opts: SqlHttpOptions): Server {
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      opts.log.error({ err }, 'sql_http_unhandled');
      if (!res.headersSent) sendError(res, fromEngineError(err));
      else res.destroy();
    });
  });
  // A streamed result may run as long as max_execution_time allows.
  server.requestTimeout = 0;
  return server;
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: SqlHttpOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const params = url.searchParams;
  const queryId = params.get('query_id') || randomUUID();
  res.setHeader('X-ClickHouse-Server-Display-Name', 'streaming-analytics-embedded');
  res.setHeader('X-ClickHouse-Timezone', opts.engine.timezone);
  if (!SERVED_METHODS.has(req.method ?? '')) {
    // A PUT or DELETE is no query: answering "Ok." would tell the client it ran.
    res.writeHead(405, { 'Content-Type': 'text/plain; charset=UTF-8', Allow: 'GET, HEAD, POST' });
    res.end(
      `Code: 1. DB::Exception: HTTP method ${req.method} is not supported: use GET or POST. (UNSUPPORTED_METHOD)\n`,
    );
    return;
  }
  if (url.pathname === '/ping' || (url.pathname === '/' && req.method !== 'POST' && !params.has('query'))) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' }).end('Ok.\n');
    return;
  }
  if (url.pathname !== '/') {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' });
    res.end(`There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`);
    return;
  }
  res.setHeader('X-ClickHouse-Query-Id', queryId);
  const started = process.hrtime.bigint();
  // A client that goes away cancels its query, at any point: before it starts, while the
  // engine computes a chunk (killed in the engine), or between chunks.
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  let lease: Lease | undefined;
  let user = '';
  try {
    refuseRepeatedParams(params);
    user = authenticate(credentialsOf(req, params), opts.analyst);
    refuseNativeCompression(params);
    const sql = await querySql(req, params);
    lease = opts.engine.acquire();
    const bind = await checkSettings(params, lease);
    const normalized = await lease.normalize(sql);
    assertReadingStatement(normalized);
    const format =
      formatClause(normalized) ??
      (params.get('default_format') || header(req, 'x-clickhouse-format') || 'TabSeparated');
    assertJoinable(format, asksForTotals(normalized));
    await streamResult(req, res, lease, {
      sql: substituteCurrentUser(normalized, user),
      database: params.get('database') || header(req, 'x-clickhouse-database') || '',
      format,
      params: bind,
      queryId,
      started,
      signal: abort.signal,
    });
    opts.log.info({ query_id: queryId, user, ms: msSince(started) }, 'sql_query');
  } catch (err) {
    const e = fromEngineError(err);
    if (abort.signal.aborted) {
      opts.log.info({ query_id: queryId, user, ms: msSince(started) }, 'sql_query_cancelled');
      return;
    }
    opts.log.info({ query_id: queryId, user, code: e.code, ms: msSince(started) }, 'sql_query_failed');
    if (!res.headersSent) sendError(res, e);
    else {
      // Mid-stream: the status is gone; write the exception as the server does, then cut the
      // connection so the client cannot mistake a partial result for a whole one.
      res.write(`\n${e.text}\n`, () => res.destroy());
    }
  } finally {
    lease?.release();
  }
}

/** A parameter given twice (two queries, two databases) is refused, never one picked. */
function refuseRepeatedParams(params: URLSearchParams): void {
  for (const key of new Set(params.keys())) {
    if (params.getAll(key).length > 1) {
      throw chError('BAD_ARGUMENTS', `URL parameter '${key}' is given more than once`);
    }
  }
}

async function querySql(req: IncomingMessage, params: URLSearchParams): Promise<string> {
  const parts: string[] = [];
  const inUrl = params.get('query');
  if (inUrl) parts.push(inUrl);
  if (req.method === 'POST') {
    const chunks: Buffer[] = [];
    let size = Buffer.byteLength(inUrl ?? '');
    // Counted as inflated: a small compressed body cannot become a huge query.
    try {
      for await (const chunk of requestBody(req)) {
        size += chunk.length;
        if (size > MAX_QUERY_BYTES) {
          throw chError('QUERY_IS_TOO_LARGE', `Max query size exceeded: ${size} > ${MAX_QUERY_BYTES} bytes`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      const zlib = (err as { code?: unknown }).code;
      if (typeof zlib === 'string' && zlib.startsWith('Z_'))
        throw chError('CANNOT_DECOMPRESS', `Cannot decompress the request body: ${(err as Error).message}`);
      throw err;
    }
    const body = Buffer.concat(chunks).toString('utf8');
    if (body.trim() !== '') parts.push(body);
  }
  const sql = parts.join('\n');
  if (sql.trim() === '') throw chError('SYNTAX_ERROR', 'Empty query');
  return sql;
}

/**
 * The request body as sent, inflated when its Content-Encoding says so (what
 * `@clickhouse/client` sends with `compression: { request: true }`, as clickhouse-server
 * reads it); another encoding is refused rather than read as SQL.
 */
function requestBody(req: IncomingMessage): AsyncIterable<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  if (encoding === '' || encoding === 'identity') return req;
  const inflate = INFLATERS[encoding];
  if (inflate === undefined) {
    throw new ClickHouseHttpError(
      779,
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding ${encoding.slice(0, 32)} is not supported: send gzip, deflate, br or none`,
    );
  }
  const out = inflate();
  req.on('error', (err) => out.destroy(err));
  out.on('error', () => req.resume());
  return req.pipe(out) as AsyncIterable<Buffer>;
}

/**
 * Query parameters (param_*) are bound by the engine. Any other URL parameter is a setting,
 * and the analyst's connection is readonly=1: like clickhouse-server for a readonly user, a
 * setting is refused unless it asks for the value the connection already has (drivers send
 * some on every request, e.g. JDBC's async_insert=0).
 */
async function checkSettings(params: URLSearchParams, lease: Lease): Promise<Record<string, string>> {
  const bind: Record<string, string> = {};
  for (const [key, value] of params) {
    if (key.startsWith('param_')) bind[key.slice(6)] = value;
    else if (PROTOCOL_PARAMS.has(key)) continue;
    else if (!sameSettingValue(await lease.setting(key), value)) {
      throw chError('READONLY', `Cannot modify '${key}' setting in readonly mode`);
    }
  }
  return bind;
}

function sameSettingValue(current: string, given: string): boolean {
  const norm = (v: string) => {
    const t = v.trim().toLowerCase();
    return t === 'true' ? '1' : t === 'false' ? '0' : t;
  };
  const a = norm(current);
  const b = norm(given);
  return a === b || (a !== '' && b !== '' && Number.isFinite(Number(a)) && Number(a) === Number(b));
}

async function streamResult(
  req: IncomingMessage,
  res: ServerResponse,
  lease: Lease,
  q: {
    sql: string;
    database: string;
    format: string;
    params: Record<string, string>;
    queryId: string;
    started: bigint;
    signal: AbortSignal;
  },
): Promise<void> {
  const result = await lease.stream(q.sql, q);
  const chunks = result.chunks;
  const joiner = blockJoiner(q.format);
  try {
    // Wait for the first chunk before the status line: an error found by then (most are:
    // analysis, limits, unknown tables) still gets its own status code. A format served for
    // one block only waits for the end too, so a result it cannot serve gets its 400.
    let next = await chunks.next();
    let pending: Uint8Array[] = [];
    if (joiner.oneBlock) {
      while (next.done !== true) {
        pending.push(joiner.block(next.value));
        next = await chunks.next();
      }
    }
    const encoding = responseEncoding(req);
    res.writeHead(200, {
      'Content-Type': contentTypeOf(q.format),
      'X-ClickHouse-Format': q.format,
      'X-ClickHouse-Summary': JSON.stringify({
        read_rows: '0',
        read_bytes: '0',
        written_rows: '0',
        written_bytes: '0',
        total_rows_to_read: '0',
        result_rows: '0',
        result_bytes: '0',
        elapsed_ns: String(process.hrtime.bigint() - q.started),
      }),
      ...(encoding === undefined ? {} : { 'Content-Encoding': encoding, Vary: 'Accept-Encoding' }),
    });
    const out: Writable = encoding === undefined ? res : compressor(encoding, res);
    const send = async (bytes: Uint8Array) => {
      if (bytes.length > 0 && !out.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)))
        await drainedOrClosed(out, res);
    };
    for (const bytes of pending) await send(bytes);
    pending = [];
    while (next.done !== true) {
      // The client may have gone while the engine computed this chunk: its 'close' has
      // fired already and would never fire again for a wait below.
      if (q.signal.aborted || res.destroyed) return;
      await send(joiner.block(next.value));
      if (q.signal.aborted || res.destroyed) return;
      next = await chunks.next();
    }
    await send(joiner.end());
    out.end();
    // The compressor flushes its tail after end(); the connection is done at finish or close.
    if (out !== res && !res.writableFinished) await finishedOrClosed(res);
  } finally {
    result.cancel();
  }
}

function finishedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
}

/** Backpressure: wait until the client takes more, or goes away (listeners removed either way). */
function drainedOrClosed(out: Writable, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || out.destroyed) {
      resolve();
      return;
    }
    const done = () => {
      out.off('drain', done);
      res.off('close', done);
      resolve();
    };
    out.on('drain', done);
    res.on('close', done);
  });
}

function compressor(encoding: string, res: ServerResponse): Writable {
  const z = encoding === 'gzip' ? createGzip() : encoding === 'br' ? createBrotliCompress() : createDeflate();
  z.pipe(res);
  return z;
}

/** Compressed only when asked twice, as on the server: enable_http_compression=1 and Accept-Encoding. */
function responseEncoding(req: IncomingMessage): string | undefined {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.searchParams.get('enable_http_compression') !== '1') return undefined;
  const accepted = String(req.headers['accept-encoding'] ?? '')
    .split(',')
    .map((s) => s.trim().split(';')[0]!.toLowerCase());
  return ['gzip', 'br', 'deflate'].find((e) => accepted.includes(e));
}

function sendError(res: ServerResponse, e: ClickHouseHttpError): void {
  const status =
    e instanceof AuthError && e.noCredentials ? 401 : (e.status ?? httpStatusFor(e.code, e.message));
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=UTF-8',
    'X-ClickHouse-Exception-Code': String(e.code),
    ...(status === 401 ? { 'WWW-Authenticate': 'Basic realm="ClickHouse", charset="UTF-8"' } : {}),
    // Busy: as the API's 503s, when to try again.
    ...(status === 503 ? { 'Retry-After': '1' } : {}),
  });
  res.end(`${e.text}\n`);
}

/**
 * compress=1 / decompress=1 ask for ClickHouse's own block framing (LZ4 blocks with CityHash
 * checksums), which this endpoint does not produce: refuse it clearly rather than answer
 * bytes the client would take for a corrupt stream.
 */
function refuseNativeCompression(params: URLSearchParams): void {
  if (params.get('compress') === '1' || params.get('decompress') === '1') {
    throw new ClickHouseHttpError(
      48,
      'NOT_IMPLEMENTED',
      "compress=1 (ClickHouse's native LZ4 block compression) is not served by the embedded engine's SQL endpoint: turn the client's compression off (JDBC: compress=false; @clickhouse/client: compression: { response: false, request: false }), or ask for HTTP compression (enable_http_compression=1 with Accept-Encoding)",
      501,
    );
  }
}

/** A request header the server also reads (X-ClickHouse-Format, X-ClickHouse-Database). */
function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function msSince(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1_000_000n);
}
