import type { StoredLetter } from './dead-letter-reader.js';

// C0 and C1 controls, DEL, and the bidi overrides/isolates that reorder what a terminal
// shows; the backslash too, so an escape in the output is never ambiguous.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

/**
 * Text from a dead letter, safe to print on a terminal. Letters hold whatever a producer
 * sent: escape sequences in a value or header could move the cursor, rewrite earlier lines
 * or retitle the terminal of whoever runs `dlq list`.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => NAMED[c] ?? `\\u{${c.codePointAt(0)!.toString(16).padStart(4, '0')}}`);
}

/** One `dlq list` line: time, stage, source, reason, the value's first 160 characters. */
export function letterLine(l: StoredLetter): string {
  const value = l.value === null ? '<null>' : escapeControl(l.value.toString('utf8').slice(0, 160));
  const source = `${escapeControl(l.sourceTopic)}/${l.sourcePartition}@${escapeControl(l.sourceOffset)}`;
  return `${escapeControl(l.failedAt)} ${escapeControl(l.stage).padEnd(6)} ${source} ${escapeControl(l.reason)} | ${value}`;
}
