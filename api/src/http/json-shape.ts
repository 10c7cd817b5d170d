import type { FieldError } from '../../../lib/contracts/validation.js';

/** Keys that name an object's prototype machinery: copying them silently drops or repurposes them. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Why a parsed JSON body cannot be taken as it was sent, or null: nested deeper than
 * `maxDepth`, a key that names prototype machinery (a plain copy would drop it without a
 * word), or a string holding a lone surrogate (it cannot be stored as UTF-8 unchanged).
 * Iterative, so no depth of input can exhaust the stack; it runs before any recursive
 * validation sees the body.
 */
export function checkJsonShape(root: unknown, maxDepth: number): FieldError | null {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: root, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (!value.isWellFormed())
        return { path, code: 'invalid_string', message: 'holds a lone UTF-16 surrogate' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= maxDepth) {
      return { path, code: 'too_deep', message: `nests deeper than ${maxDepth} levels` };
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], depth: depth + 1, path: `${path}[${i}]` });
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (FORBIDDEN_KEYS.has(key)) {
        return { path: at, code: 'forbidden_key', message: `the key ${key} is not allowed` };
      }
      if (!key.isWellFormed())
        return { path: at, code: 'invalid_string', message: 'key holds a lone UTF-16 surrogate' };
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: at });
    }
  }
  return null;
}
