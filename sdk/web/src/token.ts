/** The bearer token: a fixed one, or one the app fetches and refreshes through getToken. */

export type GetToken = () => string | Promise<string>;

/** A token this close to its `exp` is refreshed before use rather than sent to get a 401. */
const EXPIRY_MARGIN_MS = 30_000;

export class TokenSource {
  private current: string | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(
    private readonly getToken: GetToken | undefined,
    fixed: string | undefined,
    private readonly now: () => number,
  ) {
    this.current = fixed;
  }

  /** The token for a request: the last one, unless there is none or it is about to expire. */
  async get(): Promise<string> {
    const token = this.current;
    if (token !== undefined) {
      const exp = expiresAtMs(token);
      if (this.getToken === undefined || exp === undefined || exp - this.now() > EXPIRY_MARGIN_MS)
        return token;
    }
    return this.fetch();
  }

  /** After a 401: a new token from getToken, or undefined when the token is fixed. */
  async refresh(): Promise<string | undefined> {
    return this.getToken === undefined ? undefined : this.fetch();
  }

  /** The last token, synchronously: a page being unloaded cannot wait for getToken. */
  cached(): string | undefined {
    return this.current;
  }

  /** One getToken call at a time: concurrent sends share its answer. */
  private fetch(): Promise<string> {
    this.inFlight ??= this.ask().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async ask(): Promise<string> {
    if (this.getToken === undefined) throw new Error('createTracker needs token or getToken');
    const token = await this.getToken();
    if (typeof token !== 'string' || token === '') throw new TypeError('getToken must return a token string');
    this.current = token;
    return token;
  }
}

/** The JWT's `exp` in ms, read without verifying (the server verifies); undefined if unreadable. */
export function expiresAtMs(jwt: string): number | undefined {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
