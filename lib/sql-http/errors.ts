/**
 * Errors of the analysts' SQL interface in ClickHouse's own shape: the numeric code, the
 * name and the `Code: N. DB::Exception: ...` text clients parse (X-ClickHouse-Exception-Code
 * and the body), with the HTTP status clickhouse-server gives that code.
 */
export class ClickHouseHttpError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    /** This endpoint's own status where the code's would mislead (the engine never sets it). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClickHouseHttpError';
  }

  /** The body line a client shows: what clickhouse-server writes for the same error. */
  get text(): string {
    return this.message.startsWith('Code: ')
      ? this.message
      : `Code: ${this.code}. DB::Exception: ${this.message}. (${this.codeName})`;
  }
}

export const CODES = {
  SYNTAX_ERROR: 62,
  READONLY: 164,
  TOO_MANY_SIMULTANEOUS_QUERIES: 202,
  AUTHENTICATION_FAILED: 516,
  UNKNOWN_TYPE_OF_QUERY: 78,
  QUERY_IS_TOO_LARGE: 229,
  UNKNOWN_SETTING: 115,
  QUERY_WAS_CANCELLED: 394,
  CANNOT_DECOMPRESS: 271,
  NOT_IMPLEMENTED: 48,
  BAD_ARGUMENTS: 36,
} as const;

export function chError(name: keyof typeof CODES, message: string): ClickHouseHttpError {
  return new ClickHouseHttpError(CODES[name], name, message);
}

/** An engine error ("Code: 47. DB::Exception: ... (UNKNOWN_IDENTIFIER)") kept verbatim. */
export function fromEngineError(err: unknown): ClickHouseHttpError {
  if (err instanceof ClickHouseHttpError) return err;
  // The engine wraps some errors in copies of themselves (a format error): one prefix is
  // what clickhouse-server writes and what clients parse.
  const text = (err instanceof Error ? err.message : String(err))
    .trim()
    .replace(/^(Code: (\d+)\. DB::Exception: )(?:Code: \2\. DB::Exception: )+/, '$1');
  const code = /^Code: (\d+)\./.exec(text)?.[1];
  const name = /\(([A-Z_0-9]+)\)\s*(?:\(version [^)]*\))?\s*$/.exec(text)?.[1];
  return new ClickHouseHttpError(code === undefined ? 1001 : Number(code), name ?? 'STD_EXCEPTION', text);
}

// clickhouse-server's mapping (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by code.
const STATUS: ReadonlyArray<[number, readonly number[]]> = [
  [401, [194]], // REQUIRED_PASSWORD
  [403, [192, 193, 516, 512, 497]], // UNKNOWN_USER, WRONG_PASSWORD, AUTHENTICATION_FAILED, SET_NON_GRANTED_ROLE, ACCESS_DENIED
  // BAD_ARGUMENTS, CANNOT_COMPILE_REGEXP, the CANNOT_PARSE_* family, DUPLICATE_COLUMN, ILLEGAL_COLUMN,
  // the AST errors, THERE_IS_NO_COLUMN, SYNTAX_ERROR, INCORRECT_DATA, TYPE_MISMATCH, VALUE_IS_OUT_OF_RANGE
  [
    400,
    [
      36, 427, 6, 25, 26, 38, 41, 72, 441, 675, 676, 27, 376, 15, 44, 37, 123, 8, 167, 168, 223, 62, 117, 53,
      321,
    ],
  ],
  // UNKNOWN_TABLE, _FUNCTION, _IDENTIFIER, _TYPE, _STORAGE, _DATABASE, _SETTING, _DIRECTION_OF_SORTING,
  // _AGGREGATE_FUNCTION, _FORMAT, _DATABASE_ENGINE, _TYPE_OF_QUERY, _ROLE
  [404, [60, 46, 47, 50, 56, 81, 115, 152, 63, 73, 336, 78, 511]],
  [413, [229]], // QUERY_IS_TOO_LARGE
  [503, [209, 76, 439]], // SOCKET_TIMEOUT, CANNOT_OPEN_FILE, CANNOT_SCHEDULE_TASK
  [411, [381]], // HTTP_LENGTH_REQUIRED
  [408, [159]], // TIMEOUT_EXCEEDED
  [415, [779]], // UNSUPPORTED_MEDIA_TYPE
];

/**
 * Codes that mean the engine or the machine failed, not the query: the only ones that stay
 * 500. LOGICAL_ERROR, CHECKSUM_DOESNT_MATCH, the file-descriptor errors, NETWORK_ERROR,
 * CANNOT_ALLOCATE_MEMORY, NOT_ENOUGH_SPACE, CORRUPTED_DATA, and the Keeper, Poco, std and
 * unknown exceptions. MEMORY_LIMIT_EXCEEDED only for the process's own limit (`(total)`):
 * a query past its own max_memory_usage asked too much, a 400 like the other result limits.
 */
const SERVER_FAULTS: readonly number[] = [49, 40, 74, 75, 210, 173, 243, 246, 999, 1000, 1001, 1002];
const MEMORY_LIMIT_EXCEEDED = 241;

/**
 * HTTP status for a ClickHouse error code: clickhouse-server's own mapping for the codes it
 * names. Where the server answers every other code with 500, this endpoint answers 400 (a
 * query the engine refused for what it asks: a wrong argument type, a missing cluster, too
 * deep a query, a result past the limits), and keeps 500 for SERVER_FAULTS, so a 5xx always
 * means the service failed. Also: READONLY (a refused write) answers 403, and
 * TOO_MANY_SIMULTANEOUS_QUERIES 503, so clients and proxies know a retry can succeed.
 * NOT_IMPLEMENTED (a system table or function the embedded engine lacks) is a 400 here,
 * where clickhouse-server answers 501: the query asked for what this engine does not do.
 */
export function httpStatusFor(code: number, text = ''): number {
  if (code === MEMORY_LIMIT_EXCEEDED) return /\(total\)/.test(text) ? 500 : 400;
  if (code === CODES.READONLY) return 403;
  if (code === CODES.TOO_MANY_SIMULTANEOUS_QUERIES) return 503;
  for (const [status, codes] of STATUS) if (codes.includes(code)) return status;
  return SERVER_FAULTS.includes(code) ? 500 : 400;
}
