import { resolve } from 'node:path';
import type { ChdbQueryStream, Session as ChdbSession } from 'chdb';
import { chError, ClickHouseHttpError, fromEngineError } from './errors.js';

export interface AnalystLimits {
  maxExecutionTimeSec: number;
  maxResultRows: number;
  maxResultBytes: number;
  maxMemoryBytes: number;
  maxThreads: number;
  maxConcurrentQueries: number;
}

/** A result as it comes from the engine, chunk by chunk; cancel() frees the connection early. */
export interface ResultChunks {
  chunks: AsyncIterator<Uint8Array>;
  cancel(): void;
}

/** One read-only connection; a stream holds it until it ends (one stream per chdb session). */
export interface Lease {
  /** The engine's own parse and print of the query: one statement, no comments. */
  normalize(sql: string): Promise<string>;
  /** The connection's value of a setting as text (UNKNOWN_SETTING if there is none). */
  setting(name: string): Promise<string>;
  stream(
    sql: string,
    opts: { database: string; format: string; signal: AbortSignal; params: Record<string, string> },
  ): Promise<ResultChunks>;
  release(): void;
}

/**
 * Read-only connections to the embedded engine this process already owns. chdb lets several
 * connections share the bound data directory in one process, each with its own settings, so
 * every analyst connection is opened with readonly=1 and the limits as connection arguments:
 * the engine itself refuses writes, DDL, table functions that reach files, URLs, other hosts
 * or processes, and any attempt to change a setting (SET, SETTINGS, readonly back to 0).
 * The pool size is the concurrency bound: a query that finds no free connection is refused
 * at once with TOO_MANY_SIMULTANEOUS_QUERIES rather than queued.
 */
export class AnalystEngine {
  readonly #free: Lease[] = [];
  readonly #sessions: ChdbSession[] = [];
  readonly #limits: AnalystLimits;
  timezone = 'UTC';
  version = '';

  private constructor(limits: AnalystLimits) {
    this.#limits = limits;
  }

  static async open(dataDir: string, database: string, limits: AnalystLimits): Promise<AnalystEngine> {
    const { Session } = await import('chdb');
    const engine = new AnalystEngine(limits);
    const args = [
      '--readonly=1',
      `--max_execution_time=${limits.maxExecutionTimeSec}`,
      `--max_result_rows=${limits.maxResultRows}`,
      `--max_result_bytes=${limits.maxResultBytes}`,
      '--result_overflow_mode=throw',
      `--max_memory_usage=${limits.maxMemoryBytes}`,
      `--max_threads=${limits.maxThreads}`,
      // What clickhouse-server answers by default (chdb does not): JSON clients expect it.
      '--output_format_json_quote_64bit_integers=1',
      // chdb turns async inserts on; the server's default is off, and JDBC sends async_insert=0.
      '--async_insert=0',
    ];
    for (let i = 0; i < limits.maxConcurrentQueries; i++) {
      const session = new Session(resolve(dataDir), { connectionArgs: args });
      engine.#sessions.push(session);
      engine.#free.push(engine.#lease(session, database));
    }
    const info = await engine.#sessions[0]!.queryAsync('SELECT timezone(), version()', { format: 'TSV' });
    [engine.timezone, engine.version] = info.text().trim().split('\t') as [string, string];
    return engine;
  }

  readonly #settings = new Map<string, string>();

  #lease(session: ChdbSession, defaultDatabase: string): Lease {
    let currentDb: string | undefined;
    const lease: Lease = {
      setting: async (name) => {
        // Every connection has the same arguments and readonly=1 freezes them: one read each.
        const known = this.#settings.get(name);
        if (known !== undefined) return known;
        try {
          const r = await session.queryBindAsync(
            'SELECT toString(getSetting({n:String}))',
            { n: name },
            {
              format: 'TSVRaw',
            },
          );
          const value = r.text().replace(/\n$/, '');
          this.#settings.set(name, value);
          return value;
        } catch (err) {
          throw fromEngineError(err);
        }
      },
      normalize: async (sql) => {
        try {
          const r = await session.queryBindAsync(
            'SELECT formatQuerySingleLine({q:String})',
            { q: sql },
            {
              format: 'JSONCompactEachRow',
            },
          );
          return (JSON.parse(r.text().trim()) as [string])[0];
        } catch (err) {
          // The text the parser produced is about the wrapper query: keep the parser's own words.
          throw unwrapParseError(fromEngineError(err));
        }
      },
      stream: async (sql, { database, format, signal, params }) => {
        const db = database || defaultDatabase;
        if (db !== currentDb) {
          await session.queryAsync(`USE ${quoteIdent(db)}`).catch((err: unknown) => {
            throw fromEngineError(err);
          });
          currentDb = db;
        }
        let stream: ChdbQueryStream;
        try {
          stream =
            Object.keys(params).length > 0
              ? session.queryStreamBind(sql, params, { format, signal })
              : session.queryStream(sql, { format, signal });
        } catch (err) {
          // SHOW, DESCRIBE, EXISTS and EXPLAIN cannot stream in chdb; their results are small.
          if (!/Streaming query is not supported/.test(String((err as Error).message))) throw err;
          const r =
            Object.keys(params).length > 0
              ? await session.queryBindAsync(sql, params, { format, signal })
              : await session.queryAsync(sql, { format, signal });
          return { chunks: once(r.bytes()), cancel: () => {} };
        }
        return { chunks: bytesOf(stream), cancel: () => stream.cancel() };
      },
      release: () => {
        this.#free.push(lease);
      },
    };
    return lease;
  }

  get limits(): AnalystLimits {
    return this.#limits;
  }

  /** A free connection, or TOO_MANY_SIMULTANEOUS_QUERIES. */
  acquire(): Lease {
    const lease = this.#free.pop();
    if (lease === undefined) {
      throw chError(
        'TOO_MANY_SIMULTANEOUS_QUERIES',
        `Too many simultaneous queries. Maximum: ${this.#limits.maxConcurrentQueries}`,
      );
    }
    return lease;
  }

  close(): void {
    for (const s of this.#sessions) s.close();
    this.#sessions.length = 0;
    this.#free.length = 0;
  }
}

function once(bytes: Uint8Array): AsyncIterator<Uint8Array> {
  let done = false;
  return {
    next: () => {
      const r = done ? { done: true as const, value: undefined } : { done: false as const, value: bytes };
      done = true;
      return Promise.resolve(r);
    },
  };
}

async function* bytesOf(stream: ChdbQueryStream): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) yield chunk.raw();
}

function quoteIdent(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** "Code: 62. DB::Exception: Syntax error ...: In scope SELECT formatQuerySingleLine(...)" → the syntax error alone. */
function unwrapParseError(err: ClickHouseHttpError): ClickHouseHttpError {
  const inScope = err.message.indexOf(': In scope SELECT formatQuerySingleLine');
  if (inScope < 0) return err;
  return new ClickHouseHttpError(
    err.code,
    err.codeName,
    `${err.message.slice(0, inScope).replace(/[.\s]+$/, '')}. (${err.codeName})`,
  );
}
