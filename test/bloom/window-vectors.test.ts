/**
 * Both dedup windows against the shared vectors of test/vectors/window.json (docs/bloom-format.md,
 * "Fingerprint table", "Dedup window"): home slots, a table snapshot byte for byte, a sequence of
 * operations with every answer and the generations it leaves; and generations going native ->
 * fallback -> native unchanged. The native part requires the addon.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type BloomFactory,
  type BloomKey,
  type FallbackBloomFactory,
  HASH_ID,
  homeSlot,
  loadFallbackFactory,
  RECORD_AT_CAPACITY,
  TABLE_SNAPSHOT_VERSION,
  type WindowLike,
  type WindowStats,
  ZERO_FINGERPRINT_HI,
  ZERO_FINGERPRINT_LO,
} from '@cxone-dedup/bloom/factory';
import { requireNativeFactory, windowVectors, type WindowGenerationVector } from '../vectors/support.js';

const vectors = windowVectors();
const hex64 = (h: bigint) => h.toString(16).padStart(16, '0');

let fallback: FallbackBloomFactory;
let native: BloomFactory;
before(async () => {
  fallback = await loadFallbackFactory();
  native = await requireNativeFactory();
});

describe('the window vectors themselves', () => {
  it('describe the current formats and hold home slots equal to (fp * slots) >> 64', () => {
    assert.equal(vectors.formatVersion, TABLE_SNAPSHOT_VERSION);
    assert.equal(vectors.hashId, HASH_ID);
    assert.equal(vectors.zeroFingerprint, hex64((BigInt(ZERO_FINGERPRINT_HI) << 32n) | BigInt(ZERO_FINGERPRINT_LO)));
    assert.ok(vectors.homeSlots.length >= 100);
    assert.ok(vectors.homeSlots.some((v) => v.slots === 2 ** 32));
    for (const v of vectors.homeSlots) {
      const fp = BigInt(`0x${v.fingerprint}`);
      assert.equal(Number((fp * BigInt(v.slots)) >> 64n), v.home, `${v.fingerprint} in ${v.slots}`);
    }
    const t = Buffer.from(vectors.table.hex, 'hex');
    assert.equal(t.length, 40 + 8 * vectors.table.slots);
    assert.equal(t.subarray(0, 8).toString('latin1'), 'CXFPTBL\0');
    assert.deepEqual([t.readUInt16LE(8), t.readUInt16LE(10), t.readUInt32LE(12)], [1, 2, 0]);
    assert.deepEqual([t.readBigUInt64LE(16), t.readBigUInt64LE(24)], [BigInt(vectors.table.slots), BigInt(vectors.table.count)]);
  });

  it('match the fallback home-slot arithmetic', () => {
    for (const v of vectors.homeSlots) {
      const fp = BigInt(`0x${v.fingerprint}`);
      assert.equal(homeSlot(Number(fp >> 32n), Number(fp & 0xffffffffn), v.slots), v.home, `${v.fingerprint} in ${v.slots}`);
    }
  });

  it('place every table fingerprint in its home slot or after it in one run (slot i = u64 LE at 40 + 8i)', () => {
    const t = Buffer.from(vectors.table.hex, 'hex');
    const slots = vectors.table.slots;
    let stored = 0;
    for (let i = 0; i < slots; i++) {
      const fp = t.readBigUInt64LE(40 + 8 * i);
      if (fp === 0n) continue;
      stored++;
      const home = Number((fp * BigInt(slots)) >> 64n);
      for (let j = home; j !== i; j = (j + 1) % slots) assert.notEqual(t.readBigUInt64LE(40 + 8 * j), 0n, `slot ${j} between ${home} and ${i}`);
    }
    assert.equal(stored, vectors.table.count);
    // The fingerprints are the keys' XXH64.
    const expected = new Set(Array.from({ length: vectors.table.keyCount }, (_, i) => fallback.hasher.h64(`${vectors.table.keyPrefix}${i}`)));
    for (let i = 0; i < slots; i++) {
      const fp = t.readBigUInt64LE(40 + 8 * i);
      if (fp !== 0n) assert.ok(expected.delete(fp), `unexpected fingerprint ${hex64(fp)}`);
    }
    assert.equal(expected.size, 0);
  });
});

function replay(w: WindowLike): Array<number | 'rotate'> {
  const answers: Array<number | 'rotate'> = [];
  for (const op of vectors.sequence.ops) {
    if (op[0] === 'rotate') {
      w.rotate();
      answers.push('rotate');
    } else {
      answers.push(w[op[0]](op[1]));
    }
  }
  return answers;
}

function checkGeneration(w: WindowLike, which: 'active' | 'previous', v: WindowGenerationVector): void {
  const g = w.exportGeneration(which);
  assert.deepEqual([g.insertions, g.exact], [v.insertions, v.exact], which);
  assert.equal(g.table.toString('hex'), v.table, `${which} table`);
  assert.equal(hex64(fallback.hasher.h64Raw(g.bloom)), v.bloomXxh64, `${which} bloom`);
}

for (const name of ['native', 'fallback'] as const) {
  describe(`${name} window against the vectors`, () => {
    let f: BloomFactory;
    before(() => {
      f = name === 'native' ? native : fallback;
    });

    it('writes the vector table snapshot byte for byte, from strings and from bytes', () => {
      for (const bytes of [false, true]) {
        const w = f.createWindow(vectors.table.capacity, vectors.table.errorRate);
        assert.equal(w.tableSlots, vectors.table.slots);
        for (let i = 0; i < vectors.table.keyCount; i++) {
          const key = `${vectors.table.keyPrefix}${i}`;
          w.record(bytes ? Buffer.from(key) : key);
        }
        assert.equal(w.exportGeneration('active').table.toString('hex'), vectors.table.hex);
      }
    });

    it('answers the vector sequence exactly and leaves the vector generations', () => {
      const w = f.createWindow(vectors.sequence.capacity, vectors.sequence.errorRate);
      const expected = vectors.sequence.ops.map((op) => (op[0] === 'rotate' ? 'rotate' : op[2]));
      assert.deepEqual(replay(w), expected);
      const s = w.stats();
      assert.deepEqual(
        { falsePositives: s.falsePositives, unconfirmed: s.unconfirmed, overflows: s.overflows },
        vectors.sequence.counters,
      );
      checkGeneration(w, 'active', vectors.sequence.active);
      checkGeneration(w, 'previous', vectors.sequence.previous);
      // Rotations in the sequence come right after an answer with the at-capacity flag, or are explicit.
      assert.ok(vectors.sequence.ops.some((op, i) => op[0] === 'rotate' && i > 0 && (vectors.sequence.ops[i - 1] as [string, string, number])[2] & RECORD_AT_CAPACITY));
    });

    it('restores the vector generations and goes on answering like the original', () => {
      const gen = (v: WindowGenerationVector, bloom: Buffer) => ({ bloom, table: Buffer.from(v.table, 'hex'), insertions: v.insertions, exact: v.exact });
      const original = f.createWindow(vectors.sequence.capacity, vectors.sequence.errorRate);
      replay(original);
      const r = f.windowFromGenerations(
        gen(vectors.sequence.active, original.exportGeneration('active').bloom),
        gen(vectors.sequence.previous, original.exportGeneration('previous').bloom),
      );
      for (let i = 0; i < 200; i++) {
        const key = i % 2 ? `key-${i % 40}` : `z-${i}`;
        assert.equal(r.observe(key), original.observe(key), key);
      }
    });
  });
}

/** Stats equal in every field; the estimated false-positive rate (a pow) to the last bits. */
function sameStats(a: WindowStats, b: WindowStats): void {
  const strip = (s: WindowStats) => ({
    ...s,
    active: { ...s.active, estimatedFalsePositiveRate: 0 },
    previous: { ...s.previous, estimatedFalsePositiveRate: 0 },
  });
  assert.deepEqual(strip(a), strip(b));
  for (const which of ['active', 'previous'] as const) {
    const x = a[which].estimatedFalsePositiveRate;
    const y = b[which].estimatedFalsePositiveRate;
    assert.ok(Math.abs(x - y) <= 1e-12 * Math.max(x, y), `${which}: ${x} vs ${y}`);
  }
}

/** A deterministic mix of string (ASCII, multi-byte, long) and byte keys. */
function keys(prefix: string, count: number): BloomKey[] {
  return Array.from({ length: count }, (_, i) => {
    switch (i % 4) {
      case 0:
        return `${prefix}-${i}`;
      case 1:
        return `${prefix}-日本-é-😀-${i}`;
      case 2:
        return Buffer.from(`${prefix}-bytes-${i}`);
      default:
        return `${prefix}-${'x'.repeat(300)}-${i}`;
    }
  });
}

describe('native <-> fallback windows', () => {
  it('build the same generations from the same operations, overflow included', () => {
    const a = native.createWindow(2000, 0.01);
    const b = fallback.createWindow(2000, 0.01);
    const ks = keys('same', 5000);
    for (let i = 0; i < ks.length; i++) {
      const op = i % 5 === 0 ? 'check' : i % 5 === 1 ? 'record' : 'observe';
      assert.equal(a[op](ks[i]!), b[op](ks[i]!), `${op} #${i}`);
      if (i === 1500) {
        a.rotate();
        b.rotate();
      }
    }
    assert.ok(a.stats().overflows > 0, 'the active generation overflowed');
    sameStats(a.stats(), b.stats());
    for (const which of ['active', 'previous'] as const) {
      const x = a.exportGeneration(which);
      const y = b.exportGeneration(which);
      assert.ok(x.bloom.equals(y.bloom), `${which} bloom`);
      assert.ok(x.table.equals(y.table), `${which} table`);
      assert.deepEqual([x.insertions, x.exact], [y.insertions, y.exact]);
    }
  });

  it('round-trip generations native -> fallback -> native with identical bytes and answers', () => {
    const n1 = native.createWindow(10_000, 0.001);
    const ks = keys('rt', 15_000);
    ks.slice(0, 8000).forEach((k) => n1.observe(k));
    n1.rotate();
    ks.slice(6000, 12_000).forEach((k) => n1.observe(k));
    const probe = [...ks, ...keys('absent', 3000)];
    const answers = probe.map((k) => n1.check(k));

    const fb = fallback.windowFromGenerations(n1.exportGeneration('active'), n1.exportGeneration('previous'));
    assert.equal(fb.kind, 'fallback');
    assert.deepEqual(probe.map((k) => fb.check(k)), answers);
    const n2 = native.windowFromGenerations(fb.exportGeneration('active'), fb.exportGeneration('previous'));
    assert.deepEqual(probe.map((k) => n2.check(k)), answers);
    for (const which of ['active', 'previous'] as const) {
      const g1 = n1.exportGeneration(which);
      const g2 = n2.exportGeneration(which);
      assert.ok(g1.bloom.equals(g2.bloom) && g1.table.equals(g2.table), which);
    }
    // And they go on alike.
    const more = keys('more', 3000);
    assert.deepEqual(more.map((k) => fb.observe(k)), more.map((k) => n2.observe(k)));
    sameStats(fb.stats(), n2.stats());
  });
});
