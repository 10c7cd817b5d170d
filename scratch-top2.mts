import { readFileSync } from 'node:fs';
const prof = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const [fromS, toS] = [Number(process.argv[3]), Number(process.argv[4])];
const byId = new Map<number, any>(prof.nodes.map((n: any) => [n.id, n]));
let t = 0; const hits = new Map<string, number>(); let total = 0;
for (let i = 0; i < prof.samples.length; i++) {
  t += prof.timeDeltas[i];
  const s = t / 1e6;
  if (s < fromS || s > toS) continue;
  const n = byId.get(prof.samples[i]);
  const url = n.callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/work\/main\//, '');
  const key = `${n.callFrame.functionName || '(anon)'} ${url}:${n.callFrame.lineNumber + 1}`;
  hits.set(key, (hits.get(key) ?? 0) + 1); total++;
}
console.log('samples', total, 'span s', (t / 1e6).toFixed(1));
for (const [k, v] of [...hits].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[5] ?? 40))) console.log((100 * v / total).toFixed(1).padStart(5), k);
