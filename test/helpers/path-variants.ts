/**
 * Shapes of one path that a router or a proxy might treat as the same path: letter case
 * (each literal segment, and the whole path), a trailing slash, doubled slashes,
 * percent-encoded letters, dot segments and a `;` suffix. `{param}` segments are filled by
 * the caller first; only literal segments are varied.
 */
export function pathVariants(path: string, literal: (segment: string) => boolean = () => true): string[] {
  const segments = path.split('/').slice(1);
  const out = new Set<string>();
  const join = (parts: string[]) => `/${parts.join('/')}`;
  out.add(path.toUpperCase());
  out.add(`${path}/`);
  out.add(`/${path}`);
  out.add(`${path};x`);
  out.add(`${path}%2F`);
  segments.forEach((segment, i) => {
    if (!literal(segment) || !/[a-z]/i.test(segment)) return;
    const at = segment.search(/[a-z]/i);
    const ch = segment[at]!;
    const flipped = ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase();
    const hex = ch.charCodeAt(0).toString(16);
    const swap = (replacement: string) =>
      join(segments.map((s, j) => (j === i ? s.slice(0, at) + replacement + s.slice(at + 1) : s)));
    out.add(swap(flipped));
    out.add(swap(`%${hex.toUpperCase()}`));
    out.add(swap(`%${hex.toLowerCase()}`));
    out.add(join(segments.map((s, j) => (j === i ? s.toUpperCase() : s))));
    // A doubled slash before this segment, and dot segments around it.
    out.add(join(segments.map((s, j) => (j === i ? `/${s}` : s))));
    out.add(join(segments.map((s, j) => (j === i ? `./${s}` : s))));
    out.add(join(segments.map((s, j) => (j === i ? `x/../${s}` : s))));
  });
  out.delete(path);
  return [...out];
}
