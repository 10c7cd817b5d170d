import { z } from 'zod';
import { BODY_TOKEN_FIELD } from '../auth/auth.middleware.js';
import { guardOf, sessionCookieOf } from '../auth/guard.js';
import { ErrorBody } from '../http/responses.js';
import { isNameParam, type ResponseSpec, type Route } from '../http/route.js';

const INFO = {
  title: 'Streaming analytics API',
  version: '1.0.0',
  description:
    'Playback progress and user actions from the streaming apps. 202 means the event is durably in Kafka (acks=all); ' +
    'duplicates (same event_id, or same content without one) are answered like a first send and stored once.',
};

const ENCODINGS =
  'May be compressed (`Content-Encoding: gzip`, `deflate` or `br`); the body limit applies to the inflated size.';
const BEACON = `Also as a beacon: the same JSON as \`text/plain\` (what \`navigator.sendBeacon\` sends, no preflight) with the token in \`${BODY_TOKEN_FIELD}\`, since a beacon cannot send an Authorization header.`;

/** JSON Schema of what a client sends (zod's input side); checks zod cannot express are left open. */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out: Record<string, unknown> = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  delete out.$schema;
  return out;
}

function response(spec: ResponseSpec): Record<string, unknown> {
  if (typeof spec === 'string')
    return { description: spec, content: { 'application/json': { schema: jsonSchema(ErrorBody) } } };
  const { description, schema, type } = spec;
  if (schema !== undefined)
    return { description, content: { [type ?? 'application/json']: { schema: jsonSchema(schema) } } };
  return type === undefined ? { description } : { description, content: { [type]: {} } };
}

/** What a route's auth, parameters and body answer before its handler runs. */
function impliedResponses(r: Route): Record<number, ResponseSpec> {
  const out: Record<number, ResponseSpec> = {};
  if (r.auth !== 'public') {
    const guard = guardOf([r.auth]);
    out[401] =
      sessionCookieOf(r.auth) === undefined
        ? 'Missing or invalid token (`WWW-Authenticate` says which)'
        : 'Missing or invalid token, or an expired session';
    if (guard?.startsWith('role:')) out[403] = `Token lacks the ${guard.slice('role:'.length)} role`;
  }
  const params = Object.values(r.params ?? {});
  if (params.some((p) => !isNameParam(p)) || r.query !== undefined || r.body !== undefined)
    out[400] = 'Invalid input: every bad field in `details`';
  else if (r.method !== 'GET' && r.form === undefined)
    out[400] = 'A request body (`unexpected_body`): this route takes none';
  for (const p of params) if (isNameParam(p)) out[404] = `No such ${p.notFound}`;
  if (r.body !== undefined) {
    out[413] = 'Body larger than the limit';
    out[415] =
      r.body.beacon === true
        ? 'Not `application/json` or `text/plain`, or an unknown `Content-Encoding`'
        : 'Not `application/json`, or an unknown `Content-Encoding`';
  }
  return out;
}

function parameter(name: string, where: 'path' | 'query' | 'header', schema: z.ZodType) {
  return { name, in: where, required: where === 'path' || !schema.isOptional(), schema: jsonSchema(schema) };
}

function parameters(r: Route): Record<string, unknown>[] {
  const out = Object.entries(r.params ?? {}).map(([name, p]) =>
    parameter(name, 'path', isNameParam(p) ? p.schema : p),
  );
  const query = r.query instanceof z.ZodObject ? r.query.shape : (r.query ?? {});
  for (const [name, schema] of Object.entries(query)) out.push(parameter(name, 'query', schema as z.ZodType));
  for (const [name, schema] of Object.entries(r.headers ?? {})) out.push(parameter(name, 'header', schema));
  return out;
}

function requestBody(r: Route): Record<string, unknown> | undefined {
  if (r.form !== undefined) {
    const form = { 'application/x-www-form-urlencoded': { schema: jsonSchema(r.form) } };
    return { required: false, content: form };
  }
  if (r.body === undefined) return undefined;
  const schema = jsonSchema(r.body.schema);
  if (r.body.beacon !== true)
    return { required: true, description: ENCODINGS, content: { 'application/json': { schema } } };
  const properties = schema.properties as Record<string, unknown>;
  const withToken = {
    ...schema,
    properties: {
      [BODY_TOKEN_FIELD]: {
        type: 'string',
        description: 'the bearer token, when no Authorization header is sent',
      },
      ...properties,
    },
  };
  return {
    required: true,
    description: `${ENCODINGS} ${BEACON}`,
    content: { 'application/json': { schema: withToken }, 'text/plain': { schema: withToken } },
  };
}

/** The security scheme of a session cookie is named after the cookie. */
const sessionScheme = (cookie: string) => cookie.replace(/[^\w.-]/g, '_');

function operation(r: Route): Record<string, unknown> {
  const session = r.auth === 'public' ? undefined : sessionCookieOf(r.auth);
  const op: Record<string, unknown> = { summary: r.summary };
  if (r.description !== undefined) op.description = r.description;
  if (r.auth !== 'public')
    op.security = [{ bearerAuth: [] }, ...(session === undefined ? [] : [{ [sessionScheme(session)]: [] }])];
  const params = parameters(r);
  if (params.length > 0) op.parameters = params;
  const body = requestBody(r);
  if (body !== undefined) op.requestBody = body;
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries({ ...impliedResponses(r), ...r.responses }))
    responses[status] = response(spec);
  op.responses = responses;
  return op;
}

/**
 * OpenAPI 3.1 for the whole API, built from the route declarations the router is built
 * from: the same schemas validate the requests and describe them here.
 */
export function buildOpenApi(routes: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const securitySchemes: Record<string, unknown> = {
    bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
  };
  for (const r of routes) {
    (paths[r.path] ??= {})[r.method.toLowerCase()] = operation(r);
    const session = r.auth === 'public' ? undefined : sessionCookieOf(r.auth);
    if (session !== undefined)
      securitySchemes[sessionScheme(session)] = { type: 'apiKey', in: 'cookie', name: session };
  }
  return { openapi: '3.1.0', info: INFO, components: { securitySchemes }, paths };
}
