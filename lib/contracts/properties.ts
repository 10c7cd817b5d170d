/** Limits on the free-form `properties` of a user event. */
export interface PropertiesLimits {
  maxBytes: number;
  maxDepth: number;
  maxKeys: number;
}

/**
 * Why these properties are too big or too deep, or null. Keys are counted across every
 * level; depth counts nested objects/arrays (a flat object has depth 1); bytes are those
 * of the UTF-8 JSON text, which is what Kafka and ClickHouse store.
 */
export function checkProperties(value: unknown, limits: PropertiesLimits): string | null {
  let keys = 0;
  let tooDeep = false;
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object') return;
    if (depth > limits.maxDepth) {
      tooDeep = true;
      return;
    }
    if (Array.isArray(v)) {
      for (const item of v) walk(item, depth + 1);
      return;
    }
    for (const [, child] of Object.entries(v)) {
      keys++;
      walk(child, depth + 1);
    }
  };
  walk(value, 1);
  if (tooDeep) return `nest deeper than ${limits.maxDepth} levels`;
  if (keys > limits.maxKeys) return `have ${keys} keys, more than ${limits.maxKeys}`;
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > limits.maxBytes) return `take ${bytes} bytes as JSON, more than ${limits.maxBytes}`;
  return null;
}

/** JSON with object keys sorted at every level: the same properties, the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
