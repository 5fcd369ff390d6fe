/**
 * OAuth 2.0 client-credentials tokens for the CXone API (RFC 6749 §4.4), cached and renewed
 * before expiry with at most one token request in flight. Never logs the secret or the token.
 */
import { silentLogger, type Logger } from '../log.js';
import { parseRetryAfter, abortError, DEFAULT_BACKOFF } from '../backoff.js';
import { describeNetworkError, excerpt, readBodyLimited, requestSignal, safeUrl, type FetchLike } from './http.js';

/** Scopes the webhook subscription needs. */
export const WEBHOOK_SCOPES: readonly string[] = Object.freeze(['webhook:write', 'webhook:read']);

/** Longest lifetime we trust from a token response; a longer `expires_in` is treated as this. */
const MAX_TOKEN_LIFETIME_S = 24 * 60 * 60;

export interface AccessToken {
  /** The bearer token itself: never log it. */
  readonly token: string;
  /** Epoch ms after which the token must not be used. */
  readonly expiresAt: number;
  /** Epoch ms from which a call renews the token instead of using it. */
  readonly renewAt: number;
  /** True when served from the cache rather than from a token request made for this call. */
  readonly fromCache: boolean;
}

/** What the webhook client needs from a token provider (tests can supply their own). */
export interface BearerTokenSource {
  getAccessToken(signal?: AbortSignal): Promise<AccessToken>;
  /** Drops `token` from the cache if it is still the cached one (it was rejected by the API). */
  invalidate(token: string): void;
}

export type TokenErrorCode =
  | 'invalid_client'
  | 'invalid_request'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'access_denied'
  | 'http_error'
  | 'invalid_response'
  | 'network'
  | 'timeout'
  | 'aborted';

export class TokenError extends Error {
  override readonly name = 'TokenError';
  /** HTTP status of the token response; undefined for network errors, timeouts and aborts. */
  readonly status: number | undefined;
  readonly code: TokenErrorCode;
  /** True when trying again later may succeed (429, 5xx, network, timeout). */
  readonly retryable: boolean;
  /** The server's Retry-After, in ms, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: { status?: number; code: TokenErrorCode; retryable: boolean; retryAfterMs?: number },
  ) {
    super(message);
    this.status = details.status;
    this.code = details.code;
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export interface TokenProviderOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Requested scopes; default WEBHOOK_SCOPES. */
  scopes?: readonly string[];
  /** Per token request, default 10 000 ms. */
  requestTimeoutMs?: number;
  fetch?: FetchLike;
  /** Clock in epoch ms; default Date.now. */
  now?: () => number;
  /** Aborts any token request in flight (daemon shutdown). */
  signal?: AbortSignal;
  logger?: Logger;
}

/**
 * When to renew a token that lives `ttlMs`: at 85 % of its life, or 60 s before expiry if that is
 * sooner, but never in the first half of its life (so a short-lived token is not renewed on
 * every call). 3600 s → renew after 3060 s; 100 s → 50 s; 10 s → 5 s.
 */
export function renewDelayMs(ttlMs: number): number {
  return Math.min(0.85 * ttlMs, Math.max(ttlMs - 60_000, 0.5 * ttlMs));
}

/**
 * `application/x-www-form-urlencoded` encoding of one value, as RFC 6749 §2.3.1 requires for the
 * client id and secret before they are joined for HTTP Basic.
 */
export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1). */
export function basicClientAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, 'utf8').toString('base64')}`;
}

/** The token request body: `grant_type=client_credentials&scope=webhook%3Awrite+webhook%3Aread`. */
export function tokenRequestBody(scopes: readonly string[]): string {
  const params = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scopes.length > 0) params.set('scope', scopes.join(' '));
  return params.toString();
}

interface CachedToken {
  token: string;
  expiresAt: number;
  renewAt: number;
}

const NON_RETRYABLE_OAUTH_CODES = new Set<string>([
  'invalid_client',
  'invalid_request',
  'invalid_grant',
  'invalid_scope',
  'unauthorized_client',
  'unsupported_grant_type',
  'access_denied',
]);

export class TokenProvider implements BearerTokenSource {
  readonly tokenUrl: string;
  readonly scopes: readonly string[];
  private readonly authorization: string;
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly signal: AbortSignal | undefined;
  private readonly log: Logger;
  private cached: CachedToken | null = null;
  private inflight: Promise<CachedToken> | null = null;
  /** Credentials as the server could echo them back in an error body (never logged). */
  private readonly redact: string[];
  private requests = 0;

  constructor(options: TokenProviderOptions) {
    let url: URL;
    try {
      url = new URL(options.tokenUrl);
    } catch {
      throw new TypeError('CXone token URL is not a valid absolute URL (check CXONE_TOKEN_URL / CXONE_REGION)');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TypeError(`CXone token URL must be http(s), got ${url.protocol}`);
    }
    if (!options.clientId) throw new TypeError('CXONE_CLIENT_ID is empty');
    if (!options.clientSecret) throw new TypeError('CXONE_CLIENT_SECRET is empty');
    this.tokenUrl = url.toString();
    this.scopes = Object.freeze([...(options.scopes ?? WEBHOOK_SCOPES)]);
    this.authorization = basicClientAuth(options.clientId, options.clientSecret);
    this.redact = [options.clientSecret, formEncode(options.clientSecret), this.authorization.slice('Basic '.length)].filter((s) => s.length >= 4);
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.signal = options.signal;
    this.log = (options.logger ?? silentLogger).child({ component: 'cxone-oauth' });
  }

  /** Number of token requests sent so far (for tests and diagnostics). */
  get requestCount(): number {
    return this.requests;
  }

  /** The bearer token to use now. */
  async getToken(signal?: AbortSignal): Promise<string> {
    return (await this.getAccessToken(signal)).token;
  }

  /**
   * Returns the cached token while it is before its renewal time; otherwise joins the renewal in
   * flight or starts one. If a renewal fails while the old token has not yet expired, the old
   * token is still served (the next call tries to renew again). `signal` only stops this caller
   * waiting: the shared request carries on for the others.
   */
  async getAccessToken(signal?: AbortSignal): Promise<AccessToken> {
    if (signal?.aborted) throw this.abortedError(signal);
    const current = this.cached;
    if (current && this.now() < current.renewAt) return { ...current, fromCache: true };
    const renewal = this.inflight ?? this.startRenewal();
    try {
      const fresh = await waitFor(renewal, signal);
      return { ...fresh, fromCache: false };
    } catch (err) {
      if (signal?.aborted) throw this.abortedError(signal);
      if (current && this.cached === current && this.now() < current.expiresAt) {
        this.log.warn('token renewal failed, using the current token until it expires', {
          error: err instanceof Error ? err.message : String(err),
          expiresInS: Math.round((current.expiresAt - this.now()) / 1000),
        });
        return { ...current, fromCache: true };
      }
      throw err;
    }
  }

  invalidate(token: string): void {
    if (this.cached && this.cached.token === token) {
      this.cached = null;
      this.log.debug('cached token invalidated');
    }
  }

  private abortedError(signal: AbortSignal): TokenError {
    return new TokenError(`CXone token request aborted: ${abortError(signal).message}`, { code: 'aborted', retryable: false });
  }

  private startRenewal(): Promise<CachedToken> {
    const p = this.requestToken().then((t) => {
      this.cached = t;
      return t;
    });
    const settled = p.finally(() => {
      if (this.inflight === settled) this.inflight = null;
    });
    // Callers may all have stopped waiting (aborted); the rejection is theirs, not unhandled.
    settled.catch(() => {});
    this.inflight = settled;
    return settled;
  }

  private async requestToken(): Promise<CachedToken> {
    this.requests += 1;
    const req = requestSignal(this.timeoutMs, this.signal);
    const started = this.now();
    let response: Response;
    try {
      response = await this.fetchImpl(this.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: tokenRequestBody(this.scopes),
        signal: req.signal,
        redirect: 'error',
      });
    } catch (err) {
      req.dispose();
      if (req.timedOut()) {
        throw new TokenError(`CXone token request to ${safeUrl(this.tokenUrl)} timed out after ${this.timeoutMs} ms`, {
          code: 'timeout',
          retryable: true,
        });
      }
      if (this.signal?.aborted) {
        throw new TokenError('CXone token request aborted (shutdown)', { code: 'aborted', retryable: false });
      }
      throw new TokenError(`CXone token request to ${safeUrl(this.tokenUrl)} failed: ${describeNetworkError(err)}`, {
        code: 'network',
        retryable: true,
      });
    }
    let text: string;
    try {
      text = await readBodyLimited(response);
    } catch (err) {
      throw new TokenError(`CXone token response could not be read: ${describeNetworkError(err)}`, {
        status: response.status,
        code: req.timedOut() ? 'timeout' : 'network',
        retryable: true,
      });
    } finally {
      req.dispose();
    }
    if (!response.ok) throw this.errorFromResponse(response, text);
    const token = parseTokenResponse(text, response.status);
    const ttlMs = token.expiresIn * 1000;
    this.log.debug('token obtained', { expiresInS: token.expiresIn, renewInS: Math.round(renewDelayMs(ttlMs) / 1000) });
    // Count the lifetime from when the request was sent: the server's clock started no earlier.
    return { token: token.accessToken, expiresAt: started + ttlMs, renewAt: started + renewDelayMs(ttlMs) };
  }

  private errorFromResponse(response: Response, text: string): TokenError {
    const status = response.status;
    let oauthCode: string | undefined;
    let description: string | undefined;
    try {
      const body = JSON.parse(text) as unknown;
      if (body && typeof body === 'object') {
        const e = (body as Record<string, unknown>).error;
        const d = (body as Record<string, unknown>).error_description;
        if (typeof e === 'string') oauthCode = e;
        if (typeof d === 'string') description = d;
      }
    } catch {
      // Not JSON: report the status and an excerpt.
    }
    const retryable = status === 408 || status === 429 || status >= 500;
    const code: TokenErrorCode =
      oauthCode && NON_RETRYABLE_OAUTH_CODES.has(oauthCode) && !retryable
        ? (oauthCode as TokenErrorCode)
        : status === 401
          ? 'invalid_client'
          : 'http_error';
    // A server (or a proxy's error page) may echo the request: keep the credentials out of logs
    // (before cutting to an excerpt, which could otherwise leave part of one).
    const scrub = (t: string) => this.redact.reduce((acc, secret) => acc.split(secret).join('[redacted]'), t);
    const detail = oauthCode
      ? `${scrub(oauthCode)}${description ? ` (${excerpt(scrub(description))})` : ''}`
      : excerpt(scrub(text)) || response.statusText;
    let hint = '';
    if (code === 'invalid_client' || code === 'unauthorized_client' || status === 401) {
      hint = ': check CXONE_CLIENT_ID and CXONE_CLIENT_SECRET';
    } else if (code === 'invalid_scope' || code === 'access_denied' || status === 403) {
      hint = `: the client must be allowed the scopes ${this.scopes.join(' ')}`;
    } else if (status === 404 || status === 405) {
      hint = ': check CXONE_TOKEN_URL / CXONE_REGION';
    }
    return new TokenError(`CXone token request failed: HTTP ${status} ${detail}${hint}`, {
      status,
      code,
      retryable,
      retryAfterMs: retryable
        ? parseRetryAfter(response.headers.get('retry-after'), this.now(), DEFAULT_BACKOFF.maxRetryAfterMs)
        : undefined,
    });
  }
}

export interface TokenResponse {
  accessToken: string;
  /** Seconds, > 0, at most one day. */
  expiresIn: number;
}

/**
 * Strict parse of a token response (RFC 6749 §5.1): `access_token` a non-empty string,
 * `token_type` "Bearer" (case-insensitive), `expires_in` a positive number of seconds.
 */
export function parseTokenResponse(text: string, status = 200): TokenResponse {
  const bad = (why: string) =>
    new TokenError(`CXone token response (HTTP ${status}) is invalid: ${why}; check CXONE_TOKEN_URL`, {
      status,
      code: 'invalid_response',
      retryable: false,
    });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('not a JSON object');
  const o = body as Record<string, unknown>;
  if (typeof o.access_token !== 'string' || o.access_token.length === 0) throw bad('access_token missing or empty');
  if (/\s/.test(o.access_token)) throw bad('access_token contains whitespace');
  if (typeof o.token_type !== 'string' || o.token_type.toLowerCase() !== 'bearer') {
    throw bad(`token_type must be Bearer, got ${typeof o.token_type === 'string' ? excerpt(o.token_type, 40) : typeof o.token_type}`);
  }
  if (typeof o.expires_in !== 'number' || !Number.isFinite(o.expires_in) || o.expires_in <= 0) {
    throw bad('expires_in must be a positive number of seconds');
  }
  return { accessToken: o.access_token, expiresIn: Math.min(o.expires_in, MAX_TOKEN_LIFETIME_S) };
}

/** Waits for `promise`, or rejects as soon as `signal` aborts (the promise itself carries on). */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
