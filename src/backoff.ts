/**
 * Retry delays: capped exponential backoff with jitter, `Retry-After` parsing, and an abortable
 * sleep: the one implementation for every retry loop (CXone calls in cxone/, the InfluxDB
 * exporter in metrics/). The random source and the sleep are injectable so tests can drive the
 * schedule exactly.
 */

export type JitterMode = 'full' | 'decorrelated' | 'added';

export interface BackoffPolicy {
  /** Delay scale of the first retry, in ms. */
  baseMs: number;
  /** No computed delay exceeds this, in ms. */
  capMs: number;
  /**
   * full: uniform in [0, min(cap, base·factor^(n-1))) (AWS "full jitter").
   * decorrelated: uniform in [base, min(cap, 3·previous)) (AWS "decorrelated jitter").
   * added: min(cap, base·factor^(n-1)) plus a whole number of ms uniform in [0, jitterMs].
   */
  jitter: JitterMode;
  /** Growth per retry of the full and added schedules (default 2). */
  factor: number;
  /** The random extra of the added schedule, in ms (default 0). */
  jitterMs: number;
  /** A server's `Retry-After` is honoured up to this, in ms; a larger value is clamped. */
  maxRetryAfterMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  baseMs: 500,
  capMs: 30_000,
  jitter: 'full',
  factor: 2,
  jitterMs: 0,
  maxRetryAfterMs: 120_000,
});

/** Returns a number in [0, 1), like Math.random. */
export type RandomSource = () => number;

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export function resolveBackoffPolicy(overrides: Partial<BackoffPolicy> = {}): BackoffPolicy {
  const policy: BackoffPolicy = { ...DEFAULT_BACKOFF, ...stripUndefined(overrides) };
  for (const key of ['baseMs', 'capMs', 'maxRetryAfterMs', 'jitterMs'] as const) {
    const v = policy[key];
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`backoff ${key} must be a finite number >= 0, got ${String(v)}`);
  }
  if (policy.capMs < policy.baseMs) throw new RangeError(`backoff capMs (${policy.capMs}) must be >= baseMs (${policy.baseMs})`);
  if (!Number.isFinite(policy.factor) || policy.factor < 1) throw new RangeError(`backoff factor must be a finite number >= 1, got ${String(policy.factor)}`);
  if (policy.jitter !== 'full' && policy.jitter !== 'decorrelated' && policy.jitter !== 'added') {
    throw new RangeError(`backoff jitter must be 'full', 'decorrelated' or 'added', got ${String(policy.jitter)}`);
  }
  return policy;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function unit(random: RandomSource): number {
  const r = random();
  // A broken random source must not produce NaN or negative delays.
  if (!Number.isFinite(r) || r < 0) return 0;
  return r >= 1 ? 0.999_999_999 : r;
}

/**
 * Stateful delay generator for one retry loop (decorrelated jitter needs the previous delay).
 * `next(retryAfterMs)` returns the delay before the next attempt: the jittered backoff, or the
 * server's `Retry-After` when that is longer (we never retry sooner than the server asked).
 */
export class Backoff {
  readonly policy: BackoffPolicy;
  private readonly random: RandomSource;
  private retries = 0;
  private previous: number;

  constructor(policy: Partial<BackoffPolicy> = {}, random: RandomSource = Math.random) {
    this.policy = resolveBackoffPolicy(policy);
    this.random = random;
    this.previous = this.policy.baseMs;
  }

  /** How many delays have been handed out since construction or reset(). */
  get count(): number {
    return this.retries;
  }

  next(retryAfterMs?: number): number {
    this.retries += 1;
    const { baseMs, capMs, jitter, factor, jitterMs, maxRetryAfterMs } = this.policy;
    let delay: number;
    if (jitter === 'full' || jitter === 'added') {
      // factor^(n-1) overflows to Infinity for large n; min() with the cap keeps it finite.
      const ceiling = Math.min(capMs, baseMs * factor ** Math.min(this.retries - 1, 1024));
      delay = jitter === 'full' ? Math.floor(unit(this.random) * ceiling) : ceiling + Math.floor(unit(this.random) * (jitterMs + 1));
    } else {
      const upper = Math.min(capMs, this.previous * 3);
      delay = Math.min(capMs, Math.floor(baseMs + unit(this.random) * Math.max(0, upper - baseMs)));
    }
    this.previous = Math.max(delay, baseMs);
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs)) {
      delay = Math.max(delay, Math.min(Math.max(0, retryAfterMs), maxRetryAfterMs));
    }
    return delay;
  }

  reset(): void {
    this.retries = 0;
    this.previous = this.policy.baseMs;
  }
}

const DELTA_SECONDS = /^\d+$/;

/**
 * Parses a `Retry-After` header value (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
 * Returns the wait in ms clamped to [0, maxMs], or undefined when absent or unparseable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number = Date.now(),
  maxMs: number = DEFAULT_BACKOFF.maxRetryAfterMs,
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '' || v.length > 64) return undefined;
  if (DELTA_SECONDS.test(v)) {
    const seconds = Number(v);
    return Math.min(seconds * 1000, maxMs);
  }
  // HTTP-date (IMF-fixdate, or the obsolete RFC 850 / asctime forms Date.parse also reads).
  // Require a letter so bare numbers with signs or decimals ("1.5", "-3") are rejected, not
  // misread as years by Date.parse.
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), maxMs);
}

/** Error used when a wait is cut short by an AbortSignal without a reason of its own. */
export function abortError(signal: AbortSignal | undefined, fallback = 'The operation was aborted'): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const err = new Error(typeof reason === 'string' ? reason : fallback);
  err.name = 'AbortError';
  return err;
}

/**
 * setTimeout-based sleep (the global setTimeout, so node:test `mock.timers` controls it) that
 * stops waiting at once when `signal` aborts, and leaves no listener or timer behind.
 */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * The promise's value, or undefined when `ms` pass first; its rejection propagates. No timer is
 * left behind to hold the process (shutdown steps wait on parts that may hang).
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const waited = new AbortController();
  try {
    return await Promise.race([promise, sleep(ms, waited.signal).then(() => undefined, () => undefined)]);
  } finally {
    waited.abort();
  }
}
