/**
 * The webhook signature: `X-NICE-Signature` carries the lowercase hex HMAC-SHA256 of the exact
 * request body bytes, keyed with the shared webhook secret. Verification runs in constant time.
 */
import { createHmac, createSecretKey, timingSafeEqual, KeyObject } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-NICE-Signature';
/** Hex characters in a signature: 32 bytes of SHA-256. */
export const SIGNATURE_HEX_LENGTH = 64;

/** A secret as text (UTF-8), raw bytes, or a KeyObject prepared once by createSignatureVerifier. */
export type SigningSecret = string | Uint8Array | KeyObject;
/** A body as text (hashed as UTF-8) or the exact bytes received. */
export type SignedBody = string | Uint8Array;

const HEX64 = /^[0-9a-fA-F]{64}$/;

function checkSecret(secret: SigningSecret): void {
  const empty =
    secret instanceof KeyObject ? secret.symmetricKeySize === 0 : typeof secret === 'string' ? secret.length === 0 : secret.byteLength === 0;
  if (empty) throw new TypeError('webhook secret is empty');
}

function digest(secret: SigningSecret, body: SignedBody): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/** Lowercase hex HMAC-SHA256 of `body`. Throws TypeError on an empty secret. */
export function signBody(secret: SigningSecret, body: SignedBody): string {
  checkSecret(secret);
  return digest(secret, body).toString('hex');
}

/** Unix time in whole seconds, as the optional timestamp header carries it. */
export const TIMESTAMP_PATTERN = /^\d{1,12}$/;

/**
 * The signature a sender puts in `X-NICE-Signature` when it also sends the timestamp header
 * (replay protection, see src/http/signature.ts): HMAC-SHA256 over `<timestamp>.<body>`, the
 * header value, one ASCII dot, then the exact body bytes.
 */
export function signTimestampedBody(secret: SigningSecret, timestamp: string, body: SignedBody): string {
  checkSecret(secret);
  if (!TIMESTAMP_PATTERN.test(timestamp)) throw new TypeError('timestamp must be Unix time in whole seconds (1 to 12 digits)');
  return createHmac('sha256', secret).update(timestamp).update('.').update(body).digest('hex');
}

/**
 * The 32 bytes a header value stands for, or null unless it is exactly 64 hex digits (either
 * case). Looks only at the attacker-supplied header, never at the secret, so rejecting early
 * leaks nothing about the secret.
 */
export function decodeSignature(headerValue: string | null | undefined): Buffer | null {
  if (typeof headerValue !== 'string' || headerValue.length !== SIGNATURE_HEX_LENGTH || !HEX64.test(headerValue)) return null;
  return Buffer.from(headerValue, 'hex');
}

/**
 * True when `headerValue` is the HMAC of `body` under `secret`. Malformed headers (missing,
 * wrong length, non-hex) are rejected before any HMAC work; well-formed ones are compared with
 * crypto.timingSafeEqual on two 32-byte buffers. Throws TypeError on an empty secret.
 */
export function verifySignature(secret: SigningSecret, body: SignedBody, headerValue: string | null | undefined): boolean {
  checkSecret(secret);
  const claimed = decodeSignature(headerValue);
  if (claimed === null) return false;
  return timingSafeEqual(digest(secret, body), claimed);
}

export interface SignatureVerifier {
  sign(body: SignedBody): string;
  /** With `prefix` (e.g. `"<timestamp>."`), the signature must cover `prefix` followed by `body`. */
  verify(body: SignedBody, headerValue: string | null | undefined, prefix?: string): boolean;
}

/** Sign/verify bound to one secret, imported once as a KeyObject (for the request hot path). */
export function createSignatureVerifier(secret: string | Uint8Array): SignatureVerifier {
  checkSecret(secret);
  const key = createSecretKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);
  return {
    sign: (body) => digest(key, body).toString('hex'),
    verify: (body, headerValue, prefix) => {
      const claimed = decodeSignature(headerValue);
      if (claimed === null) return false;
      const hmac = createHmac('sha256', key);
      if (prefix !== undefined) hmac.update(prefix);
      return timingSafeEqual(hmac.update(body).digest(), claimed);
    },
  };
}
