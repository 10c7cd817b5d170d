import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { parseOrThrow } from '../../../lib/contracts/validation.js';
import { NotFoundError, ValidationError } from '../../../lib/errors.js';
import { readJsonBody } from './json-body.js';
import { createRouter } from './router.js';

/**
 * A route, declared once: the Koa router (routerOf) and the OpenAPI document
 * (openapi/document.ts) are both built from these declarations, so what is validated is
 * what is documented.
 */
export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** A path parameter that names a thing: a value that cannot be valid answers 404, like an unknown one. */
export interface NameParam<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** What it names, for the 404: `no <notFound> <value>`. */
  notFound: string;
}
type Param = z.ZodType | NameParam;
type Params = Record<string, Param>;
type Query = Record<string, z.ZodType> | z.ZodObject;

/** A response: the description of an error (the one error shape), or what the body holds. */
export type ResponseSpec = string | { description: string; schema?: z.ZodType; type?: string };

/** The 503 of the routes that read or write PostgreSQL. */
export const POSTGRES_UNAVAILABLE = 'PostgreSQL unavailable';

export interface BodySpec<B extends z.ZodType> {
  /** The JSON body, read within the API's body limit and parsed before the handler. */
  schema: B;
  /** Also taken as a beacon: text/plain, the token in `access_token` (the route's auth takes it out). */
  beacon?: boolean;
  /**
   * A zod-free check accepting a subset of `schema` whose output is the input itself
   * (lib/contracts/stream.ts requestItemFastCheck): a body it accepts skips the schema; any
   * other body is parsed by the schema, which words the error.
   */
  fast?: (v: unknown) => boolean;
}

type ParsedParam<P> = P extends NameParam<infer S> ? z.output<S> : P extends z.ZodType ? z.output<P> : never;
type Parsed<S> = S extends z.ZodObject ? z.output<S> : { [K in keyof S]: ParsedParam<S[K]> };

export interface RouteInput<P, Q, B> {
  params: Parsed<P>;
  query: Parsed<Q>;
  body: z.output<B>;
}

export interface RouteSpec<P extends Params, Q extends Query, B extends z.ZodType> {
  method: Method;
  /** OpenAPI style: `/api/v1/progress/films/{film_id}`. */
  path: string;
  summary: string;
  description?: string;
  /** A guarded middleware (auth/guard.ts: viewer token, role, role or session), or public. */
  auth: Middleware | 'public';
  /** Parsed in this order, then the query, then the body; a bad one answers 400 naming it. */
  params?: P;
  /** A shape: each parameter parsed alone (400 naming it); an object schema: parsed whole (`query`). */
  query?: Q;
  /** Headers the handler checks itself (documented here). */
  headers?: Record<string, z.ZodType>;
  body?: BodySpec<B>;
  /** A form the handler reads itself (documented here). */
  form?: z.ZodObject;
  /** Besides what the auth, parameters and body imply (401/403, 400, 413, 415). */
  responses: Record<number, ResponseSpec>;
  handle(ctx: Context, input: RouteInput<P, Q, B>): unknown;
}

export type Route = RouteSpec<Params, Query, z.ZodType>;

/** Declares a route; the handler's input is typed from the schemas. */
export function route<
  P extends Params = Record<never, never>,
  Q extends Query = Record<never, never>,
  B extends z.ZodType = z.ZodUndefined,
>(spec: RouteSpec<P, Q, B>): Route {
  return spec;
}

export function isNameParam(p: Param): p is NameParam {
  return !(p instanceof z.ZodType);
}

/** A path value as a 404 names it: at most 64 characters, so a long path is not echoed whole. */
function echo(value: string): string {
  return value.length <= 64 ? value : `${value.slice(0, 64)}… (${value.length} characters)`;
}

function parseParams(specs: Params | undefined, raw: Record<string, string | undefined>) {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs ?? {})) {
    if (!isNameParam(spec)) {
      out[name] = parseOrThrow(spec, raw[name], name, [name]);
      continue;
    }
    const parsed = spec.schema.safeParse(raw[name]);
    if (!parsed.success) throw new NotFoundError(`no ${spec.notFound} ${echo(raw[name] ?? '')}`);
    out[name] = parsed.data;
  }
  return out;
}

function parseQuery(spec: Query | undefined, raw: Context['query']) {
  if (spec instanceof z.ZodObject) return parseOrThrow(spec, raw, 'query');
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(spec ?? {}))
    out[name] = parseOrThrow(schema, raw[name], name, [name]);
  return out;
}

const WRITES: ReadonlySet<Method> = new Set(['POST', 'PATCH', 'DELETE']);

/** A request with a body: a non-zero Content-Length, or one sent chunked. */
function carriesBody(ctx: Context): boolean {
  const length = ctx.get('Content-Length');
  return (length !== '' && length !== '0') || ctx.get('Transfer-Encoding') !== '';
}

/** `/films/{film_id}` → `/films/:film_id`. */
export function koaPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

export interface RouterOptions {
  /** Largest JSON body (API_BODY_LIMIT_BYTES). */
  bodyLimitBytes: number;
}

/**
 * One router serving the routes in the order given (the first match answers). Each route's
 * guard sits in its own middleware stack, before anything reads the request.
 */
export function routerOf(routes: readonly Route[], opts: RouterOptions): Router {
  const router = createRouter();
  for (const r of routes) {
    const handler: Middleware = async (ctx) => {
      const params = parseParams(r.params, ctx.params as Record<string, string | undefined>);
      const query = parseQuery(r.query, ctx.query);
      let body: unknown;
      if (r.body === undefined && r.form === undefined && WRITES.has(r.method) && carriesBody(ctx)) {
        // Read nowhere, so never silently dropped: the client meant something by it.
        throw new ValidationError(`${r.method} ${r.path} takes no request body`, { code: 'unexpected_body' });
      }
      if (r.body !== undefined) {
        const raw = await readJsonBody(ctx, opts.bodyLimitBytes, { textPlain: r.body.beacon === true });
        body = r.body.fast?.(raw) === true ? raw : parseOrThrow(r.body.schema, raw, 'request body');
      }
      await r.handle(ctx, { params, query, body });
    };
    router.register(koaPath(r.path), [r.method], r.auth === 'public' ? [handler] : [r.auth, handler]);
  }
  return router;
}
