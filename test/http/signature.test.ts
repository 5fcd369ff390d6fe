/** The two HMAC backends of RequestVerifier (native addon, node:crypto) agree on every verdict. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { nativeAddon } from '@cxone-dedup/bloom/factory';
import { RequestVerifier, signRequest } from '../../src/http/signature.js';

const SECRET = 'signature-test-secret-0123456789';
const NOW = 1_767_225_600_000;

describe('native HMAC-SHA256', () => {
  const { hmacSha256Hex, hmacSha256Verify } = nativeAddon();

  it('matches RFC 4231 and node:crypto, with and without a prefix', () => {
    // RFC 4231 test case 2.
    assert.equal(
      hmacSha256Hex(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    for (const size of [0, 1, 55, 56, 63, 64, 65, 1000, 100_000]) {
      const body = Buffer.alloc(size, size % 251);
      const key = Buffer.from(SECRET);
      assert.equal(hmacSha256Hex(key, body), createHmac('sha256', key).update(body).digest('hex'), `size ${size}`);
      assert.equal(hmacSha256Hex(key, body, '123.'), createHmac('sha256', key).update('123.').update(body).digest('hex'));
      assert.equal(hmacSha256Hex(key, body, Buffer.from('123.')), hmacSha256Hex(key, body, '123.'));
    }
  });

  it('refuses wrong argument types with a TypeError and a long prefix with a RangeError', () => {
    const key = Buffer.from(SECRET);
    const body = Buffer.from('{}');
    const sig = hmacSha256Hex(key, body);
    const bad: unknown[][] = [
      [undefined, body, sig],
      ['key', body, sig],
      [key, '{}', sig],
      [key, [1, 2], sig],
      [key, new Uint16Array(2), sig],
      [key, body, 42],
      [key, body, null],
      [key, body, sig, 12],
      [key, body, sig, {}],
    ];
    for (const args of bad) {
      assert.throws(() => (hmacSha256Verify as (...a: unknown[]) => boolean)(...args), TypeError, JSON.stringify(args.map((a) => typeof a)));
    }
    assert.throws(() => hmacSha256Verify(key, body, sig, 'x'.repeat(65)), RangeError);
    assert.equal(hmacSha256Verify(key, body, sig, 'x'.repeat(64)), false);
  });
});

describe('RequestVerifier backends', () => {
  const native = new RequestVerifier({ secret: SECRET, replayWindowSeconds: 300, backend: 'native', now: () => NOW });
  const node = new RequestVerifier({ secret: SECRET, replayWindowSeconds: 300, backend: 'node', now: () => NOW });

  it('auto picks the native backend when the addon loads', () => {
    assert.equal(new RequestVerifier({ secret: SECRET, replayWindowSeconds: 0 }).backend, 'native');
    assert.equal(native.backend, 'native');
    assert.equal(node.backend, 'node');
  });

  it('give the same verdict for every case', () => {
    const body = Buffer.from('{"interactionId":"i-1","dataActionId":"d","updatedTimestamp":"2026-01-01T00:00:00Z"}');
    const good = signRequest(SECRET, body);
    const ts = String(NOW / 1000);
    const stale = String(NOW / 1000 - 301);
    const cases: Array<[Uint8Array, string, string, string]> = [
      [body, good, '', 'ok'],
      [body, good.toUpperCase(), '', 'ok'],
      [body, '', '', 'missing_signature'],
      [body, good.slice(1), '', 'bad_signature'],
      [body, `${good}0`, '', 'bad_signature'],
      [body, `g${good.slice(1)}`, '', 'bad_signature'],
      [body, signRequest('wrong-secret-0123456789', body), '', 'bad_signature'],
      [Buffer.concat([body, Buffer.from(' ')]), good, '', 'bad_signature'],
      [body, signRequest(SECRET, body, ts), ts, 'ok'],
      [body, signRequest(SECRET, body, ts), String(NOW / 1000 + 1), 'bad_signature'],
      [body, good, ts, 'bad_signature'],
      [body, signRequest(SECRET, body, stale), stale, 'replayed'],
      // A timestamp that is not Unix seconds is refused even when the signature covers it.
      [body, createHmac('sha256', SECRET).update('abc.').update(body).digest('hex'), 'abc', 'bad_signature'],
      [new Uint8Array(0), signRequest(SECRET, ''), '', 'ok'],
    ];
    for (const [b, sig, t, expected] of cases) {
      assert.equal(native.verify(b, sig, t), expected, `native: ${sig.slice(0, 8)} ${t}`);
      assert.equal(node.verify(b, sig, t), expected, `node: ${sig.slice(0, 8)} ${t}`);
    }
  });
});
