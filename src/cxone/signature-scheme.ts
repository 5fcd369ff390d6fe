/**
 * How a CXone product signs its webhooks: which header carries the HMAC-SHA256, how the 32 bytes
 * are written (hex or base64, with or without `sha256=`), and what is signed (the body, or
 * `<timestamp>.<body>` with a timestamp header). NICE documents different schemes per product,
 * so the daemon takes one as settings (src/config.ts), starting from a preset.
 *
 * Both sides use this module: the daemon reads a header value back to the digest it claims
 * (`claimedDigestHex`, then a constant-time comparison in src/http/signature.ts), and
 * `cxone-dedup sign/send` write one (`signWithScheme`).
 */
import { createHmac } from 'node:crypto';
import { TIMESTAMP_PATTERN, type SignedBody, type SigningSecret } from './signing.js';

/** `hex`: 64 hex digits, either case. `base64`: RFC 4648 §4 with padding, 44 characters. */
export type SignatureEncoding = 'hex' | 'base64';
/** Whether the header value starts with `sha256=`: never, either way, or always. */
export type SignaturePrefix = 'none' | 'optional' | 'required';
/**
 * `body`: the HMAC covers the raw body; a request that carries the timestamp header is signed
 * over `<timestamp>.<body>` instead (optional replay protection, REQUIRE_TIMESTAMP makes it
 * mandatory). `timestamp.body`: always `<timestamp>.<body>`; the timestamp header is required.
 */
export type SignedContent = 'body' | 'timestamp.body';

export const SIGNATURE_ENCODINGS: readonly SignatureEncoding[] = ['hex', 'base64'];
export const SIGNATURE_PREFIXES: readonly SignaturePrefix[] = ['none', 'optional', 'required'];
export const SIGNED_CONTENTS: readonly SignedContent[] = ['body', 'timestamp.body'];

/** The literal prefix SIGNATURE_PREFIX refers to (GitHub-style, as CXone Mpower Expert sends it). */
export const SHA256_PREFIX = 'sha256=';

export interface SignatureScheme {
  /** Header carrying the signature. Compared case-insensitively; the daemon reads it lowercased. */
  readonly header: string;
  readonly encoding: SignatureEncoding;
  readonly prefix: SignaturePrefix;
  readonly signedContent: SignedContent;
  /** Header carrying the signed timestamp (Unix seconds). */
  readonly timestampHeader: string;
}

/** A preset: a scheme, and the delivery-id header its sender adds (when it has one). */
export interface SignaturePreset extends SignatureScheme {
  readonly deliveryIdHeader: string | undefined;
}

export type SignaturePresetName = 'nice-data-action' | 'nice-expert';

/**
 * `nice-data-action`: `X-NICE-Signature`, hex over the body (what this daemon always accepted).
 * `nice-expert`: CXone Mpower Expert's documented `X-Nexus-Signature-256: sha256=<hex>` over
 * `<timestamp>.<payload>` with `X-Nexus-Timestamp`, and `X-Nexus-Delivery-Id`.
 */
export const SIGNATURE_PRESETS: Readonly<Record<SignaturePresetName, SignaturePreset>> = Object.freeze({
  'nice-data-action': Object.freeze({
    header: 'X-NICE-Signature',
    encoding: 'hex',
    prefix: 'none',
    signedContent: 'body',
    timestampHeader: 'X-NICE-Timestamp',
    deliveryIdHeader: undefined,
  }),
  'nice-expert': Object.freeze({
    header: 'X-Nexus-Signature-256',
    encoding: 'hex',
    prefix: 'required',
    signedContent: 'timestamp.body',
    timestampHeader: 'X-Nexus-Timestamp',
    deliveryIdHeader: 'X-Nexus-Delivery-Id',
  }),
});

export const SIGNATURE_PRESET_NAMES = Object.keys(SIGNATURE_PRESETS) as SignaturePresetName[];
export const DEFAULT_SIGNATURE_PRESET: SignaturePresetName = 'nice-data-action';
export const DEFAULT_SIGNATURE_SCHEME: SignatureScheme = SIGNATURE_PRESETS[DEFAULT_SIGNATURE_PRESET];

const KNOWN_HEADERS = new Map(
  Object.values(SIGNATURE_PRESETS)
    .flatMap((p) => [p.header, p.timestampHeader, p.deliveryIdHeader])
    .filter((h): h is string => h !== undefined)
    .map((h) => [h.toLowerCase(), h]),
);

/** A header name as the presets spell it (`x-nice-signature` → `X-NICE-Signature`), else as given: for messages. */
export function headerDisplayName(name: string): string {
  return KNOWN_HEADERS.get(name.toLowerCase()) ?? name;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
// 32 bytes in padded base64: 42 free characters, a 43rd that carries 4 bits (its low 2 bits
// zero), then one '='. Only the canonical spelling passes, so one digest has one header value.
const BASE64_32 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * The digest a header value claims, as 64 hex digits (the form the native comparison takes), or
 * null when the value does not have the scheme's shape: a missing, wrong or unexpected prefix,
 * the other encoding, base64url, a wrong length. Looks only at the attacker-supplied value, never
 * at the secret, so refusing early leaks nothing; the comparison itself is constant time.
 */
export function claimedDigestHex(headerValue: string, scheme: Pick<SignatureScheme, 'encoding' | 'prefix'>): string | null {
  let value = headerValue;
  if (scheme.prefix !== 'none') {
    if (value.startsWith(SHA256_PREFIX)) value = value.slice(SHA256_PREFIX.length);
    else if (scheme.prefix === 'required') return null;
  }
  if (scheme.encoding === 'hex') return HEX64.test(value) ? value : null;
  return BASE64_32.test(value) ? Buffer.from(value, 'base64').toString('hex') : null;
}

/** The header value for a digest: `sha256=` unless the scheme's prefix is `none`, then hex or base64. */
export function encodeSignature(digest: Uint8Array, scheme: Pick<SignatureScheme, 'encoding' | 'prefix'>): string {
  const bytes = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
  const text = scheme.encoding === 'hex' ? bytes.toString('hex') : bytes.toString('base64');
  return scheme.prefix === 'none' ? text : `${SHA256_PREFIX}${text}`;
}

/**
 * What a sender puts in the scheme's signature header for `body`: the HMAC-SHA256 over the body,
 * or over `<timestamp>.<body>` when a timestamp is given. A `timestamp.body` scheme needs one.
 * Throws TypeError on an empty secret, a bad timestamp, or a missing one.
 */
export function signWithScheme(secret: SigningSecret, body: SignedBody, scheme: SignatureScheme, timestamp?: string): string {
  const empty = typeof secret === 'string' ? secret.length === 0 : secret instanceof Uint8Array ? secret.byteLength === 0 : secret.symmetricKeySize === 0;
  if (empty) throw new TypeError('webhook secret is empty');
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) {
    if (!TIMESTAMP_PATTERN.test(timestamp)) throw new TypeError('timestamp must be Unix time in whole seconds (1 to 12 digits)');
    hmac.update(timestamp).update('.');
  } else if (scheme.signedContent === 'timestamp.body') {
    throw new TypeError(`this scheme signs <timestamp>.<body>: a timestamp (for ${scheme.timestampHeader}) is required`);
  }
  return encodeSignature(hmac.update(body).digest(), scheme);
}
