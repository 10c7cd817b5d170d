/**
 * Whether a failed ClickHouse insert can never succeed as it is (bad data), as opposed to
 * trouble that a retry may fix (network, timeouts, overload, replica or keeper hiccups).
 * Permanent failures are bisected down to the offending rows, which go to the dead-letter
 * topic; everything else is retried with backoff, holding the partition.
 */
const PERMANENT_CODES = new Set([
  '6', // CANNOT_PARSE_TEXT
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '321', // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  '376', // CANNOT_PARSE_UUID
  '469', // VIOLATED_CONSTRAINT
]);

export function isPermanentInsertError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' || typeof code === 'number') && PERMANENT_CODES.has(String(code));
}
