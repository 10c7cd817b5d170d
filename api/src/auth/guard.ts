import type { Middleware } from 'koa';

/**
 * What a route's auth middleware demands, readable from the route table: `viewer` (any
 * valid token) or `role:<name>`. Routes carry their guard in their own middleware stack
 * (never a router-level `use`), so the table shows exactly what protects each route and a
 * test can try every protected one.
 */
export type Guard = 'viewer' | `role:${string}`;

const GUARD = Symbol('guard');
const SESSION = Symbol('session');

export function guarded(middleware: Middleware, guard: Guard): Middleware {
  Object.defineProperty(middleware, GUARD, { value: guard });
  return middleware;
}

/** Marks a guard that also lets a browser session through, from this cookie. */
export function opensWithSession(middleware: Middleware, cookie: string): Middleware {
  Object.defineProperty(middleware, SESSION, { value: cookie });
  return middleware;
}

/** The session cookie a guard also accepts, if any. */
export function sessionCookieOf(middleware: Middleware): string | undefined {
  return (middleware as { [SESSION]?: string })[SESSION];
}

/** The guard among a route's middleware, if any. */
export function guardOf(stack: readonly unknown[]): Guard | undefined {
  for (const fn of stack) {
    const guard = (fn as { [GUARD]?: Guard })[GUARD];
    if (guard !== undefined) return guard;
  }
  return undefined;
}
