import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import {
  type BloomImageReason,
  BloomSnapshotError,
  computeBloomParams,
  type FallbackBloomFactory,
  FallbackBloomFilter,
  loadFallbackFactory,
  MAX_BITS,
} from '@cxone-dedup/bloom/factory';

let factory: FallbackBloomFactory;
before(async () => {
  factory = await loadFallbackFactory();
});

describe('fallback filter at capacity 1,000,000', () => {
  for (const p of [0.01, 0.001]) {
    it(`has no false negatives and a measured FPR within 1.25x of p = ${p}`, () => {
      const n = 1_000_000;
      const filter = factory.create(n, p);
      for (let i = 0; i < n; i++) filter.add(`present-${i}`);
      let falseNegatives = 0;
      for (let i = 0; i < n; i++) if (!filter.has(`present-${i}`)) falseNegatives++;
      assert.equal(falseNegatives, 0);
      let falsePositives = 0;
      for (let i = 0; i < n; i++) if (filter.has(`absent-${i}`)) falsePositives++;
      const fpr = falsePositives / n;
      assert.ok(fpr <= 1.25 * p, `measured FPR ${fpr} is above 1.25 x ${p}`);
      // A filter far better than promised would be oversized, or not hashing as specified.
      assert.ok(fpr >= p / 2, `measured FPR ${fpr} is implausibly below ${p}`);
      const estimate = filter.estimatedFalsePositiveRate();
      assert.ok(estimate > p / 1.5 && estimate < p * 1.5, `estimated FPR ${estimate}`);
      const cardinality = filter.estimatedCardinality();
      assert.ok(Math.abs(cardinality - n) / n < 0.03, `estimated cardinality ${cardinality}`);
    });
  }
});

describe('fallback filter semantics', () => {
  it('add reports first sight, has finds it, strings and their UTF-8 bytes are one key', () => {
    const filter = factory.create(1000, 0.01);
    assert.equal(filter.kind, 'fallback');
    assert.equal(filter.has('contact-1'), false);
    assert.equal(filter.add('contact-1'), true);
    assert.equal(filter.add('contact-1'), false);
    assert.equal(filter.has('contact-1'), true);
    assert.equal(filter.has(Buffer.from('contact-1')), true);
    assert.equal(filter.add(new Uint8Array(Buffer.from('日本-é-😀'))), true);
    assert.equal(filter.has('日本-é-😀'), true);
    assert.equal(filter.setBitCount() <= filter.hashCount * 2, true);
    assert.ok(filter.setBitCount() > 0);
  });

  it('hashes strings as UTF-8 (xxhash-wasm h64 equals h64Raw of the encoded bytes)', () => {
    for (const key of ['', 'abc', 'é', '日本', '😀', 'x'.repeat(400), '\ud800 lone surrogate']) {
      assert.equal(factory.hasher.h64(key), factory.hasher.h64Raw(Buffer.from(key, 'utf8')), JSON.stringify(key));
    }
  });

  it('addMany and hasMany answer per key', () => {
    const filter = factory.create(1000, 0.01);
    assert.deepEqual(filter.addMany(['a', 'b', 'a', Buffer.from('b'), 'c']), [true, true, false, false, true]);
    assert.deepEqual(filter.hasMany(['a', 'b', 'c', 'zzz-not-there']), [true, true, true, false]);
    assert.deepEqual(filter.addMany([]), []);
  });

  it('clear zeroes every bit and keeps the sizing', () => {
    const filter = factory.create(1000, 0.01);
    for (let i = 0; i < 100; i++) filter.add(`k${i}`);
    assert.ok(filter.fillRatio() > 0);
    filter.clear();
    assert.equal(filter.setBitCount(), 0);
    assert.equal(filter.fillRatio(), 0);
    assert.equal(filter.estimatedCardinality(), 0);
    assert.equal(filter.has('k1'), false);
    assert.equal(filter.bitCount, 9600);
  });

  it('sizes as docs/bloom-format.md says', () => {
    const filter = factory.create(1_000_000, 0.001);
    assert.deepEqual(
      { m: filter.bitCount, k: filter.hashCount, n: filter.capacity, p: filter.errorRate },
      { m: 14_377_600, k: 10, n: 1_000_000, p: 0.001 },
    );
    assert.deepEqual(computeBloomParams(1, 0.5), { capacity: 1, errorRate: 0.5, bitCount: 64, hashCount: 44, byteLength: 8 });
  });
});

/** Asserts fn throws `type` with a message matching `message`. */
function throwsWith(fn: () => unknown, type: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, message: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.match((err as Error).message, message);
    return true;
  });
}

describe('fallback filter argument validation', () => {
  it('rejects bad capacity and errorRate with TypeError / RangeError naming the argument', () => {
    const h = () => factory.hasher;
    const bad: Array<[unknown, unknown, typeof TypeError | typeof RangeError, RegExp]> = [
      ['1000', 0.01, TypeError, /capacity/],
      [1000n, 0.01, TypeError, /capacity/],
      [undefined, 0.01, TypeError, /capacity/],
      [null, 0.01, TypeError, /capacity/],
      [{}, 0.01, TypeError, /capacity/],
      [NaN, 0.01, RangeError, /capacity/],
      [Infinity, 0.01, RangeError, /capacity/],
      [0, 0.01, RangeError, /capacity/],
      [-5, 0.01, RangeError, /capacity/],
      [1.5, 0.01, RangeError, /capacity/],
      [2 ** 53, 0.01, RangeError, /capacity/],
      [1000, '0.01', TypeError, /errorRate/],
      [1000, undefined, TypeError, /errorRate/],
      [1000, null, TypeError, /errorRate/],
      [1000, 0, RangeError, /errorRate/],
      [1000, 1, RangeError, /errorRate/],
      [1000, -0.1, RangeError, /errorRate/],
      [1000, 1.5, RangeError, /errorRate/],
      [1000, NaN, RangeError, /errorRate/],
      [1000, Infinity, RangeError, /errorRate/],
      [10_000_000_000, 0.01, RangeError, /2\^34/],
      [1, 1e-30, RangeError, /hash functions/],
    ];
    for (const [capacity, errorRate, type, message] of bad) {
      throwsWith(() => new FallbackBloomFilter(h(), capacity as number, errorRate as number), type, message);
      throwsWith(() => factory.create(capacity as number, errorRate as number), type, message);
      throwsWith(() => computeBloomParams(capacity, errorRate), type, message);
    }
  });

  it('rejects a missing hasher and bad options', () => {
    throwsWith(() => new FallbackBloomFilter(undefined as never, 1000, 0.01), TypeError, /hasher/);
    throwsWith(() => new FallbackBloomFilter({} as never, 1000, 0.01), TypeError, /hasher/);
    const h = factory.hasher;
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, 'shared' as never), TypeError, /options/);
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, { shared: 1 as never }), TypeError, /options\.shared/);
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, { storage: new Uint8Array(1200) as never }), TypeError, /options\.storage/);
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, { storage: new ArrayBuffer(1201) }), RangeError, /options\.storage/);
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, { storage: new ArrayBuffer(1200), shared: true }), TypeError, /options\.shared/);
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, { bitCount: 6400 }), TypeError, /hashCount/);
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, { bitCount: 6401, hashCount: 3 }), RangeError, /options\.bitCount/);
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, { bitCount: MAX_BITS * 2, hashCount: 3 }), RangeError, /options\.bitCount/);
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, { bitCount: 6400, hashCount: 65 }), RangeError, /options\.hashCount/);
    throwsWith(() => new FallbackBloomFilter(h, 1000, 0.01, { bitCount: 6400, hashCount: 0 }), RangeError, /options\.hashCount/);
  });

  it('rejects keys that are not strings or bytes, and changes nothing', () => {
    const filter = factory.create(1000, 0.01);
    filter.addMany(['x', 'y']);
    const before = filter.toBuffer();
    const badKeys: unknown[] = [123, 0, NaN, {}, { toString: () => 'x' }, undefined, null, true, ['x'], Symbol('x'), 1n, new Uint16Array(2), new ArrayBuffer(4)];
    for (const key of badKeys) {
      throwsWith(() => filter.add(key as never), TypeError, /key must be a string or a Uint8Array/);
      throwsWith(() => filter.has(key as never), TypeError, /key must be a string or a Uint8Array/);
    }
    throwsWith(() => filter.addMany(['fresh-1', 'fresh-2', 42 as never, 'fresh-3']), TypeError, /keys\[2\]/);
    throwsWith(() => filter.hasMany(['x', undefined as never]), TypeError, /keys\[1\]/);
    throwsWith(() => filter.addMany('abc' as never), TypeError, /keys must be an array/);
    throwsWith(() => filter.hasMany(undefined as never), TypeError, /keys must be an array/);
    assert.deepEqual(filter.toBuffer(), before, 'a rejected call changed the filter');
    assert.equal(filter.has('fresh-1'), false);
  });
});

describe('fallback snapshots', () => {
  function sample(): FallbackBloomFilter {
    const filter = factory.create(1000, 0.01);
    for (let i = 0; i < 500; i++) filter.add(`key-${i}`);
    return filter;
  }

  it('round-trips bytes, sizing and answers, also from a Buffer at an odd offset and into shared memory', () => {
    const filter = sample();
    const snap = filter.toBuffer();
    assert.equal(snap.byteLength, 48 + filter.bitCount / 8);
    const padded = Buffer.alloc(snap.byteLength + 3);
    snap.copy(padded, 3);
    for (const [input, shared] of [[snap, false], [padded.subarray(3), false], [new Uint8Array(snap), true]] as const) {
      const copy = factory.fromBuffer(input, { shared });
      assert.equal(copy.shared, shared);
      assert.deepEqual(
        [copy.capacity, copy.errorRate, copy.bitCount, copy.hashCount],
        [filter.capacity, filter.errorRate, filter.bitCount, filter.hashCount],
      );
      assert.deepEqual(copy.toBuffer(), snap);
      const probe = Array.from({ length: 1000 }, (_, i) => `key-${i}`);
      assert.deepEqual(copy.hasMany(probe), filter.hasMany(probe));
      assert.equal(copy.setBitCount(), filter.setBitCount());
    }
  });

  it('loads explicit m and k from the header rather than re-deriving them', () => {
    const filter = new FallbackBloomFilter(factory.hasher, 1000, 0.01, { bitCount: 128, hashCount: 2 });
    filter.add('a');
    const copy = factory.fromBuffer(filter.toBuffer());
    assert.deepEqual([copy.bitCount, copy.hashCount], [128, 2]);
    assert.equal(copy.has('a'), true);
  });

  /** A copy of a valid snapshot with `edit` applied (checksum left as it was unless `reseal`). */
  function corrupt(edit: (view: DataView, bytes: Buffer) => void, reseal = false): Buffer {
    const bytes = Buffer.from(sample().toBuffer());
    edit(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes);
    if (reseal) {
      const state = factory.hasher.create64(0n);
      state.update(bytes.subarray(0, 40)).update(bytes.subarray(48));
      bytes.writeBigUInt64LE(state.digest(), 40);
    }
    return bytes;
  }

  it('rejects every corrupted or truncated snapshot with a clear error, touching no filter', () => {
    const victim = sample();
    const victimBytes = victim.toBuffer();
    const cases: Array<[string, Uint8Array, BloomImageReason, RegExp]> = [
      ['empty', new Uint8Array(0), 'truncated', /0 bytes is shorter than the 48-byte header/],
      ['47 bytes', victimBytes.subarray(0, 47), 'truncated', /47 bytes/],
      ['header only', victimBytes.subarray(0, 48), 'bad_length', /truncated/],
      ['one byte short', victimBytes.subarray(0, victimBytes.byteLength - 1), 'bad_length', /truncated: 1247 bytes.*exactly 1248/],
      ['one byte extra', Buffer.concat([victimBytes, Buffer.from([0])]), 'bad_length', /trailing bytes/],
      ['bad magic', corrupt((v) => v.setUint8(0, 0x58)), 'bad_magic', /magic/],
      ['magic without its zero byte', corrupt((v) => v.setUint8(7, 0x21)), 'bad_magic', /magic/],
      ['a JSON file', Buffer.from(JSON.stringify({ bits: 'x'.repeat(100) })), 'bad_magic', /magic/],
      ['version 0', corrupt((v) => v.setUint16(8, 0, true)), 'bad_version', /version 0/],
      ['version 2', corrupt((v) => v.setUint16(8, 2, true)), 'bad_version', /version 2/],
      ['retired hash id 1', corrupt((v) => v.setUint16(10, 1, true)), 'bad_hash_id', /hash id 1/],
      ['hash id 3', corrupt((v) => v.setUint16(10, 3, true)), 'bad_hash_id', /hash id 3/],
      ['m = 0', corrupt((v) => v.setBigUint64(16, 0n, true)), 'bad_bit_count', /bit count 0/],
      ['m not a multiple of 64', corrupt((v) => v.setBigUint64(16, 9601n, true)), 'bad_bit_count', /bit count 9601/],
      ['m above 2^34', corrupt((v) => v.setBigUint64(16, BigInt(MAX_BITS) + 64n, true)), 'bad_bit_count', /bit count 17179869248/],
      ['m = 2^64 - 64', corrupt((v) => v.setBigUint64(16, 2n ** 64n - 64n, true)), 'bad_bit_count', /bit count/],
      ['k = 0', corrupt((v) => v.setUint32(12, 0, true)), 'bad_hash_count', /hash count 0/],
      ['k = 65', corrupt((v) => v.setUint32(12, 65, true)), 'bad_hash_count', /hash count 65/],
      ['k = 2^32 - 1', corrupt((v) => v.setUint32(12, 0xffffffff, true)), 'bad_hash_count', /hash count 4294967295/],
      ['capacity 0', corrupt((v) => v.setBigUint64(24, 0n, true)), 'bad_capacity', /capacity 0/],
      ['capacity 2^53', corrupt((v) => v.setBigUint64(24, 2n ** 53n, true)), 'bad_capacity', /capacity 9007199254740992/],
      ['capacity 2^64 - 1', corrupt((v) => v.setBigUint64(24, 2n ** 64n - 1n, true)), 'bad_capacity', /capacity/],
      ['error rate 0', corrupt((v) => v.setFloat64(32, 0, true)), 'bad_error_rate', /error rate 0/],
      ['error rate 1', corrupt((v) => v.setFloat64(32, 1, true)), 'bad_error_rate', /error rate 1/],
      ['error rate NaN', corrupt((v) => v.setFloat64(32, NaN, true)), 'bad_error_rate', /error rate NaN/],
      ['error rate -0.01', corrupt((v) => v.setFloat64(32, -0.01, true)), 'bad_error_rate', /error rate -0.01/],
      ['error rate Infinity', corrupt((v) => v.setFloat64(32, Infinity, true)), 'bad_error_rate', /error rate Infinity/],
      ['m says more bits than present', corrupt((v) => v.setBigUint64(16, 9664n, true)), 'bad_length', /truncated/],
      ['m says fewer bits than present', corrupt((v) => v.setBigUint64(16, 9536n, true)), 'bad_length', /trailing/],
      ['one flipped bit in the bits', corrupt((_, b) => void (b[100] = b[100]! ^ 0x10)), 'bad_checksum', /checksum mismatch/],
      ['capacity changed, checksum not', corrupt((v) => v.setBigUint64(24, 1001n, true)), 'bad_checksum', /checksum mismatch/],
      ['k changed, checksum not', corrupt((v) => v.setUint32(12, 6, true)), 'bad_checksum', /checksum mismatch/],
      ['checksum field changed', corrupt((v) => v.setUint8(40, v.getUint8(40) ^ 1)), 'bad_checksum', /checksum mismatch/],
      ['bits zeroed', corrupt((_, b) => void b.fill(0, 48)), 'bad_checksum', /checksum mismatch/],
    ];
    for (const [name, bytes, reason, message] of cases) {
      assert.throws(
        () => factory.fromBuffer(bytes),
        (err: unknown) => {
          assert.ok(err instanceof BloomSnapshotError, `${name}: expected BloomSnapshotError, got ${String(err)}`);
          assert.equal(err.code, 'ERR_BLOOM_SNAPSHOT', name);
          assert.equal(err.reason, reason, `${name}: ${err.message}`);
          assert.match(err.message, /^invalid Bloom filter snapshot: /, name);
          assert.match(err.message, message, name);
          return true;
        },
        name,
      );
    }
    for (const notBytes of ['CXBLOOM', null, undefined, [1, 2, 3], new ArrayBuffer(100), 42]) {
      throwsWith(() => factory.fromBuffer(notBytes as never), TypeError, /snapshot must be a Buffer or Uint8Array/);
    }
    assert.deepEqual(victim.toBuffer(), victimBytes, 'the source filter changed');
  });

  it('accepts an edited snapshot once its checksum matches again (the checksum is what rejected it)', () => {
    const edited = corrupt((v) => v.setBigUint64(24, 1001n, true), true);
    assert.equal(factory.fromBuffer(edited).capacity, 1001);
  });
});

describe('fallback filter in shared memory', () => {
  let worker: Worker | undefined;
  after(async () => {
    await worker?.terminate();
  });

  it('attaches a second filter to the same SharedArrayBuffer', () => {
    const a = factory.create(10_000, 0.01, { shared: true });
    assert.equal(a.shared, true);
    const layout = a.layout();
    assert.ok(layout.storage instanceof SharedArrayBuffer);
    a.add('before-attach');
    const b = factory.create(layout.capacity, layout.errorRate, layout);
    assert.equal(b.has('before-attach'), true, 'attached storage must not be zeroed');
    assert.equal(b.add('from-b'), true);
    assert.equal(a.has('from-b'), true);
    assert.equal(a.add('from-b'), false);
    a.clear();
    assert.equal(b.has('from-b'), false);
  });

  it('is shared with a worker thread that adds keys', async () => {
    const a = factory.create(100_000, 0.001, { shared: true });
    // The worker loads the package as any program would (its compiled CommonJS entry).
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      require('@cxone-dedup/bloom/factory').loadFallbackFactory().then((factory) => {
        const { layout, count } = workerData;
        const filter = factory.create(layout.capacity, layout.errorRate, layout);
        let fresh = 0;
        for (let i = 0; i < count; i++) if (filter.add('w-' + i)) fresh++;
        parentPort.postMessage({ fresh });
      }).catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));`;
    worker = new Worker(source, { eval: true, workerData: { layout: a.layout(), count: 5000 } });
    const reply = await new Promise<{ fresh?: number; error?: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('worker did not answer within 20 s')), 20_000);
      worker!.once('message', (m: { fresh?: number; error?: string }) => {
        clearTimeout(timer);
        resolve(m);
      });
      worker!.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    assert.equal(reply.error, undefined, reply.error);
    assert.ok(reply.fresh! > 4990, `fresh ${reply.fresh}`);
    for (let i = 0; i < 5000; i++) assert.equal(a.has(`w-${i}`), true, `w-${i}`);
    assert.equal(a.has('never-added'), false);
  });
});
