/**
 * The native and the fallback filter are one format: snapshots go native -> fallback -> native
 * with identical bytes and identical answers, and both reject the same broken snapshots with the
 * same error class, code and reason.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BloomSnapshotError,
  loadFallbackFactory,
  type BloomFactory,
  type BloomImageReason,
  type BloomKey,
  type FallbackBloomFactory,
} from '@cxone-dedup/bloom/factory';
import { requireNativeFactory } from '../vectors/support.js';

let native: BloomFactory;
let fallback: FallbackBloomFactory;
before(async () => {
  fallback = await loadFallbackFactory();
  native = await requireNativeFactory();
});

/** A deterministic mix of string (ASCII, multi-byte, long) and byte keys. */
function keys(prefix: string, count: number): BloomKey[] {
  const out: BloomKey[] = [];
  for (let i = 0; i < count; i++) {
    switch (i % 5) {
      case 0:
        out.push(`${prefix}-${i}`);
        break;
      case 1:
        out.push(`${prefix}-日本-é-😀-${i}`);
        break;
      case 2:
        out.push(Buffer.from(`${prefix}-bytes-${i}`));
        break;
      case 3:
        out.push(`${prefix}-${'x'.repeat(300)}-${i}`);
        break;
      default:
        out.push(Uint8Array.from({ length: 12 }, (_, j) => (i * 31 + j * 7 + prefix.length) & 0xff));
    }
  }
  return out;
}

describe('native <-> fallback', () => {
  for (const [capacity, errorRate] of [
    [1000, 0.01],
    [100_000, 0.001],
  ] as const) {
    it(`round-trips a snapshot native -> fallback -> native (capacity ${capacity}, p ${errorRate})`, () => {
      const present = keys('present', capacity / 2);
      const absent = keys('absent', capacity);
      const probe = [...present, ...absent];

      const n1 = native.create(capacity, errorRate);
      assert.equal(n1.kind, 'native');
      n1.addMany(present);
      const nativeBytes = n1.toBuffer();

      const f = fallback.fromBuffer(nativeBytes);
      assert.equal(f.kind, 'fallback');
      assert.deepEqual([f.capacity, f.errorRate, f.bitCount, f.hashCount], [n1.capacity, n1.errorRate, n1.bitCount, n1.hashCount]);
      const nativeAnswers = n1.hasMany(probe);
      assert.deepEqual(f.hasMany(probe), nativeAnswers);
      assert.ok(nativeAnswers.slice(0, present.length).every(Boolean), 'a present key was reported absent');
      assert.ok(nativeAnswers.slice(present.length).some((x) => !x), 'every absent key was reported present');
      const fallbackBytes = f.toBuffer();
      assert.ok(fallbackBytes.equals(nativeBytes), 'fallback re-encoding differs from the native snapshot');

      const n2 = native.fromBuffer(fallbackBytes);
      assert.deepEqual(n2.hasMany(probe), nativeAnswers);
      assert.ok(n2.toBuffer().equals(nativeBytes), 'native re-encoding differs');
      assert.equal(n2.setBitCount(), f.setBitCount());
      assert.equal(n2.fillRatio(), f.fillRatio());

      // Both keep agreeing after further adds, return values included.
      const more = keys('more', 200);
      assert.deepEqual(f.addMany(more), n2.addMany(more));
      assert.ok(f.toBuffer().equals(n2.toBuffer()));
    });
  }

  it('builds the same filter from the same keys independently', () => {
    const ks = keys('independent', 5000);
    const a = native.create(10_000, 0.01);
    const b = fallback.create(10_000, 0.01);
    assert.deepEqual(a.addMany(ks), b.addMany(ks));
    assert.ok(a.toBuffer().equals(b.toBuffer()));
  });

  it('both reject the same broken snapshots, with one error class, code and reason, and keep working afterwards', () => {
    const good = native.create(1000, 0.01);
    good.add('k');
    const bytes = good.toBuffer();
    const edit = (fn: (b: Buffer) => void) => {
      const copy = Buffer.from(bytes);
      fn(copy);
      return copy;
    };
    const broken: Array<[string, Buffer, BloomImageReason]> = [
      ['truncated header', bytes.subarray(0, 20), 'truncated'],
      ['truncated bits', bytes.subarray(0, bytes.length - 8), 'bad_length'],
      ['trailing byte', Buffer.concat([bytes, Buffer.from([0])]), 'bad_length'],
      ['magic', edit((b) => void (b[0] = 0)), 'bad_magic'],
      ['version', edit((b) => b.writeUInt16LE(9, 8)), 'bad_version'],
      ['hash id 1', edit((b) => b.writeUInt16LE(1, 10)), 'bad_hash_id'],
      ['k = 0', edit((b) => b.writeUInt32LE(0, 12)), 'bad_hash_count'],
      ['k = 65', edit((b) => b.writeUInt32LE(65, 12)), 'bad_hash_count'],
      ['m = 100', edit((b) => b.writeBigUInt64LE(100n, 16)), 'bad_bit_count'],
      ['m = 2^35', edit((b) => b.writeBigUInt64LE(2n ** 35n, 16)), 'bad_bit_count'],
      ['capacity 0', edit((b) => b.writeBigUInt64LE(0n, 24)), 'bad_capacity'],
      ['capacity 2^53', edit((b) => b.writeBigUInt64LE(2n ** 53n, 24)), 'bad_capacity'],
      ['error rate 1', edit((b) => b.writeDoubleLE(1, 32)), 'bad_error_rate'],
      ['error rate NaN', edit((b) => b.writeDoubleLE(NaN, 32)), 'bad_error_rate'],
      ['checksum', edit((b) => void (b[44] = b[44]! ^ 0xff)), 'bad_checksum'],
      ['flipped bit', edit((b) => void (b[60] = b[60]! ^ 1)), 'bad_checksum'],
    ];
    for (const [name, snapshot, reason] of broken) {
      for (const factory of [native, fallback]) {
        assert.throws(
          () => factory.fromBuffer(snapshot),
          (err: unknown) => {
            assert.ok(err instanceof BloomSnapshotError, `${factory.kind}, bad ${name}: ${String(err)}`);
            assert.equal(err.name, 'BloomSnapshotError');
            assert.equal(err.code, 'ERR_BLOOM_SNAPSHOT', `${factory.kind}, bad ${name}`);
            assert.equal(err.reason, reason, `${factory.kind}, bad ${name}: ${err.message}`);
            assert.match(err.message, /^invalid Bloom filter snapshot: /);
            return true;
          },
          `${factory.kind} accepted a snapshot with bad ${name}`,
        );
      }
    }
    assert.equal(good.has('k'), true);
    assert.ok(good.toBuffer().equals(bytes));
    assert.ok(native.fromBuffer(bytes).has('k'));
  });
});
