import { z } from 'zod';
import { route, type Route } from '../http/route.js';
import { Health, Readiness } from '../http/responses.js';

export interface ReadinessCheck {
  name: string;
  /** What passing means, for the document: e.g. "the Kafka producer is connected". */
  what: string;
  check(): Promise<boolean>;
}

/**
 * /healthz: the process is alive (no dependency checks: a Kafka outage must not get
 * healthy API pods restarted). /readyz: dependencies usable, each check bounded in time.
 */
export function healthRoutes(checks: ReadinessCheck[], timeoutMs = 1000): Route[] {
  const status = z.enum(['ok', 'unavailable']);
  // The document names exactly the checks that run.
  const readiness = Readiness.extend({
    checks: z.strictObject(Object.fromEntries(checks.map((c) => [c.name, status]))),
  });
  const listed = checks.map((c) => `\`${c.name}\`: ${c.what}`).join('; ');
  return [
    route({
      method: 'GET',
      path: '/healthz',
      summary: 'Process alive',
      auth: 'public',
      responses: { 200: { description: 'Alive', schema: Health } },
      handle: (ctx) => {
        ctx.body = { status: 'ok' };
      },
    }),
    route({
      method: 'GET',
      path: '/readyz',
      summary: `Ready when every check passes within ${timeoutMs} ms: ${listed}`,
      auth: 'public',
      responses: {
        200: { description: 'Ready', schema: readiness.extend({ status: z.literal('ready') }) },
        503: { description: 'Not ready', schema: readiness.extend({ status: z.literal('not_ready') }) },
      },
      handle: async (ctx) => {
        const results = await Promise.all(
          checks.map(async (c) => {
            const ok = await Promise.race([
              c.check().catch(() => false),
              new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref()),
            ]);
            return [c.name, ok ? 'ok' : 'unavailable'] as const;
          }),
        );
        const ready = results.every(([, s]) => s === 'ok');
        ctx.status = ready ? 200 : 503;
        ctx.body = { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) };
      },
    }),
  ];
}
