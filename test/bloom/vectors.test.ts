/**
 * Both filters against the shared vectors of test/vectors/ (docs/bloom-format.md): sizing, the
 * exact bits each key sets, and a snapshot byte for byte. The native part requires the addon.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type BloomFactory,
  type BloomFilterLike,
  type FallbackBloomFactory,
  HASH_ID,
  hashPositions,
  IMAGE_VERSION,
  loadFallbackFactory,
} from '@cxone-dedup/bloom/factory';
import {
  hashingVectors,
  requireNativeFactory,
  setBitsOf,
  sizingVectors,
  snapshotVector,
  type HashingVectors,
} from '../vectors/support.js';

const sizing = sizingVectors();
const hashing = hashingVectors();
const snap = snapshotVector();

let fallback: FallbackBloomFactory;
before(async () => {
  fallback = await loadFallbackFactory();
});

describe('the vectors themselves', () => {
  it('describe the current format and are internally consistent', () => {
    assert.equal(hashing.hashId, HASH_ID);
    assert.equal(snap.hashId, HASH_ID);
    assert.equal(snap.formatVersion, IMAGE_VERSION);
    assert.ok(hashing.keys.length >= 50, `${hashing.keys.length} keys`);
    const bytes = Buffer.from(snap.hex, 'hex');
    assert.equal(bytes.length, snap.byteLength);
    assert.equal(bytes.length, 48 + snap.bitCount / 8);
    assert.equal(bytes.readBigUInt64LE(40).toString(16).padStart(16, '0'), snap.checksum);
  });

  it('match XXH64 reference values published by the xxHash project', () => {
    const byName = new Map(hashing.keys.map((k) => [k.name, k]));
    assert.equal(byName.get('empty string')!.xxh64, 'ef46db3751d8e999');
    assert.equal(byName.get('abc')!.xxh64, '44bc2cf5ad770999');
    assert.equal(byName.get('xxhash sample')!.xxh64, 'fbcea83c8a378bf1');
  });

  it('hold positions equal to the closed form (h1 + i*h2) mod m in BigInt arithmetic', () => {
    for (const key of hashing.keys) {
      if (key.string !== undefined) assert.equal(Buffer.from(key.string, 'utf8').toString('hex'), key.hex, key.name);
      const h = BigInt(`0x${key.xxh64}`);
      hashing.shapes.forEach(({ bitCount, hashCount }, s) => {
        const m = BigInt(bitCount);
        const h1 = h % m;
        const h2 = (h >> 32n) % m | 1n;
        const expected = Array.from({ length: hashCount }, (_, i) => Number((h1 + BigInt(i) * h2) % m));
        const got = key.shapes[s]!;
        assert.deepEqual([got.h1, got.h2, got.positions], [Number(h1), Number(h2), expected], `${key.name} m=${bitCount}`);
      });
    }
  });
});

/** A snapshot of an empty filter of explicit (m, k), so each implementation can load any shape. */
function emptySnapshot(bitCount: number, hashCount: number): Buffer {
  const filter = fallback.create(1000, 0.01, { bitCount, hashCount });
  return filter.toBuffer();
}

const keyBytes = (key: HashingVectors['keys'][number]) => Buffer.from(key.hex, 'hex');

function checkAgainstVectors(name: string, getFactory: () => BloomFactory | Promise<BloomFactory>) {
  describe(`${name} filter against the vectors`, () => {
    let factory: BloomFactory;
    before(async () => {
      factory = await getFactory();
    });

    it('sizes every (capacity, errorRate) pair as the vectors say, and rejects the bad ones', () => {
      for (const v of sizing.valid) {
        const f = factory.create(v.capacity, v.errorRate);
        assert.deepEqual([f.bitCount, f.hashCount], [v.bitCount, v.hashCount], `${v.capacity}, ${v.errorRate}`);
        assert.deepEqual([f.capacity, f.errorRate, f.kind], [v.capacity, v.errorRate, factory.kind]);
      }
      for (const v of sizing.rejected) {
        assert.throws(() => factory.create(v.capacity, v.errorRate), RangeError, `${v.capacity}, ${v.errorRate}: ${v.why}`);
      }
    });

    // m = 2^34 would need a 2 GiB filter per implementation; that shape is checked on the
    // fallback's position arithmetic below and by the Rust unit tests.
    const testedShapes = hashing.shapes.map((s, i) => ({ ...s, i })).filter((s) => s.bitCount <= 2 ** 24);

    it('sets exactly the vector positions for every key, as a string and as its bytes', () => {
      for (const shape of testedShapes) {
        const filter: BloomFilterLike = factory.fromBuffer(emptySnapshot(shape.bitCount, shape.hashCount));
        assert.deepEqual([filter.bitCount, filter.hashCount], [shape.bitCount, shape.hashCount]);
        for (const key of hashing.keys) {
          const expected = [...new Set(key.shapes[shape.i]!.positions)].sort((a, b) => a - b);
          const forms: Array<string | Uint8Array> = key.string !== undefined ? [key.string, keyBytes(key)] : [keyBytes(key)];
          for (const form of forms) {
            filter.clear();
            assert.equal(filter.has(form), false, `${key.name}: empty filter`);
            assert.equal(filter.add(form), true, `${key.name}: first add`);
            assert.equal(filter.add(form), false, `${key.name}: second add`);
            assert.equal(filter.has(form), true, `${key.name}: has after add`);
            assert.equal(filter.setBitCount(), expected.length, `${key.name} (${typeof form}) m=${shape.bitCount}`);
            assert.deepEqual(setBitsOf(filter.toBuffer()), expected, `${key.name} (${typeof form}) m=${shape.bitCount}`);
          }
        }
      }
    });

    it('hashes a lone surrogate as U+FFFD (EF BF BD), like TextEncoder and N-API', () => {
      const filter = factory.create(1000, 0.01);
      assert.equal(filter.add('\ud800'), true);
      assert.equal(filter.add(Buffer.from([0xef, 0xbf, 0xbd])), false);
      assert.equal(filter.has('\ufffd'), true);
    });

    it('writes the vector snapshot byte for byte and reads it back', () => {
      const filter = factory.create(snap.capacity, snap.errorRate);
      for (let i = 0; i < snap.keyCount; i++) filter.add(`${snap.keyPrefix}${i}`);
      assert.equal(filter.setBitCount(), snap.setBitCount);
      const written = filter.toBuffer();
      assert.equal(written.toString('hex'), snap.hex);
      const loaded = factory.fromBuffer(Buffer.from(snap.hex, 'hex'));
      assert.deepEqual(
        [loaded.capacity, loaded.errorRate, loaded.bitCount, loaded.hashCount, loaded.setBitCount()],
        [snap.capacity, snap.errorRate, snap.bitCount, snap.hashCount, snap.setBitCount],
      );
      for (let i = 0; i < snap.keyCount; i++) assert.equal(loaded.has(`${snap.keyPrefix}${i}`), true, `key-${i}`);
      assert.equal(loaded.toBuffer().toString('hex'), snap.hex);
    });
  });
}

checkAgainstVectors('fallback', () => loadFallbackFactory());
checkAgainstVectors('native', requireNativeFactory);

describe('fallback position arithmetic against the vectors', () => {
  it('reproduces h1, h2 and every position for every shape, m = 2^34 included', () => {
    for (const key of hashing.keys) {
      const h = fallback.hasher.h64Raw(keyBytes(key));
      assert.equal(h.toString(16).padStart(16, '0'), key.xxh64, key.name);
      if (key.string !== undefined) assert.equal(fallback.hasher.h64(key.string), h, key.name);
      hashing.shapes.forEach(({ bitCount, hashCount }, s) => {
        assert.deepEqual(hashPositions(h, bitCount, hashCount), key.shapes[s], `${key.name} m=${bitCount}`);
      });
    }
  });

  it('agrees with BigInt arithmetic at the edges of the 64-bit range', () => {
    const edges = [0n, 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, 0xffffffff00000000n, 0x00000000ffffffffn, 0xdeadbeefcafebaben];
    for (const m of [64, 128, 1 << 20, 2 ** 31, 2 ** 32, 2 ** 32 + 64, 2 ** 33 + 64 * 3, 2 ** 34]) {
      for (const h of edges) {
        const M = BigInt(m);
        const h1 = h % M;
        const h2 = (h >> 32n) % M | 1n;
        const expected = Array.from({ length: 8 }, (_, i) => Number((h1 + BigInt(i) * h2) % M));
        assert.deepEqual(hashPositions(h, m, 8).positions, expected, `h=${h} m=${m}`);
      }
    }
  });
});
