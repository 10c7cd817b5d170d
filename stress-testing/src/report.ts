import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.js';

export interface BenchResults {
  date: string;
  quick: boolean;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  figures: Record<string, unknown>;
  ratios: Record<string, number>;
  targets: { name: string; target: string; measured: string; met: boolean }[];
}

/** Latency (p50, p99) against achieved load, one point per concurrency step. */
export function latencyChartSvg(steps: LoadResult[], targetP99Ms: number): string {
  const W = 640;
  const H = 360;
  const m = { l: 60, r: 20, t: 30, b: 50 };
  const maxX = Math.max(...steps.map((s) => s.eventsPerSec), 1) * 1.1;
  const maxY = Math.max(...steps.map((s) => s.p99Ms), targetP99Ms) * 1.15;
  const x = (v: number) => m.l + (v / maxX) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - (v / maxY) * (H - m.t - m.b);
  const line = (key: 'p50Ms' | 'p99Ms') =>
    steps.map((s) => `${x(s.eventsPerSec).toFixed(1)},${y(s[key]).toFixed(1)}`).join(' ');
  const ticks = (max: number, n: number) => Array.from({ length: n + 1 }, (_, i) => (max / n) * i);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">API single events: latency against load (one point per concurrency step)</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    ...ticks(maxX, 5).map(
      (v) => `<text x="${x(v)}" y="${H - m.b + 15}" text-anchor="middle">${Math.round(v)}</text>`,
    ),
    ...ticks(maxY, 5).map(
      (v) => `<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`,
    ),
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle">accepted events/s</text>`,
    `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">latency ms</text>`,
    `<line x1="${m.l}" y1="${y(targetP99Ms)}" x2="${W - m.r}" y2="${y(targetP99Ms)}" stroke="#c00" stroke-dasharray="4 3"/>`,
    `<text x="${W - m.r}" y="${y(targetP99Ms) - 4}" text-anchor="end" fill="#c00">p99 target ${targetP99Ms} ms</text>`,
    `<polyline points="${line('p50Ms')}" fill="none" stroke="#2a6" stroke-width="2"/>`,
    `<polyline points="${line('p99Ms')}" fill="none" stroke="#26c" stroke-width="2"/>`,
    ...steps.map(
      (s) =>
        `<circle cx="${x(s.eventsPerSec)}" cy="${y(s.p99Ms)}" r="3" fill="#26c"><title>c=${s.connections}</title></circle>`,
    ),
    ...steps.map(
      (s) => `<text x="${x(s.eventsPerSec) + 4}" y="${y(s.p99Ms) - 5}" fill="#26c">c${s.connections}</text>`,
    ),
    `<text x="${m.l + 10}" y="${m.t + 12}" fill="#26c">p99</text><text x="${m.l + 40}" y="${m.t + 12}" fill="#2a6">p50</text>`,
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}

export function writeResults(dir: string, results: BenchResults, svg: string, markdown: string): void {
  mkdirSync(join(dir, 'results'), { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(
    join(dir, 'results', `${results.date.slice(0, 10)}${results.quick ? '-quick' : ''}.json`),
    json,
  );
  if (!results.quick) {
    writeFileSync(join(dir, 'results', 'latest.json'), json);
    writeFileSync(join(dir, 'results', 'latency.svg'), svg);
    writeFileSync(join(dir, 'RESULTS.md'), markdown);
  } else {
    writeFileSync(join(dir, 'results', 'latest-quick.json'), json);
  }
}
