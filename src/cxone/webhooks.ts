/**
 * Creates the CXone webhook subscription: `POST {apiBase}/webhooks` with a bearer token.
 * Idempotent (409 means it already exists), retried with backoff on 429 / 5xx / network errors
 * and timeouts, stopped at once by credential and permission errors, abortable at shutdown.
 */
import { silentLogger, type Logger } from '../log.js';
import { Backoff, parseRetryAfter, sleep as realSleep, type BackoffPolicy, type RandomSource, type Sleep } from '../backoff.js';
import { describeNetworkError, discardBody, excerpt, readBodyLimited, requestSignal, safeUrl, type FetchLike } from './http.js';
import { TokenError, WEBHOOK_SCOPES, type AccessToken, type BearerTokenSource } from './oauth.js';

export const DATA_ACTION_UPDATED = 'data.action.updated';
export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

const CREDENTIALS_HINT = `check CXONE_CLIENT_ID and CXONE_CLIENT_SECRET, and that the client is granted the scopes ${WEBHOOK_SCOPES.join(' ')}`;

export interface RetryInfo {
  /** The attempt that just failed, from 1. */
  attempt: number;
  maxAttempts: number;
  /** Wait before the next attempt, in ms. */
  delayMs: number;
  /** Epoch ms of the next attempt. */
  nextAttemptAt: number;
  /** Why the attempt failed, safe to log. */
  reason: string;
  status?: number;
}

export interface RegisterWebhookOptions {
  apiBase: string;
  tokenProvider: BearerTokenSource;
  /** Where CXone should deliver events. */
  url: string;
  /** Shared HMAC secret sent to CXone; never logged. */
  secret: string;
  /** Default ['data.action.updated']. */
  events?: readonly string[];
  /** Total attempts (HTTP requests), default 8. */
  maxAttempts?: number;
  /** Per request, default 10 000 ms. */
  requestTimeoutMs?: number;
  backoff?: Partial<BackoffPolicy>;
  random?: RandomSource;
  sleep?: Sleep;
  now?: () => number;
  /** Stops the registration at once, including a wait between attempts (shutdown). */
  signal?: AbortSignal;
  fetch?: FetchLike;
  logger?: Logger;
  /** Called before each wait between attempts. */
  onRetry?: (info: RetryInfo) => void;
  /** Called as each attempt starts. */
  onAttempt?: (attempt: number) => void;
}

export interface RegisterWebhookResult {
  outcome: 'created' | 'already_exists';
  status: number;
  attempts: number;
  /** The subscription id when CXone returned one. */
  webhookId?: string;
}

export type WebhookErrorCode = 'unauthorized' | 'forbidden' | 'rejected' | 'exhausted' | 'aborted' | 'invalid_options';

export class WebhookRegistrationError extends Error {
  override readonly name = 'WebhookRegistrationError';
  readonly code: WebhookErrorCode;
  /** HTTP status of the deciding response, when there was one. */
  readonly status: number | undefined;
  readonly attempts: number;

  constructor(message: string, details: { code: WebhookErrorCode; status?: number; attempts: number }) {
    super(message);
    this.code = details.code;
    this.status = details.status;
    this.attempts = details.attempts;
  }
}

type AttemptResult =
  | { kind: 'done'; result: Omit<RegisterWebhookResult, 'attempts'> }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number; immediate?: boolean };

function validate(options: RegisterWebhookOptions): { endpoint: string; events: readonly string[]; maxAttempts: number } {
  const fail = (msg: string) => new WebhookRegistrationError(msg, { code: 'invalid_options', attempts: 0 });
  let base: URL;
  try {
    base = new URL(options.apiBase);
  } catch {
    throw fail('CXone API base is not a valid absolute URL (check CXONE_API_BASE / CXONE_REGION)');
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw fail(`CXone API base must be http(s), got ${base.protocol}`);
  let target: URL;
  try {
    target = new URL(options.url);
  } catch {
    throw fail('webhook URL is not a valid absolute URL (check CXONE_WEBHOOK_URL)');
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw fail(`webhook URL must be http(s), got ${target.protocol}`);
  if (typeof options.secret !== 'string' || options.secret.length === 0) throw fail('webhook secret is empty (set CXONE_WEBHOOK_SECRET)');
  const events = options.events ?? [DATA_ACTION_UPDATED];
  if (events.length === 0 || events.some((e) => typeof e !== 'string' || e.length === 0)) {
    throw fail('events must be a non-empty list of event names');
  }
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw fail(`maxAttempts must be an integer >= 1, got ${String(maxAttempts)}`);
  return { endpoint: `${options.apiBase.replace(/\/+$/, '')}/webhooks`, events, maxAttempts };
}

/**
 * Registers the webhook. Resolves on 200/201 (created) and 409 (already exists). Rejects with
 * WebhookRegistrationError: `unauthorized` / `forbidden` at once on 401 / 403 (after one retry
 * with a fresh token if the 401 answered a cached one), `rejected` on other 4xx, `exhausted`
 * after `maxAttempts`, `aborted` when `signal` aborts.
 */
export async function registerWebhook(options: RegisterWebhookOptions): Promise<RegisterWebhookResult> {
  const { endpoint, events, maxAttempts } = validate(options);
  const log = (options.logger ?? silentLogger).child({ component: 'cxone-webhooks' });
  const fetchImpl = options.fetch ?? fetch;
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const backoff = new Backoff(options.backoff, options.random);
  const body = JSON.stringify({ url: options.url, events, secret: options.secret });
  const signal = options.signal;
  let refreshedAfter401 = false;
  let attempt = 0;

  const aborted = () =>
    new WebhookRegistrationError('CXone webhook registration aborted (shutdown)', { code: 'aborted', attempts: attempt });

  const attemptOnce = async (): Promise<AttemptResult> => {
    let token: AccessToken;
    try {
      token = await options.tokenProvider.getAccessToken(signal);
    } catch (err) {
      if (signal?.aborted) throw aborted();
      if (err instanceof TokenError) {
        if (err.code === 'aborted') throw aborted();
        if (err.retryable) {
          return { kind: 'retry', reason: err.message, ...(err.status !== undefined && { status: err.status }), ...(err.retryAfterMs !== undefined && { retryAfterMs: err.retryAfterMs }) };
        }
        throw new WebhookRegistrationError(`${err.message}; ${CREDENTIALS_HINT}`, {
          code: 'unauthorized',
          ...(err.status !== undefined && { status: err.status }),
          attempts: attempt,
        });
      }
      return { kind: 'retry', reason: `token provider failed: ${err instanceof Error ? err.message : String(err)}` };
    }

    const req = requestSignal(timeoutMs, signal);
    let response: Response;
    try {
      response = await fetchImpl(endpoint, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body,
        signal: req.signal,
        redirect: 'error',
      });
    } catch (err) {
      req.dispose();
      if (signal?.aborted) throw aborted();
      if (req.timedOut()) return { kind: 'retry', reason: `POST ${safeUrl(endpoint)} timed out after ${timeoutMs} ms` };
      return { kind: 'retry', reason: `POST ${safeUrl(endpoint)} failed: ${describeNetworkError(err)}` };
    }

    const status = response.status;
    try {
      if (status === 200 || status === 201) {
        let webhookId: string | undefined;
        try {
          const parsed = JSON.parse(await readBodyLimited(response)) as unknown;
          const id = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>).id : undefined;
          if (typeof id === 'string' || typeof id === 'number') webhookId = String(id);
        } catch {
          // The subscription exists either way; the id is only informative.
        }
        return { kind: 'done', result: { outcome: 'created', status, ...(webhookId !== undefined && { webhookId }) } };
      }
      if (status === 409) {
        await discardBody(response);
        return { kind: 'done', result: { outcome: 'already_exists', status } };
      }
      if (status === 401) {
        await discardBody(response);
        // A cached token may have been revoked or expired early (clock skew, key rotation): one
        // retry with a fresh token settles it. A 401 on a fresh token means the credentials or
        // their grants are wrong, and retrying cannot help.
        if (token.fromCache && !refreshedAfter401) {
          refreshedAfter401 = true;
          options.tokenProvider.invalidate(token.token);
          return { kind: 'retry', reason: 'HTTP 401 with a cached token; retrying once with a fresh token', status, immediate: true };
        }
        throw new WebhookRegistrationError(`CXone rejected the webhook subscription with HTTP 401 Unauthorized: ${CREDENTIALS_HINT}`, {
          code: 'unauthorized',
          status,
          attempts: attempt,
        });
      }
      if (status === 403) {
        await discardBody(response);
        throw new WebhookRegistrationError(`CXone refused the webhook subscription with HTTP 403 Forbidden: ${CREDENTIALS_HINT}`, {
          code: 'forbidden',
          status,
          attempts: attempt,
        });
      }
      if (status === 408 || status === 429 || status >= 500) {
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now(), backoff.policy.maxRetryAfterMs);
        const text = excerpt(await readBodyLimited(response, 4096).catch(() => ''));
        return {
          kind: 'retry',
          reason: `HTTP ${status}${text ? ` ${text}` : ''}`,
          status,
          ...(retryAfterMs !== undefined && { retryAfterMs }),
        };
      }
      const text = excerpt(await readBodyLimited(response, 4096).catch(() => ''));
      const hint =
        status === 404 || status === 405
          ? ': check CXONE_API_BASE / CXONE_REGION'
          : status === 400 || status === 422
            ? ': check CXONE_WEBHOOK_URL (CXone requires a public HTTPS URL)'
            : '';
      throw new WebhookRegistrationError(`CXone rejected the webhook subscription with HTTP ${status}${text ? ` ${text}` : ''}${hint}`, {
        code: 'rejected',
        status,
        attempts: attempt,
      });
    } catch (err) {
      if (err instanceof WebhookRegistrationError) throw err;
      if (signal?.aborted) throw aborted();
      return { kind: 'retry', reason: `reading the response failed: ${describeNetworkError(err)}`, status };
    } finally {
      req.dispose();
    }
  };

  let last: Extract<AttemptResult, { kind: 'retry' }> | undefined;
  while (attempt < maxAttempts) {
    if (signal?.aborted) throw aborted();
    attempt += 1;
    options.onAttempt?.(attempt);
    log.debug('registering webhook', { attempt, maxAttempts, endpoint: safeUrl(endpoint), url: safeUrl(options.url) });
    const r = await attemptOnce();
    if (r.kind === 'done') return { ...r.result, attempts: attempt };
    last = r;
    if (attempt >= maxAttempts) break;
    const delayMs = r.immediate ? 0 : backoff.next(r.retryAfterMs);
    const info: RetryInfo = {
      attempt,
      maxAttempts,
      delayMs,
      nextAttemptAt: now() + delayMs,
      reason: r.reason,
      ...(r.status !== undefined && { status: r.status }),
    };
    log.debug('webhook registration attempt failed, retrying', { ...info });
    options.onRetry?.(info);
    if (delayMs > 0) {
      try {
        await sleep(delayMs, signal);
      } catch (err) {
        if (signal?.aborted) throw aborted();
        throw err;
      }
    }
  }
  throw new WebhookRegistrationError(
    `CXone webhook registration gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}; last error: ${last?.reason ?? 'unknown'}`,
    { code: 'exhausted', ...(last?.status !== undefined && { status: last.status }), attempts: attempt },
  );
}
