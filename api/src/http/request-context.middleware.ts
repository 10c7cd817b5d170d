import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../../lib/log.js';
import { runWithLogContext } from '../../../lib/log-context.js';

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id (accepted from X-Request-Id when sane, else generated; always returned) and
 * a child logger carrying it, so every log line of a request can be found together.
 * Logs one access line per request with status and duration.
 */
export function requestContextMiddleware(rootLog: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    const requestId = VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    // Every line logged while this request runs carries its id (pino mixin), whichever
    // module writes it.
    const log = rootLog;
    ctx.state.log = log;
    const started = process.hrtime.bigint();
    try {
      await runWithLogContext({ request_id: requestId }, next);
    } finally {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      log.info(
        {
          request_id: requestId,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          duration_ms: Math.round(durationMs * 100) / 100,
        },
        'http_request',
      );
    }
  };
}
