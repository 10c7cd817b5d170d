import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT } from './proc.js';

/**
 * The benchmark's C helper `stress-testing/native/<name>.c`, built with the machine's gcc
 * when the binary is missing or older than its source or the header they share; the
 * binary's path.
 */
export function nativeBinary(name: string): string {
  const source = join(ROOT, `stress-testing/native/${name}.c`);
  const binary = join(ROOT, `node_modules/.cache/stress-testing/${name}`);
  const header = join(ROOT, 'stress-testing/native/native.h');
  const built = statSync(binary, { throwIfNoEntry: false });
  const newest = Math.max(statSync(source).mtimeMs, statSync(header).mtimeMs);
  if (built === undefined || built.mtimeMs < newest) {
    mkdirSync(join(binary, '..'), { recursive: true });
    execFileSync('gcc', ['-O2', '-Wall', '-o', binary, source], { stdio: 'inherit' });
  }
  return binary;
}

export interface NativeRun {
  /** The program's stdout once it exited with 0; rejects with its stderr otherwise. */
  output: Promise<string>;
  /** Asks it to finish (SIGTERM): a watcher then writes what it saw and exits. */
  stop: () => void;
}

/** Starts a native helper with `input` on its stdin (closed after it). */
export function startNative(binary: string, args: string[], input: Buffer = Buffer.alloc(0)): NativeRun {
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const output = new Promise<string>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(
          new Error(`${basename(binary)} failed (${code ?? signal}): ${Buffer.concat(err).toString('utf8')}`),
        );
    });
  });
  child.stdin.end(input);
  return { output, stop: () => child.kill('SIGTERM') };
}

/**
 * A native helper's output of one record per line, `count` numbers separated by spaces,
 * as rows; anything else (a short line, a word) is an error naming `program`.
 */
export function numberColumns(text: string, count: number, program: string): number[][] {
  const rows: number[][] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const row = line.split(' ').map(Number);
    if (row.length !== count || row.some((v) => !Number.isFinite(v))) {
      throw new Error(`${program}: unreadable line ${JSON.stringify(line)}`);
    }
    rows.push(row);
  }
  return rows;
}
