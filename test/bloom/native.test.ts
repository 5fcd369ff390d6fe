/**
 * The native filter through its real addon: accuracy at 10^6 keys, every kind of bad input
 * from JS (clear error class, message and code; the filter unchanged), snapshots, estimates,
 * shared-memory checks. Fails (never skips) when the addon cannot load.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BloomSnapshotError, type NativeBloomFactory, type NativeBloomFilter } from '@cxone-dedup/bloom/factory';

let native: NativeBloomFactory;

before(async () => {
  try {
    const mod = await import('@cxone-dedup/bloom/factory');
    native = mod.loadNativeFactory();
  } catch (err) {
    throw new Error(
      `the native Bloom addon is required by this test but could not load (${(err as Error).message}); build it with \`npm run build:native\``,
      { cause: err },
    );
  }
});

const present = (i: number) => `present-${i}`;
const absent = (i: number) => `absent-${i}`;

/** Asserts that `fn` throws `cls` with a message matching `message` (and `code` when given). */
function throwsLike(fn: () => unknown, cls: ErrorConstructor, message: RegExp, code?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    assert.match((err as Error).message, message);
    if (code !== undefined) assert.equal((err as { code?: unknown }).code, code);
    return true;
  });
}

describe('native filter accuracy at capacity 1,000,000', () => {
  it('has no false negatives over 1,000,000 inserted keys', () => {
    const f = native.create(1_000_000, 0.001);
    for (let i = 0; i < 1_000_000; i++) f.add(present(i));
    let missing = -1;
    for (let i = 0; i < 1_000_000; i++) {
      if (!f.has(present(i))) {
        missing = i;
        break;
      }
    }
    assert.equal(missing, -1, `key ${present(missing)} was added but is reported absent`);
    // The batch form agrees.
    const mask = f.hasManyMask(Array.from({ length: 100_000 }, (_, i) => present(i * 10)));
    assert.ok(mask.every((b) => b === 1));
  });

  for (const p of [0.01, 0.001]) {
    it(`measures a false-positive rate within 1.25x of p = ${p} over 1,000,000 absent keys`, () => {
      const f = native.create(1_000_000, p);
      for (let i = 0; i < 1_000_000; i++) f.add(present(i));
      let positives = 0;
      for (let i = 0; i < 1_000_000; i++) if (f.has(absent(i))) positives++;
      const rate = positives / 1_000_000;
      assert.ok(rate <= p * 1.25, `measured ${rate}, above 1.25 * ${p}`);
      assert.ok(rate >= p * 0.5, `measured ${rate}, implausibly below ${p}`);
      // The filter's own estimate agrees with what was measured.
      const est = f.estimatedFalsePositiveRate();
      assert.ok(Math.abs(est - rate) < p * 0.25, `estimate ${est} vs measured ${rate}`);
      const card = f.estimatedCardinality();
      assert.ok(Math.abs(card - 1_000_000) < 20_000, `estimated cardinality ${card}`);
    });
  }
});

describe('native filter basics', () => {
  it('add is test-and-set, strings and bytes are the same key', () => {
    const f = native.create(1000, 0.01);
    assert.equal(f.kind, 'native');
    assert.equal(f.has('abc'), false);
    assert.equal(f.add('abc'), true);
    assert.equal(f.add('abc'), false);
    assert.equal(f.has(Buffer.from('abc')), true);
    assert.equal(f.has(new Uint8Array([0x61, 0x62, 0x63])), true);
    assert.equal(f.add(new Uint8Array([0x61, 0x62, 0x63]).subarray(0, 2)), true, "'ab' is a new key");
    assert.equal(f.has('ab'), true);
    assert.equal(f.add(''), true, 'the empty key is a key');
    assert.equal(f.has(Buffer.alloc(0)), true);
  });

  it('hashes long and non-ASCII strings exactly as their UTF-8 bytes', () => {
    const f = native.create(10_000, 0.001);
    const keys = [
      'é'.repeat(300), // 600 bytes: past the stack buffer
      `${'x'.repeat(252)}😀`, // a 4-byte character across the stack buffer's end
      `${'x'.repeat(250)}€€`,
      'a'.repeat(251),
      'b'.repeat(255),
      'c'.repeat(100_000),
      'lone \ud800 surrogate', // encoded as U+FFFD, like Buffer.from
      '日本語のキー',
    ];
    for (const k of keys) {
      assert.equal(f.add(k), true, `first add of a ${k.length}-char key`);
      assert.equal(f.has(Buffer.from(k, 'utf8')), true, `bytes of a ${k.length}-char key`);
      assert.equal(f.add(Buffer.from(k, 'utf8')), false);
    }
    assert.equal(f.has('é'.repeat(299)), false);
    assert.equal(f.has(`${'x'.repeat(252)}😁`), false);
  });

  it('addMany and hasMany answer like add and has, in order, duplicates included', () => {
    const f = native.create(1000, 0.01);
    assert.deepEqual(f.addMany(['a', 'b', 'a', Buffer.from('b'), 'c']), [true, true, false, false, true]);
    assert.deepEqual(f.hasMany(['a', 'zz', Buffer.from('c')]), [true, false, true]);
    assert.deepEqual(f.hasMany([]), []);
    assert.deepEqual(f.addMany([]), []);
    assert.deepEqual([...f.addManyMask(['d', 'd'])], [1, 0]);
    assert.deepEqual([...f.hasManyMask(['d', 'e'])], [1, 0]);
  });

  it('the all-strings batch path (one joined read) answers exactly like single calls', () => {
    const f = native.create(10_000, 0.01);
    const g = native.create(10_000, 0.01);
    // Empty keys, keys with U+0000 inside (the joined read then falls back), multi-byte
    // UTF-8, long keys, and repeats.
    const keys = ['', 'a', 'a\u0000b', '\u0000', 'é', '日本', '😁', 'x'.repeat(1000), 'a', '', 'b\u0000', 'plain'];
    const viaBatch = f.addMany(keys);
    const viaSingle = keys.map((k) => g.add(k));
    assert.deepEqual(viaBatch, viaSingle);
    assert.deepEqual(f.toBuffer(), g.toBuffer(), 'the same bits');
    const probe = [...keys, 'never', 'a\u0000c', 'ab', 'a b'];
    assert.deepEqual(f.hasMany(probe), probe.map((k) => g.has(k)));
    // Without U+0000: the fast path proper, same answers.
    const clean = probe.filter((k) => !k.includes('\u0000'));
    assert.deepEqual(f.hasMany(clean), clean.map((k) => g.has(k)));
    assert.deepEqual([...f.hasManyMask(clean)], clean.map((k) => (g.has(k) ? 1 : 0)));
    // A string key equals its UTF-8 bytes in a mixed batch.
    assert.deepEqual(f.hasMany(['日本', Buffer.from('日本', 'utf8'), 'never']), [true, true, false]);
  });

  it('reports sizing, fill and estimates', () => {
    const f = native.create(1_000_000, 0.001);
    assert.equal(f.capacity, 1_000_000);
    assert.equal(f.errorRate, 0.001);
    assert.equal(f.bitCount, 14_377_600);
    assert.equal(f.hashCount, 10);
    assert.equal(f.byteLength, 1_797_200);
    assert.equal(f.sharedMemory, null);
    assert.deepEqual(native.params(1_000_000, 0.001), {
      capacity: 1_000_000,
      errorRate: 0.001,
      bitCount: 14_377_600,
      hashCount: 10,
      byteLength: 1_797_200,
    });
    assert.equal(f.setBitCount(), 0);
    assert.equal(f.fillRatio(), 0);
    assert.equal(f.estimatedCardinality(), 0);
    assert.equal(f.estimatedFalsePositiveRate(), 0);
    f.add('one');
    assert.equal(f.setBitCount(), 10);
    assert.equal(f.fillRatio(), 10 / 14_377_600);
    const expectedFpr = (10 / 14_377_600) ** 10;
    assert.ok(Math.abs(f.estimatedFalsePositiveRate() - expectedFpr) <= expectedFpr * 1e-12);
    assert.ok(Math.abs(f.estimatedCardinality() - 1) < 1e-3);
  });

  it('estimates an infinite cardinality once every bit is set', () => {
    const f = native.create(1, 0.5); // 64 bits, k = 44
    assert.equal(f.bitCount, 64);
    for (let i = 0; f.fillRatio() < 1 && i < 10_000; i++) f.add(`k${i}`);
    assert.equal(f.fillRatio(), 1);
    assert.equal(f.setBitCount(), 64);
    assert.equal(f.estimatedCardinality(), Infinity);
    assert.equal(f.estimatedFalsePositiveRate(), 1);
  });

  it('clear zeroes every bit and keeps the filter usable', () => {
    const f = native.create(1000, 0.01);
    f.addMany(['a', 'b', 'c']);
    f.clear();
    assert.equal(f.setBitCount(), 0);
    assert.equal(f.has('a'), false);
    assert.equal(f.add('a'), true);
  });
});

describe('native filter rejects bad arguments from JS and stays unchanged', () => {
  const badKeys: Array<[string, unknown, RegExp]> = [
    ['a number', 42, /got the number 42/],
    ['an object', {}, /got an object/],
    ['undefined', undefined, /got undefined/],
    ['null', null, /got null/],
    ['an array', ['a'], /got an array/],
    ['a boolean', true, /got a boolean/],
    ['a symbol', Symbol('k'), /got a symbol/],
    ['a bigint', 1n, /got a bigint/],
    ['a function', () => 'k', /got a function/],
    ['an Int8Array', new Int8Array(4), /got an Int8Array/],
    ['a Uint16Array', new Uint16Array(4), /got a Uint16Array/],
    ['an ArrayBuffer', new ArrayBuffer(4), /got an object/],
    ['a DataView', new DataView(new ArrayBuffer(4)), /got an object/],
  ];

  function filled(): NativeBloomFilter {
    const f = native.create(1000, 0.01);
    f.addMany(['x', 'y', 'z']);
    return f;
  }

  for (const [name, key, got] of badKeys) {
    it(`add/has/addMany/hasMany of ${name} throw a TypeError`, () => {
      const f = filled();
      const before = f.toBuffer();
      const call = (fn: (k: never) => unknown) => () => fn(key as never);
      throwsLike(call((k) => f.add(k)), TypeError, /^key must be a string or a Uint8Array\/Buffer, /, 'ERR_INVALID_ARG_TYPE');
      throwsLike(call((k) => f.has(k)), TypeError, got, 'ERR_INVALID_ARG_TYPE');
      throwsLike(() => f.addMany(['new-1', 'new-2', key] as never), TypeError, /^keys\[2\] must be a string or a Uint8Array\/Buffer, /);
      throwsLike(() => f.hasMany(['x', key] as never), TypeError, /^keys\[1\] must be/);
      throwsLike(() => f.addManyMask([key] as never), TypeError, /^keys\[0\] must be/);
      assert.ok(f.toBuffer().equals(before), 'a rejected call changed the filter');
      assert.equal(f.has('new-1'), false, 'addMany added keys before a bad one');
    });
  }

  it('add() with no argument and hasMany of a non-array throw TypeErrors', () => {
    const f = filled();
    const before = f.toBuffer();
    throwsLike(() => (f.add as () => boolean)(), TypeError, /^key must be .*got undefined/);
    for (const bad of ['x', undefined, null, 7, { length: 1, 0: 'x' }, new Set(['x'])]) {
      throwsLike(() => f.hasMany(bad as never), TypeError, /^keys must be an array of strings or Uint8Arrays, got /);
      throwsLike(() => f.addMany(bad as never), TypeError, /^keys must be an array/);
    }
    throwsLike(() => f.hasMany([1, 2] as never), TypeError, /^keys\[0\] must be .*got the number 1/);
    throwsLike(() => f.addMany([, 'x'] as never), TypeError, /^keys\[0\] must be .*got undefined/);
    assert.ok(f.toBuffer().equals(before));
  });

  it('a key getter that throws propagates its error and adds nothing', () => {
    const f = filled();
    const before = f.toBuffer();
    const keys = ['fresh'];
    Object.defineProperty(keys, 1, {
      get() {
        throw new Error('boom from a getter');
      },
      enumerable: true,
    });
    throwsLike(() => f.addMany(keys), Error, /boom from a getter/);
    assert.ok(f.toBuffer().equals(before));
  });

  it('methods refuse a receiver that is not a BloomFilter', () => {
    const proto = native.BloomFilter.prototype;
    throwsLike(() => proto.has.call({}, 'x'), TypeError, /Illegal invocation/);
    throwsLike(() => proto.add.call(Object.create(proto), 'x'), TypeError, /Illegal invocation/);
    throwsLike(() => proto.toBuffer.call(new Date()), TypeError, /Illegal invocation/);
  });

  const badConstructors: Array<[unknown[], ErrorConstructor, RegExp]> = [
    [[], TypeError, /^capacity must be a number, got undefined/],
    [['1000', 0.01], TypeError, /^capacity must be a number, got a string/],
    [[null, 0.01], TypeError, /^capacity must be a number, got null/],
    [[1000n, 0.01], TypeError, /^capacity must be a number, got a bigint/],
    [[1000], TypeError, /^errorRate must be a number, got undefined/],
    [[1000, '0.01'], TypeError, /^errorRate must be a number, got a string/],
    [[0, 0.01], RangeError, /^capacity must be an integer between 1 and 2\^53-1, got 0$/],
    [[-5, 0.01], RangeError, /got -5$/],
    [[1.5, 0.01], RangeError, /got 1.5$/],
    [[NaN, 0.01], RangeError, /got NaN$/],
    [[Infinity, 0.01], RangeError, /got Infinity$/],
    [[2 ** 53, 0.01], RangeError, /^capacity must be an integer/],
    [[1000, 0], RangeError, /^errorRate must be a finite number strictly between 0 and 1, got 0$/],
    [[1000, 1], RangeError, /got 1$/],
    [[1000, -0.1], RangeError, /got -0.1$/],
    [[1000, NaN], RangeError, /got NaN$/],
    [[1000, Infinity], RangeError, /got Infinity$/],
    [[1e15, 0.01], RangeError, /above the maximum of 17179869184 \(2\^34\)/],
    [[1_000_000, 1e-25], RangeError, /hash functions, above the maximum of 64/],
  ];

  for (const [args, cls, message] of badConstructors) {
    it(`new BloomFilter(${args.map((a) => (typeof a === 'bigint' ? `${a}n` : JSON.stringify(a))).join(', ')}) throws ${cls.name}`, () => {
      const code = cls === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE';
      const Ctor = native.BloomFilter as unknown as new (...a: unknown[]) => unknown;
      throwsLike(() => new Ctor(...args), cls, message, code);
      throwsLike(() => native.params(...(args as [number, number])), cls, message, code);
      throwsLike(() => native.createShared(...(args as [number, number])), cls, message, code);
    });
  }

  it('the class cannot be called without new', () => {
    const call = native.BloomFilter as unknown as (n: number, p: number) => unknown;
    throwsLike(() => call(10, 0.1), TypeError, /cannot be invoked without 'new'/);
  });
});

describe('native snapshots', () => {
  function sample(): { f: NativeBloomFilter; snap: Buffer } {
    const f = native.create(1000, 0.01);
    for (let i = 0; i < 600; i++) f.add(`k${i}`);
    return { f, snap: f.toBuffer() };
  }

  it('round-trips through toBuffer / fromBuffer bit for bit', () => {
    const { f, snap } = sample();
    assert.ok(Buffer.isBuffer(snap));
    assert.equal(snap.length, 48 + f.bitCount / 8);
    assert.equal(snap.subarray(0, 8).toString('latin1'), 'CXBLOOM\0');
    assert.equal(snap.readUInt16LE(8), 1, 'format version');
    assert.equal(snap.readUInt16LE(10), 2, 'hash id');
    assert.equal(snap.readUInt32LE(12), f.hashCount);
    assert.equal(snap.readBigUInt64LE(16), BigInt(f.bitCount));
    assert.equal(snap.readBigUInt64LE(24), 1000n);
    assert.equal(snap.readDoubleLE(32), 0.01);
    const g = native.fromBuffer(snap);
    assert.equal(g.kind, 'native');
    assert.deepEqual(
      [g.capacity, g.errorRate, g.bitCount, g.hashCount],
      [f.capacity, f.errorRate, f.bitCount, f.hashCount],
    );
    assert.ok(g.toBuffer().equals(snap));
    const probe = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    assert.deepEqual(g.hasMany(probe), f.hasMany(probe));
    // The copy is independent of the original.
    g.add('only-in-g');
    assert.equal(f.has('only-in-g'), false);
    // A Uint8Array view at an offset works too.
    const padded = new Uint8Array(snap.length + 3);
    padded.set(snap, 3);
    assert.ok(native.fromBuffer(padded.subarray(3)).toBuffer().equals(snap));
  });

  it('round-trips an empty filter and a shared one', () => {
    const empty = native.create(5, 0.2);
    assert.ok(native.fromBuffer(empty.toBuffer()).toBuffer().equals(empty.toBuffer()));
    const shared = native.createShared(1000, 0.01);
    shared.add('s');
    const back = native.fromBuffer(shared.toBuffer());
    assert.equal(back.sharedMemory, null);
    assert.equal(back.has('s'), true);
  });

  it('rejects a snapshot argument of the wrong type with a TypeError', () => {
    for (const bad of ['x', undefined, null, 42, [1, 2, 3], {}, new ArrayBuffer(64), new Uint16Array(40)]) {
      throwsLike(() => native.fromBuffer(bad as never), TypeError, /^snapshot must be a Buffer or Uint8Array, got /, 'ERR_INVALID_ARG_TYPE');
    }
  });

  it('rejects truncated, corrupted and foreign snapshots with a BloomSnapshotError', () => {
    const { snap } = sample();
    const edit = (write: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(snap);
      write(b);
      return b;
    };
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['empty', Buffer.alloc(0), /truncated: 0 bytes, shorter than the 48-byte header/],
      ['10 bytes', snap.subarray(0, 10), /truncated: 10 bytes/],
      ['47 bytes', snap.subarray(0, 47), /truncated: 47 bytes/],
      ['header only', snap.subarray(0, 48), /length mismatch: 48 bytes, expected 48 \+ m\/8 = 1248/],
      ['one byte short', snap.subarray(0, snap.length - 1), /length mismatch/],
      ['one byte extra', Buffer.concat([snap, Buffer.alloc(1)]), /length mismatch: 1249 bytes/],
      ['bad magic', edit((b) => b.write('XX', 0, 'latin1')), /bad magic/],
      ['version 2', edit((b) => b.writeUInt16LE(2, 8)), /unsupported format version 2 \(expected 1\)/],
      ['hash id 1 (withdrawn)', edit((b) => b.writeUInt16LE(1, 10)), /unsupported hash id 1 \(expected 2\)/],
      ['k = 0', edit((b) => b.writeUInt32LE(0, 12)), /hash count 0 is outside 1..=64/],
      ['k = 65', edit((b) => b.writeUInt32LE(65, 12)), /hash count 65/],
      ['m = 0', edit((b) => b.writeBigUInt64LE(0n, 16)), /bit count 0 is not a non-zero multiple of 64/],
      ['m = 100', edit((b) => b.writeBigUInt64LE(100n, 16)), /bit count 100/],
      ['m = 2^35', edit((b) => b.writeBigUInt64LE(2n ** 35n, 16)), /bit count 34359738368/],
      ['capacity 0', edit((b) => b.writeBigUInt64LE(0n, 24)), /capacity 0 is outside/],
      ['capacity 2^53', edit((b) => b.writeBigUInt64LE(2n ** 53n, 24)), /capacity 9007199254740992 is outside/],
      ['error rate 1', edit((b) => b.writeDoubleLE(1, 32)), /error rate 1 is not a finite number in \(0, 1\)/],
      ['error rate NaN', edit((b) => b.writeDoubleLE(NaN, 32)), /error rate NaN/],
      ['a flipped data bit', edit((b) => (b[100]! ^= 1)), /checksum mismatch .*the data is corrupted/],
      ['a changed capacity', edit((b) => b.writeBigUInt64LE(999n, 24)), /checksum mismatch/],
      ['a flipped checksum bit', edit((b) => (b[40]! ^= 0x80)), /checksum mismatch/],
      ['random bytes', Buffer.from(Array.from({ length: 1248 }, (_, i) => (i * 7919) & 0xff)), /bad magic/],
      ['a JSON document', Buffer.from(JSON.stringify({ capacity: 1000, errorRate: 0.01, bits: 'x'.repeat(100) })), /bad magic/],
      ['a PNG image', Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(200)]), /bad magic/],
    ];
    const keep = native.create(1000, 0.01);
    keep.add('kept');
    const before = keep.toBuffer();
    for (const [name, bytes, message] of cases) {
      assert.throws(
        () => native.fromBuffer(bytes),
        (err: unknown) => {
          assert.ok(err instanceof BloomSnapshotError, `${name}: ${String(err)}`);
          assert.equal(err.code, 'ERR_BLOOM_SNAPSHOT', name);
          assert.match((err as Error).message, /^invalid Bloom filter snapshot: /, name);
          assert.match((err as Error).message, message, name);
          return true;
        },
        name,
      );
    }
    assert.ok(keep.toBuffer().equals(before), 'an unrelated filter changed');
  });
});

describe('native shared memory', () => {
  it('createShared exposes its SharedArrayBuffer, and fromShared attaches to the same bits', () => {
    const a = native.createShared(10_000, 0.01);
    const mem = a.sharedMemory;
    assert.ok(mem instanceof SharedArrayBuffer);
    assert.equal(mem.byteLength, a.byteLength);
    a.add('from-a');
    const b = native.fromShared(mem, 10_000, 0.01);
    assert.equal(b.sharedMemory, mem);
    assert.equal(b.has('from-a'), true);
    assert.equal(b.add('from-a'), false);
    assert.equal(b.add('from-b'), true);
    assert.equal(a.has('from-b'), true);
    // A typed-array view of any element type over the whole buffer works too.
    const c = native.fromShared(new BigUint64Array(mem), 10_000, 0.01);
    assert.equal(c.has('from-b'), true);
    // The bits are the snapshot's bits.
    assert.ok(Buffer.from(mem).equals(a.toBuffer().subarray(48)));
    // clear() clears the shared memory for everyone.
    c.clear();
    assert.equal(a.has('from-a'), false);
  });

  it('fromShared checks its memory argument', () => {
    const { byteLength } = native.params(1000, 0.01);
    const cases: Array<[string, unknown, ErrorConstructor, RegExp]> = [
      ['a plain ArrayBuffer', new ArrayBuffer(byteLength), TypeError, /SharedArrayBuffer or a typed array over one, got an object/],
      ['a view over a plain ArrayBuffer', new Uint8Array(byteLength), TypeError, /must be backed by a SharedArrayBuffer/],
      ['a Buffer', Buffer.alloc(byteLength), TypeError, /must be backed by a SharedArrayBuffer/],
      ['a string', 'memory', TypeError, /got a string/],
      ['undefined', undefined, TypeError, /got undefined/],
      ['too small', new SharedArrayBuffer(byteLength - 8), RangeError, new RegExp(`has ${byteLength - 8} bytes but a filter of 9600 bits needs exactly ${byteLength}`)],
      ['too large', new SharedArrayBuffer(byteLength + 8), RangeError, /needs exactly/],
      ['misaligned', new Uint8Array(new SharedArrayBuffer(byteLength + 4), 4, byteLength), RangeError, /8-byte boundary/],
    ];
    for (const [, memory, cls, message] of cases) {
      throwsLike(() => native.fromShared(memory as never, 1000, 0.01), cls, message);
    }
    throwsLike(() => native.fromShared(new SharedArrayBuffer(byteLength), 0, 0.01), RangeError, /^capacity must be/);
    throwsLike(() => native.fromShared(new SharedArrayBuffer(byteLength), 1000, '0.01' as never), TypeError, /^errorRate must be a number/);
  });

  it('keeps its SharedArrayBuffer alive on its own', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const filters: NativeBloomFilter[] = [];
    for (let i = 0; i < 20; i++) {
      // No JS reference to the memory is kept: only the filter holds it.
      const f = native.fromShared(new Uint8Array(new SharedArrayBuffer(native.params(50_000, 0.01).byteLength)), 50_000, 0.01);
      for (let j = 0; j < 1000; j++) f.add(`f${i}-k${j}`);
      filters.push(f);
    }
    for (let round = 0; round < 3; round++) {
      gc();
      await new Promise((r) => setImmediate(r));
      // Churn the heap so freed memory would be reused.
      const junk = Array.from({ length: 50 }, () => new SharedArrayBuffer(60_000));
      new Uint8Array(junk[0]!).fill(0xff);
    }
    filters.forEach((f, i) => {
      for (let j = 0; j < 1000; j++) assert.equal(f.has(`f${i}-k${j}`), true);
      assert.equal(f.has(`f${i}-absent`), false);
    });
  });
});
