import { request, startHarness, type Harness, type JsonResponse } from './harness.js';
import { randomUUID } from './ids.js';

export const newDevice = (): string => `dev-${randomUUID()}`;

export function getExperiments(
  h: Harness,
  device: string | undefined,
  token?: string,
): Promise<JsonResponse> {
  return request(`${h.url}/api/v1/experiments`, {
    token,
    headers: device === undefined ? {} : { 'Device-Token': device },
  });
}

/** The spec's answer as one map: [{"a": 1}, {"b": 2}] → {a: 1, b: 2}. */
export function asMap(body: Array<Record<string, unknown>>): Record<string, unknown> {
  return Object.assign({}, ...body) as Record<string, unknown>;
}

export async function adminToken(h: Harness): Promise<string> {
  return h.token(randomUUID(), { roles: ['admin'] });
}

/** Signs in on the stats page's form as an admin; the `Cookie` header value of the session. */
export async function statsSession(h: Harness): Promise<string> {
  const res = await fetch(`${h.url}/pages/experiment-stats/session`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: await adminToken(h) }).toString(),
  });
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  return res.headers.getSetCookie()[0]!.split(';')[0]!;
}

export async function createExperiment(
  h: Harness,
  key: string,
  options: Array<{ value: string | number | boolean; weight: number }>,
): Promise<JsonResponse> {
  return request(`${h.url}/api/v1/admin/experiments`, {
    token: await adminToken(h),
    body: { key, options },
  });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** A harness with dev routes and an admin client for /api/v1 (segments suites). */
export interface AdminSession {
  h: Harness;
  admin: string;
  api: (path: string, init?: Parameters<typeof request>[1]) => Promise<JsonResponse>;
}

export async function startAdminSession(env: Record<string, string> = {}): Promise<AdminSession> {
  const h = await startHarness({ env: { DEV_ROUTES: 'true', ...env } });
  const admin = await adminToken(h);
  return {
    h,
    admin,
    api: (path, init = {}) => request(`${h.url}/api/v1${path}`, { token: admin, ...init }),
  };
}
