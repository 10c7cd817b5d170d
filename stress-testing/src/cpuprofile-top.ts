import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time per function from a V8 .cpuprofile, largest first. */
export function topSelfTime(file: string, limit = 25): { share: number; fn: string }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] };
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const byFn = new Map<string, number>();
  for (const n of profile.nodes) {
    const url = n.callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/work\/main\//, '');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + (hits.get(n.id) ?? 0));
  }
  const total = profile.samples.length;
  return [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([fn, n]) => ({ share: Math.round((n / total) * 1000) / 10, fn }));
}
