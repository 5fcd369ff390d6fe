import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  createSignatureVerifier,
  decodeSignature,
  signBody,
  signTimestampedBody,
  verifySignature,
} from '../../src/cxone/signing.js';

// RFC 4231, test case 2.
const KEY = 'Jefe';
const DATA = 'what do ya want for nothing?';
const MAC = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';

describe('signBody', () => {
  it('is lowercase hex HMAC-SHA256 (RFC 4231 vector)', () => {
    assert.equal(signBody(KEY, DATA), MAC);
    assert.equal(signBody(Buffer.from(KEY), Buffer.from(DATA)), MAC);
  });

  it('signs the exact bytes: a trailing newline changes the signature', () => {
    assert.notEqual(signBody(KEY, `${DATA}\n`), MAC);
  });

  it('refuses an empty secret', () => {
    assert.throws(() => signBody('', DATA), /secret is empty/);
    assert.throws(() => signBody(new Uint8Array(0), DATA), /secret is empty/);
  });
});

describe('signTimestampedBody', () => {
  it('covers "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', KEY).update(`1700000000.${DATA}`).digest('hex');
    assert.equal(signTimestampedBody(KEY, '1700000000', DATA), expected);
    assert.notEqual(signTimestampedBody(KEY, '1700000001', DATA), expected);
  });

  it('rejects a timestamp that is not whole Unix seconds', () => {
    for (const ts of ['', '1.5', '-1', 'now', '1234567890123']) {
      assert.throws(() => signTimestampedBody(KEY, ts, DATA), /whole seconds/, ts);
    }
  });
});

describe('verifySignature', () => {
  it('accepts the right signature, in either hex case', () => {
    assert.equal(verifySignature(KEY, DATA, MAC), true);
    assert.equal(verifySignature(KEY, Buffer.from(DATA), MAC.toUpperCase()), true);
  });

  it('rejects a wrong signature, body or secret', () => {
    const flipped = `${MAC.slice(0, 63)}${MAC[63] === '3' ? '4' : '3'}`;
    assert.equal(verifySignature(KEY, DATA, flipped), false);
    assert.equal(verifySignature(KEY, `${DATA} `, MAC), false);
    assert.equal(verifySignature('jefe', DATA, MAC), false);
  });

  it('rejects malformed headers without reaching the comparison (no throw on unequal lengths)', () => {
    const malformed = [
      undefined,
      null,
      '',
      MAC.slice(0, 63),
      `${MAC}0`,
      `${MAC}00`,
      `sha256=${MAC}`,
      ` ${MAC.slice(1)}`,
      'z'.repeat(64),
      'é'.repeat(64), // 64 characters, 128 bytes
      `${MAC.slice(0, 62)}g0`,
    ];
    for (const h of malformed) {
      assert.equal(decodeSignature(h), null, JSON.stringify(h));
      assert.equal(verifySignature(KEY, DATA, h), false, JSON.stringify(h));
    }
  });

  it('decodes a well-formed header to exactly 32 bytes', () => {
    const b = decodeSignature(MAC);
    assert.ok(b);
    assert.equal(b.length, 32);
    assert.equal(b.toString('hex'), MAC);
  });

  it('createSignatureVerifier agrees with the plain functions', () => {
    const v = createSignatureVerifier(KEY);
    assert.equal(v.sign(DATA), MAC);
    assert.equal(v.verify(Buffer.from(DATA), MAC), true);
    assert.equal(v.verify(DATA, MAC.slice(1)), false);
    assert.equal(v.verify(DATA, 'f'.repeat(64)), false);
    assert.throws(() => createSignatureVerifier(''), /secret is empty/);
  });
});
