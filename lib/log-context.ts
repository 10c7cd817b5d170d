import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Fields every log line carries while a unit of work (an HTTP request) runs, whichever
 * module logs it: the request id reaches the publisher's and the reader's lines too.
 */
const storage = new AsyncLocalStorage<Record<string, string>>();

export function runWithLogContext<T>(fields: Record<string, string>, fn: () => T): T {
  return storage.run(fields, fn);
}

export function logContext(): Record<string, string> {
  return storage.getStore() ?? {};
}
