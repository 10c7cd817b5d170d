import { randomUUID } from 'node:crypto';
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
  /** `signal`: the client went away; the query is killed in the engine, even mid-chunk. */
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
 *
 * A client that goes away has its query killed: chdb has no interrupt for a running call
 * (an AbortSignal only stops it between result chunks, and a GROUP BY computes its first
 * chunk at the end), but the engine keeps a process list, so KILL QUERY from one more
 * connection cancels it mid-computation and the connection is free again.
 */
export class AnalystEngine {
  readonly #free: Lease[] = [];
  readonly #sessions: ChdbSession[] = [];
  readonly #limits: AnalystLimits;
  /** The connection that runs KILL QUERY (readonly=1 lets it through), never leased. */
  #control: ChdbSession | undefined;
  #kills: Promise<void> = Promise.resolve();
  /** Names this engine's queries in the process list (tests run several engines in one process). */
  readonly #id = randomUUID();
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
      // The server's default (chdb's is on): no symbolising addresses of this process's code.
      '--allow_introspection_functions=0',
    ];
    for (let i = 0; i < limits.maxConcurrentQueries; i++) {
      const session = new Session(resolve(dataDir), { connectionArgs: args });
      engine.#sessions.push(session);
      engine.#free.push(engine.#lease(session, database));
    }
    engine.#control = new Session(resolve(dataDir), { connectionArgs: args });
    engine.#sessions.push(engine.#control);
    const info = await engine.#sessions[0]!.queryAsync('SELECT timezone(), version()', { format: 'TSV' });
    [engine.timezone, engine.version] = info.text().trim().split('\t') as [string, string];
    return engine;
  }

  readonly #settings = new Map<string, string>();

  #lease(session: ChdbSession, defaultDatabase: string): Lease {
    let currentDb: string | undefined;
    let streamFailed = false;
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
        if (signal.aborted) throw chError('QUERY_WAS_CANCELLED', 'Query was cancelled');
        // What KILL QUERY finds this query by in the engine's process list (query text as sent).
        const marker = `/* sql-http ${this.#id} ${randomUUID()} */`;
        const text = `${marker} ${sql}`;
        let stream: ChdbQueryStream;
        try {
          stream =
            Object.keys(params).length > 0
              ? session.queryStreamBind(text, params, { format, signal })
              : session.queryStream(text, { format, signal });
        } catch (err) {
          // SHOW, DESCRIBE, EXISTS and EXPLAIN cannot stream in chdb; their results are small.
          if (!/Streaming query is not supported/.test(String((err as Error).message))) throw err;
          const r =
            Object.keys(params).length > 0
              ? await session.queryBindAsync(sql, params, { format, signal })
              : await session.queryAsync(sql, { format, signal });
          return { chunks: once(r.bytes()), cancel: () => {} };
        }
        const kill = () => this.#kill(marker);
        signal.addEventListener('abort', kill, { once: true });
        return {
          chunks: bytesOf(stream, () => (streamFailed = true)),
          cancel: () => {
            signal.removeEventListener('abort', kill);
            stream.cancel();
          },
        };
      },
      release: () => {
        if (!streamFailed) {
          this.#free.push(lease);
          return;
        }
        // TRICKY: chdb's stream marks itself closed when a fetch fails (killed, timed out, any
        // error) and never cancels its native query, which stays in system.processes until the
        // connection's next query retires it (chdb-io/chdb-core#215): run one before the
        // connection goes back.
        streamFailed = false;
        const back = () => void this.#free.push(lease);
        session.queryAsync('SELECT 1').then(back, back);
      },
    };
    return lease;
  }

  /**
   * Kills the running queries whose text starts with `marker`. ASYNC: SYNC waits until the query
   * leaves the process list, which on chdb happens only at its connection's next query (see
   * release). One at a time: one statement per connection. A failed kill leaves
   * max_execution_time as the bound.
   */
  #kill(marker: string): void {
    const control = this.#control;
    if (control === undefined) return;
    this.#kills = this.#kills
      .then(() => control.queryAsync(`KILL QUERY WHERE startsWith(query, '${marker}') ASYNC`))
      .then(
        () => undefined,
        () => undefined,
      );
  }

  /**
   * Kills every query of this engine still running (a stop cuts their connections, and a
   * connection closes only once its query has ended): resolves once the kill has run.
   */
  killAll(): Promise<void> {
    this.#kill(`/* sql-http ${this.#id} `);
    return this.#kills;
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
    this.#control = undefined;
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

async function* bytesOf(stream: ChdbQueryStream, onError: () => void): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk.raw();
  } catch (err) {
    onError();
    throw err;
  }
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
