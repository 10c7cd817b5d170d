import type Router from '@koa/router';
import { createRouter } from '../http/router.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

/**
 * /healthz: the process is alive (no dependency checks: a Kafka outage must not get
 * healthy API pods restarted). /readyz: dependencies usable, each check bounded in time.
 */
export function healthRoutes(checks: ReadinessCheck[], timeoutMs = 1000): Router {
  const router = createRouter();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const results = await Promise.all(
      checks.map(async (c) => {
        const ok = await Promise.race([
          c.check().catch(() => false),
          new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref()),
        ]);
        return [c.name, ok ? 'ok' : 'unavailable'] as const;
      }),
    );
    const ready = results.every(([, status]) => status === 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) };
  });
  return router;
}
