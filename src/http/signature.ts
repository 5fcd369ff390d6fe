/**
 * Request authentication: `X-NICE-Signature` is the lowercase hex HMAC-SHA256 of the raw body.
 *
 * Replay protection (optional, per request): when the sender adds the timestamp header
 * (default `X-NICE-Timestamp`, Unix time in whole seconds), the signature must instead cover
 * `<timestamp>.<raw body>` — the header value, one ASCII dot, then the body bytes — so the
 * timestamp cannot be changed without the secret. Requests whose timestamp is further than the
 * replay window from now (either way) are refused. Comparisons are constant time.
 *
 * The timestamp is optional per request unless `requireTimestamp` (REQUIRE_TIMESTAMP) is set:
 * then a correctly signed request without it is refused too ('missing_timestamp'), since a
 * signature over the body alone can be replayed for ever. Opt-in, because every sender must then
 * add the header.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { decodeSignature } from '../cxone/signing.js';

export type Verdict = 'ok' | 'missing_signature' | 'bad_signature' | 'replayed' | 'missing_timestamp';

const TIMESTAMP = /^\d{1,12}$/;
const DOT = Buffer.from('.');

export interface RequestVerifierOptions {
  secret: string;
  /** 0 disables the freshness check (signatures over timestamps are still verified). */
  replayWindowSeconds: number;
  /** Refuse correctly signed requests that carry no timestamp (default false). */
  requireTimestamp?: boolean;
  now?: () => number;
}

export class RequestVerifier {
  private readonly key: KeyObject;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly requireTimestamp: boolean;

  constructor(options: RequestVerifierOptions) {
    if (options.secret.length === 0) throw new TypeError('webhook secret is empty');
    this.key = createSecretKey(Buffer.from(options.secret, 'utf8'));
    this.windowMs = options.replayWindowSeconds * 1000;
    this.now = options.now ?? Date.now;
    this.requireTimestamp = options.requireTimestamp ?? false;
  }

  /** `signature` and `timestamp` are the raw header values ('' when absent, as uWS reports them). */
  verify(body: Uint8Array, signature: string, timestamp: string): Verdict {
    if (signature === '') return 'missing_signature';
    const claimed = decodeSignature(signature);
    if (claimed === null) return 'bad_signature';
    const hmac = createHmac('sha256', this.key);
    if (timestamp !== '') {
      if (!TIMESTAMP.test(timestamp)) return 'bad_signature';
      hmac.update(timestamp).update(DOT);
    }
    if (!timingSafeEqual(hmac.update(body).digest(), claimed)) return 'bad_signature';
    if (timestamp === '') return this.requireTimestamp ? 'missing_timestamp' : 'ok';
    if (this.windowMs > 0 && Math.abs(this.now() - Number(timestamp) * 1000) > this.windowMs) return 'replayed';
    return 'ok';
  }
}

/** What a sender puts in the signature header, with or without a timestamp. */
export function signRequest(secret: string, body: Uint8Array | string, timestamp?: string): string {
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) hmac.update(timestamp).update(DOT);
  return hmac.update(body).digest('hex');
}
