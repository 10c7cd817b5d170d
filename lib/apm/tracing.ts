import apm from 'elastic-apm-node';

/**
 * Spans and transactions the agent cannot make by itself: the API's produce is
 * micro-batched (the kafkajs call runs outside the request's context), the embedded engine
 * has no network calls to instrument, and ETL batches are not HTTP requests. No-ops when
 * APM is off.
 */
export async function inSpan<T>(
  name: string,
  type: string,
  subtype: string,
  action: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (!apm.isStarted()) return fn();
  const span = apm.startSpan(name, type, subtype, action);
  try {
    const result = await fn();
    span?.setOutcome('success');
    return result;
  } catch (err) {
    span?.setOutcome('failure');
    throw err;
  } finally {
    span?.end();
  }
}

export async function inTransaction<T>(name: string, type: string, fn: () => Promise<T>): Promise<T> {
  if (!apm.isStarted()) return fn();
  const tx = apm.startTransaction(name, type);
  try {
    const result = await fn();
    tx?.setOutcome('success');
    return result;
  } catch (err) {
    tx?.setOutcome('failure');
    apm.captureError(err as Error);
    throw err;
  } finally {
    tx?.end();
  }
}

/**
 * Names the current HTTP transaction by route pattern. NOTE: the agent's own @koa/router
 * instrumentation does not recognise @koa/router 15 and reports "unknown route".
 */
export function nameTransaction(name: string): void {
  if (apm.isStarted()) apm.setTransactionName(name);
}
