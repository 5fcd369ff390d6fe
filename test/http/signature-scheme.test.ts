/**
 * Signature schemes as units: the header value codec (hex / base64, the sha256= prefix), signing,
 * and RequestVerifier's verdicts for every scheme on both HMAC backends.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { describe, it } from 'node:test';
import {
  claimedDigestHex,
  encodeSignature,
  SIGNATURE_ENCODINGS,
  SIGNATURE_PREFIXES,
  SIGNATURE_PRESETS,
  SIGNED_CONTENTS,
  signWithScheme,
  type SignatureScheme,
} from '../../src/cxone/signature-scheme.js';
import { RequestVerifier, signRequest } from '../../src/http/signature.js';

const SECRET = 'scheme-test-secret-0123456789abcdef';
const NOW_MS = 1_800_000_000_000;
const NOW_S = String(NOW_MS / 1000);
const body = Buffer.from('{"interactionId":"i-1","dataActionId":"d","updatedTimestamp":"2026-01-01T00:00:00Z"}');
const digest = createHmac('sha256', SECRET).update(body).digest();
const HEX = digest.toString('hex');
const B64 = digest.toString('base64');

describe('claimedDigestHex', () => {
  const hex = { encoding: 'hex', prefix: 'none' } as const;
  const b64 = { encoding: 'base64', prefix: 'none' } as const;

  it('hex: 64 hex digits in either case; nothing else', () => {
    assert.equal(claimedDigestHex(HEX, hex), HEX);
    assert.equal(claimedDigestHex(HEX.toUpperCase(), hex), HEX.toUpperCase());
    for (const bad of [HEX.slice(1), `${HEX}0`, `g${HEX.slice(1)}`, ` ${HEX}`, `${HEX} `, B64, `sha256=${HEX}`, '']) {
      assert.equal(claimedDigestHex(bad, hex), null, JSON.stringify(bad));
    }
  });

  it('base64: the canonical 44-character padded form only (no base64url, no missing padding, no stray bits)', () => {
    assert.equal(claimedDigestHex(B64, b64), HEX);
    const last = B64[42]!;
    // Same 4 data bits, a non-zero pad bit: decodes to the same bytes leniently, refused here.
    const sloppy = `${B64.slice(0, 42)}${String.fromCharCode(last.charCodeAt(0) + 1)}=`;
    for (const bad of [B64.slice(0, 43), `${B64}=`, `${B64.slice(0, 43)}.`, sloppy, HEX, `sha256=${B64}`, '']) {
      assert.equal(claimedDigestHex(bad, b64), null, JSON.stringify(bad));
    }
    // base64url: a digest whose standard form has + or /, spelt with - or _ (padded or not).
    const d = Array.from({ length: 100 }, (_, i) => createHmac('sha256', SECRET).update(String(i)).digest()).find((x) => /[+/]/.test(x.toString('base64')))!;
    assert.notEqual(claimedDigestHex(d.toString('base64'), b64), null);
    assert.equal(claimedDigestHex(d.toString('base64url'), b64), null);
    assert.equal(claimedDigestHex(`${d.toString('base64url')}=`, b64), null);
    // Every digest has exactly one accepted spelling, which decodes to it.
    for (let i = 0; i < 200; i++) {
      const d = createHmac('sha256', SECRET).update(String(i)).digest();
      assert.equal(claimedDigestHex(d.toString('base64'), b64), d.toString('hex'));
    }
  });

  it('prefix: none refuses sha256=, required demands it (exactly, lowercase), optional takes either', () => {
    for (const encoding of SIGNATURE_ENCODINGS) {
      const value = encoding === 'hex' ? HEX : B64;
      const none = { encoding, prefix: 'none' } as const;
      const required = { encoding, prefix: 'required' } as const;
      const optional = { encoding, prefix: 'optional' } as const;
      assert.equal(claimedDigestHex(`sha256=${value}`, none), null);
      assert.equal(claimedDigestHex(`sha256=${value}`, required), HEX);
      assert.equal(claimedDigestHex(value, required), null);
      for (const wrong of ['sha1=', 'sha512=', 'SHA256=', 'sha256:', 'sha256 =', ' sha256=', 'sha256=sha256=']) {
        assert.equal(claimedDigestHex(`${wrong}${value}`, required), null, `${encoding} ${wrong}`);
        assert.equal(claimedDigestHex(`${wrong}${value}`, optional), null, `${encoding} ${wrong} optional`);
      }
      assert.equal(claimedDigestHex(value, optional), encoding === 'hex' ? value : HEX);
      assert.equal(claimedDigestHex(`sha256=${value}`, optional), HEX);
    }
  });
});

describe('encodeSignature and signWithScheme', () => {
  it('write what claimedDigestHex reads back, for every encoding and prefix', () => {
    for (const encoding of SIGNATURE_ENCODINGS) {
      for (const prefix of SIGNATURE_PREFIXES) {
        const value = encodeSignature(digest, { encoding, prefix });
        assert.equal(value.startsWith('sha256='), prefix !== 'none');
        assert.equal(claimedDigestHex(value, { encoding, prefix })?.toLowerCase(), HEX, `${encoding} ${prefix}`);
      }
    }
  });

  it('sign the body, or <timestamp>.<body>; the defaults are what signRequest always wrote', () => {
    const dataAction = SIGNATURE_PRESETS['nice-data-action'];
    const expert = SIGNATURE_PRESETS['nice-expert'];
    assert.equal(signWithScheme(SECRET, body, dataAction), signRequest(SECRET, body));
    assert.equal(signWithScheme(SECRET, body, dataAction, NOW_S), signRequest(SECRET, body, NOW_S));
    assert.equal(signWithScheme(SECRET, body, expert, NOW_S), `sha256=${createHmac('sha256', SECRET).update(`${NOW_S}.`).update(body).digest('hex')}`);
    assert.throws(() => signWithScheme(SECRET, body, expert), /timestamp \(for X-Nexus-Timestamp\) is required/);
    assert.throws(() => signWithScheme(SECRET, body, expert, '1.5'), /whole seconds/);
    assert.throws(() => signWithScheme('', body, dataAction), /secret is empty/);
  });
});

describe('RequestVerifier with a scheme', () => {
  const backends = ['node', 'native'] as const;
  const verifier = (scheme: SignatureScheme, backend: 'node' | 'native', opts: { window?: number; require?: boolean } = {}) =>
    new RequestVerifier({ secret: SECRET, scheme, replayWindowSeconds: opts.window ?? 300, requireTimestamp: opts.require ?? false, backend, now: () => NOW_MS });

  const schemes: SignatureScheme[] = [];
  for (const encoding of SIGNATURE_ENCODINGS) {
    for (const prefix of SIGNATURE_PREFIXES) {
      for (const signedContent of SIGNED_CONTENTS) schemes.push({ header: 'x-sig', encoding, prefix, signedContent, timestampHeader: 'x-ts' });
    }
  }

  it('every scheme on both backends: right → ok; forged, tampered, other encoding or wrong prefix → bad_signature; stale → replayed', () => {
    for (const backend of backends) {
      for (const scheme of schemes) {
        const v = verifier(scheme, backend);
        const name = `${backend} ${scheme.encoding} ${scheme.prefix} ${scheme.signedContent}`;
        assert.equal(v.requireTimestamp, scheme.signedContent === 'timestamp.body', name);
        const good = signWithScheme(SECRET, body, scheme, NOW_S);
        const bare = good.replace(/^sha256=/, '');
        const other = scheme.encoding === 'hex' ? Buffer.from(bare, 'hex').toString('base64') : Buffer.from(bare, 'base64').toString('hex');
        assert.equal(v.verify(body, good, NOW_S), 'ok', name);
        assert.equal(v.verify(body, signWithScheme('another-secret-0123456789', body, scheme, NOW_S), NOW_S), 'bad_signature', `${name}: forged`);
        assert.equal(v.verify(Buffer.concat([body, Buffer.from(' ')]), good, NOW_S), 'bad_signature', `${name}: tampered body`);
        assert.equal(v.verify(body, good, String(Number(NOW_S) + 1)), 'bad_signature', `${name}: tampered timestamp`);
        assert.equal(v.verify(body, scheme.prefix === 'none' ? other : `sha256=${other}`, NOW_S), 'bad_signature', `${name}: other encoding`);
        assert.equal(v.verify(body, `sha1=${bare}`, NOW_S), 'bad_signature', `${name}: wrong prefix`);
        if (scheme.prefix === 'none') assert.equal(v.verify(body, `sha256=${bare}`, NOW_S), 'bad_signature', `${name}: unexpected prefix`);
        if (scheme.prefix === 'required') assert.equal(v.verify(body, bare, NOW_S), 'bad_signature', `${name}: missing prefix`);
        if (scheme.prefix === 'optional') assert.equal(v.verify(body, bare, NOW_S), 'ok', `${name}: prefix left out`);
        const stale = String(Number(NOW_S) - 301);
        assert.equal(v.verify(body, signWithScheme(SECRET, body, scheme, stale), stale), 'replayed', `${name}: stale`);
        assert.equal(v.verify(body, '', NOW_S), 'missing_signature', name);
        if (scheme.signedContent === 'body') {
          assert.equal(v.verify(body, signWithScheme(SECRET, body, scheme), ''), 'ok', `${name}: body alone`);
          assert.equal(verifier(scheme, backend, { require: true }).verify(body, signWithScheme(SECRET, body, scheme), ''), 'missing_timestamp', `${name}: required`);
        } else {
          // Nothing to check without the timestamp; a malformed value is still a bad signature first.
          assert.equal(v.verify(body, good, ''), 'missing_timestamp', `${name}: no timestamp`);
          assert.equal(v.verify(body, 'x', ''), 'bad_signature', `${name}: malformed, no timestamp`);
        }
      }
    }
  });

  it('node backend: base64 signatures too end in one timingSafeEqual of two 32-byte digests', () => {
    const cjsCrypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    const original = cjsCrypto.timingSafeEqual;
    const calls: Array<[number, number]> = [];
    cjsCrypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.push([a.byteLength, b.byteLength]);
      return original(a, b);
    }) as typeof original;
    syncBuiltinESMExports();
    try {
      const scheme: SignatureScheme = { header: 'x-sig', encoding: 'base64', prefix: 'required', signedContent: 'body', timestampHeader: 'x-ts' };
      const v = verifier(scheme, 'node');
      const good = signWithScheme(SECRET, body, scheme);
      assert.equal(v.verify(body, good, ''), 'ok');
      assert.equal(v.verify(body, signWithScheme('another-secret-0123456789', body, scheme), ''), 'bad_signature');
      assert.equal(v.verify(body, good.slice(7), ''), 'bad_signature', 'refused before any comparison');
      assert.deepEqual(calls, [
        [32, 32],
        [32, 32],
      ]);
    } finally {
      cjsCrypto.timingSafeEqual = original;
      syncBuiltinESMExports();
    }
  });
});
