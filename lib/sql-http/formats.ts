/** Content-Type clickhouse-server sends per output format (family prefixes, longest first). */
const TYPES: ReadonlyArray<[RegExp, string]> = [
  [/^(TabSeparated|TSV)/i, 'text/tab-separated-values; charset=UTF-8'],
  [/^CSVWithNames/i, 'text/csv; charset=UTF-8; header=present'],
  [/^CSV/i, 'text/csv; charset=UTF-8; header=absent'],
  [
    /^JSON(EachRow|StringsEachRow|CompactEachRow|CompactStringsEachRow|Lines)?/i,
    'application/json; charset=UTF-8',
  ],
  [/^NDJSON/i, 'application/x-ndjson; charset=UTF-8'],
  [/^(Parquet|Arrow|ArrowStream|ORC|Native|RowBinary|Avro|MsgPack|Protobuf)/i, 'application/octet-stream'],
  [/^XML/i, 'application/xml; charset=UTF-8'],
];

export function contentTypeOf(format: string): string {
  for (const [re, type] of TYPES) if (re.test(format)) return type;
  return 'text/plain; charset=UTF-8';
}
