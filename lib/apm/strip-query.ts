/**
 * The APM agent records each request's URL with its query string (`context.request.url`:
 * raw, search, full) and each outgoing HTTP call's URL (`context.http.url`). A signed report
 * download link carries its credential in the query (signature, expiry), so a trace would
 * hand anyone who can read APM a working link. Queries are dropped on every path: none of
 * the API's queries is worth keeping in a trace, and a future signed URL is covered too.
 */
interface UrlParts {
  raw?: string;
  search?: string;
  full?: string;
  hash?: string;
}

interface ApmPayload {
  context?: {
    request?: { url?: UrlParts };
    http?: { url?: string };
  };
}

function withoutQuery(url: string): string {
  const at = url.search(/[?#]/);
  return at === -1 ? url : url.slice(0, at);
}

/** An elastic-apm-node filter (apm.addFilter): returns the payload with queries removed. */
export function stripQueryStrings<T>(payload: T): T {
  const context = (payload as ApmPayload).context;
  const url = context?.request?.url;
  if (url !== undefined) {
    if (url.raw !== undefined) url.raw = withoutQuery(url.raw);
    if (url.full !== undefined) url.full = withoutQuery(url.full);
    delete url.search;
    delete url.hash;
  }
  if (typeof context?.http?.url === 'string') context.http.url = withoutQuery(context.http.url);
  return payload;
}
