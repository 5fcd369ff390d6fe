/**
 * Request authentication: a header carries the HMAC-SHA256 of the raw body, keyed with the
 * webhook secret, in the configured scheme (src/cxone/signature-scheme.ts). By default
 * (preset nice-data-action) that is `X-NICE-Signature` with 64 hex digits.
 *
 * Replay protection: when the sender adds the timestamp header (default `X-NICE-Timestamp`,
 * Unix time in whole seconds), the signature must instead cover `<timestamp>.<raw body>` — the
 * header value, one ASCII dot, then the body bytes — so the timestamp cannot be changed without
 * the secret. Requests whose timestamp is further than the replay window from now (either way)
 * are refused. Comparisons are constant time.
 *
 * The timestamp is optional per request unless `requireTimestamp` (REQUIRE_TIMESTAMP) is set or
 * the scheme signs `timestamp.body` (preset nice-expert): then a request without it is refused
 * too ('missing_timestamp'), since a signature over the body alone can be replayed for ever.
 *
 * A header value that does not have the scheme's shape (prefix, encoding, length) is refused
 * before any HMAC work; that looks only at the attacker's value. A well-formed one is turned into
 * the 64 hex digits it claims and compared with the HMAC in constant time.
 *
 * The HMAC runs in the native addon when it loads (one call, no allocation: about 5× faster
 * than Node's `createHmac`, which builds several objects per request), else in node:crypto.
 * Both give the same verdict for every input (test/http/signature.test.ts).
 */
import { nativeAddon } from '@cxone-dedup/bloom/factory';
import { claimedDigestHex, DEFAULT_SIGNATURE_SCHEME, type SignatureScheme } from '../cxone/signature-scheme.js';
import { createSignatureVerifier, signBody, signTimestampedBody, TIMESTAMP_PATTERN } from '../cxone/signing.js';

export type Verdict = 'ok' | 'missing_signature' | 'bad_signature' | 'replayed' | 'missing_timestamp';
export type HmacBackend = 'native' | 'node';


export interface RequestVerifierOptions {
  secret: string;
  /** Header, encoding, prefix and signed content; default the nice-data-action preset. */
  scheme?: SignatureScheme;
  /** 0 disables the freshness check (signatures over timestamps are still verified). */
  replayWindowSeconds: number;
  /** Refuse correctly signed requests that carry no timestamp (default false; implied by a `timestamp.body` scheme). */
  requireTimestamp?: boolean;
  /** 'auto' (default): native when the addon loads, else node:crypto. */
  backend?: HmacBackend | 'auto';
  now?: () => number;
}

/** HMAC-SHA256(prefix ‖ body) compared with a claimed digest (64 hex digits), in constant time. */
type Check = (body: Uint8Array, signature: string, prefix: string | undefined) => boolean;

function nodeCheck(secret: string): Check {
  const { verify } = createSignatureVerifier(secret);
  return (body, signature, prefix) => verify(body, signature, prefix);
}

function nativeCheck(secret: string): Check {
  const { hmacSha256Verify } = nativeAddon();
  const key = Buffer.from(secret, 'utf8');
  return (body, signature, prefix) => hmacSha256Verify(key, body, signature, prefix);
}

/** What `RequestVerifier.prepare` leaves to the HMAC: a verdict already, or the check to make. */
export type PreparedCheck =
  | { readonly verdict: Exclude<Verdict, 'ok'> }
  | { readonly claimed: string; readonly prefix: string | undefined; readonly fresh: boolean; readonly stale: 'replayed' | 'missing_timestamp' };

const MISSING_SIGNATURE: PreparedCheck = Object.freeze({ verdict: 'missing_signature' });
const BAD_SIGNATURE: PreparedCheck = Object.freeze({ verdict: 'bad_signature' });
const MISSING_TIMESTAMP: PreparedCheck = Object.freeze({ verdict: 'missing_timestamp' });

export class RequestVerifier {
  readonly backend: HmacBackend;
  readonly scheme: SignatureScheme;
  /** Whether a request without the timestamp header is refused (REQUIRE_TIMESTAMP, or a `timestamp.body` scheme). */
  readonly requireTimestamp: boolean;
  private readonly check: Check;
  /** The header value → the digest it claims, or null; the identity for hex without prefix (the check validates). */
  private readonly claimed: (headerValue: string) => string | null;
  /** The header's value is taken as the hex digest as it is (hex, no prefix, the body alone signed). */
  readonly takesHexAsIs: boolean;
  private readonly bodyAloneSigned: boolean;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: RequestVerifierOptions) {
    if (options.secret.length === 0) throw new TypeError('webhook secret is empty');
    const want = options.backend ?? 'auto';
    let check: Check | undefined;
    let backend: HmacBackend = 'node';
    if (want !== 'node') {
      try {
        check = nativeCheck(options.secret);
        backend = 'native';
      } catch (err) {
        if (want === 'native') throw err;
      }
    }
    this.check = check ?? nodeCheck(options.secret);
    this.backend = backend;
    const scheme = options.scheme ?? DEFAULT_SIGNATURE_SCHEME;
    this.scheme = scheme;
    this.bodyAloneSigned = scheme.signedContent === 'body';
    // Today's default path stays as it was: every value reaches a check, and both checks
    // validate 64 hex digits themselves. Elsewhere the shape is checked first.
    const asIs = scheme.encoding === 'hex' && scheme.prefix === 'none' && this.bodyAloneSigned;
    this.claimed = asIs ? (v) => v : (v) => claimedDigestHex(v, scheme);
    this.takesHexAsIs = asIs;
    this.windowMs = options.replayWindowSeconds * 1000;
    this.requireTimestamp = (options.requireTimestamp ?? false) || !this.bodyAloneSigned;
    this.now = options.now ?? Date.now;
  }

  /**
   * Everything of `verify` but the HMAC itself, for a caller that computes it elsewhere (the
   * native per-webhook call): a verdict decided from the headers alone, or what the HMAC must
   * cover (`claimed` hex digest, `prefix`) and what to answer when it matches but the timestamp
   * does not pass (`fresh` false → `stale`).
   */
  prepare(signature: string, timestamp: string): PreparedCheck {
    if (signature === '') return MISSING_SIGNATURE;
    const claimed = this.claimed(signature);
    if (claimed === null) return BAD_SIGNATURE;
    if (timestamp === '') {
      if (!this.bodyAloneSigned) return MISSING_TIMESTAMP;
      return { claimed, prefix: undefined, fresh: !this.requireTimestamp, stale: 'missing_timestamp' };
    }
    if (!TIMESTAMP_PATTERN.test(timestamp)) return BAD_SIGNATURE;
    const fresh = !(this.windowMs > 0 && Math.abs(this.now() - Number(timestamp) * 1000) > this.windowMs);
    return { claimed, prefix: `${timestamp}.`, fresh, stale: 'replayed' };
  }

  /** `signature` and `timestamp` are the raw header values ('' when absent, as uWS reports them). */
  verify(body: Uint8Array, signature: string, timestamp: string): Verdict {
    if (signature === '') return 'missing_signature';
    const claimed = this.claimed(signature);
    if (claimed === null) return 'bad_signature';
    if (timestamp === '') {
      // A `timestamp.body` scheme signs nothing without the timestamp: there is nothing to check.
      if (!this.bodyAloneSigned) return 'missing_timestamp';
      if (!this.check(body, claimed, undefined)) return 'bad_signature';
      return this.requireTimestamp ? 'missing_timestamp' : 'ok';
    }
    if (!TIMESTAMP_PATTERN.test(timestamp)) return 'bad_signature';
    if (!this.check(body, claimed, `${timestamp}.`)) return 'bad_signature';
    if (this.windowMs > 0 && Math.abs(this.now() - Number(timestamp) * 1000) > this.windowMs) return 'replayed';
    return 'ok';
  }
}

/**
 * What a sender puts in the signature header, with or without a timestamp, in the default scheme
 * (src/cxone/signing.ts; `signWithScheme` in src/cxone/signature-scheme.ts for the others).
 */
export function signRequest(secret: string, body: Uint8Array | string, timestamp?: string): string {
  return timestamp === undefined ? signBody(secret, body) : signTimestampedBody(secret, timestamp, body);
}
