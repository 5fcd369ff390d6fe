/**
 * The exact dedup window (docs/bloom-format.md, "Dedup window"), native and fallback alike:
 * answers, exactness over three capacities of fresh keys, rotation, overflow, argument
 * validation, and every kind of broken or mismatched generation on restore. The native part
 * requires the addon (a failure, never a skip, when it cannot load).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type BloomFactory,
  type BloomKind,
  BloomSnapshotError,
  type FallbackBloomFactory,
  FallbackFingerprintTable,
  FingerprintSnapshotError,
  homeSlot,
  imageChecksum,
  loadFallbackFactory,
  MAX_WINDOW_CAPACITY,
  RECORD_AT_CAPACITY,
  RECORD_INSERTED,
  RECORD_OVERFLOW,
  VERDICT_DUPLICATE,
  VERDICT_MASK,
  VERDICT_NEW,
  VERDICT_UNCONFIRMED,
  type WindowGeneration,
  type WindowGenerationInput,
  type WindowLike,
  WindowSnapshotError,
} from '@cxone-dedup/bloom/factory';
import { mulberry32 } from '../helpers/prng.js';
import { requireNativeFactory } from '../vectors/support.js';

let fallback: FallbackBloomFactory;
let native: BloomFactory;
before(async () => {
  fallback = await loadFallbackFactory();
  native = await requireNativeFactory();
});

const KINDS: readonly BloomKind[] = ['native', 'fallback'];
const factoryOf = (kind: BloomKind): BloomFactory => (kind === 'native' ? native : fallback);

/** The error (class and code, the same from both implementations) for each kind of rejected restore. */
const REJECTION = {
  bloom: [BloomSnapshotError, 'ERR_BLOOM_SNAPSHOT'],
  table: [FingerprintSnapshotError, 'ERR_FINGERPRINT_SNAPSHOT'],
  window: [WindowSnapshotError, 'ERR_WINDOW_SNAPSHOT'],
} as const;

function throwsLike(fn: () => unknown, cls: ErrorConstructor, message: RegExp, code?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    assert.match((err as Error).message, message);
    if (code !== undefined) assert.equal((err as { code?: unknown }).code, code);
    return true;
  });
}

/** Asserts a restore rejection of the given kind, with a message matching `message` (and `reason`, when given). */
function rejects(kind: BloomKind, fn: () => unknown, what: keyof typeof REJECTION, message: RegExp, reason?: string): void {
  const [cls, code] = REJECTION[what];
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Error, String(err));
    assert.match(err.message, message);
    assert.ok(err instanceof cls, `${kind}: expected ${cls.name}, got ${err.constructor.name}: ${err.message}`);
    assert.equal((err as { code?: unknown }).code, code, `${kind}: ${err.message}`);
    if (reason !== undefined) assert.equal((err as { reason?: unknown }).reason, reason, `${kind}: ${err.message}`);
    return true;
  });
}

const verdict = (code: number) => code & VERDICT_MASK;

/** A table snapshot edited and resealed (its checksum recomputed), so only later checks see the edit. */
function resealTable(bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  b.writeBigUInt64LE(imageChecksum(fallback.hasher, b.subarray(0, 32), b.subarray(40)), 32);
  return b;
}

for (const kind of KINDS) {
  describe(`${kind} dedup window`, () => {
    let f: BloomFactory;
    before(() => {
      f = factoryOf(kind);
    });

    it('answers new, then duplicate; check records nothing; strings and bytes are one key', () => {
      const w = f.createWindow(1000, 0.01);
      assert.equal(w.kind, kind);
      assert.equal(w.check('a'), VERDICT_NEW);
      assert.equal(w.check('a'), VERDICT_NEW, 'check does not record');
      assert.equal(w.activeInsertions(), 0);
      assert.equal(w.observe('a'), VERDICT_NEW | RECORD_INSERTED);
      assert.equal(w.observe('a'), VERDICT_DUPLICATE);
      assert.equal(w.check(Buffer.from('a')), VERDICT_DUPLICATE);
      assert.equal(w.check(new Uint8Array([0x61])), VERDICT_DUPLICATE);
      assert.equal(w.record('b'), RECORD_INSERTED);
      assert.equal(w.record('b'), 0, 'a duplicate is refreshed, not inserted');
      assert.equal(w.record(''), RECORD_INSERTED, 'the empty key is a key');
      assert.equal(w.check(Buffer.alloc(0)), VERDICT_DUPLICATE);
      for (const k of ['日本語のキー', 'é'.repeat(300), 'lone \ud800 surrogate', 'x'.repeat(10_000)]) {
        assert.equal(w.observe(k), VERDICT_NEW | RECORD_INSERTED);
        assert.equal(w.check(Buffer.from(k, 'utf8')), VERDICT_DUPLICATE);
      }
      assert.equal(w.activeInsertions(), 7);
    });

    it('has no false negatives over a full generation, before and after one rotation', () => {
      const n = 50_000;
      const w = f.createWindow(n, 0.001);
      for (let i = 0; i < n; i++) {
        const r = w.record(`present-${i}`);
        assert.equal(r & RECORD_INSERTED, RECORD_INSERTED);
        assert.equal(r & RECORD_AT_CAPACITY, i === n - 1 ? RECORD_AT_CAPACITY : 0, `key ${i}`);
      }
      for (const when of ['before', 'after']) {
        for (let i = 0; i < n; i++) {
          if (w.check(`present-${i}`) !== VERDICT_DUPLICATE) assert.fail(`present-${i} not a duplicate ${when} rotation`);
        }
        w.rotate();
      }
      for (let i = 0; i < n; i += 97) assert.equal(w.check(`present-${i}`), VERDICT_NEW, 'forgotten after two rotations');
    });

    it('answers no fresh key duplicate over 3x capacity, rotating at capacity, and catches the filter false positives', () => {
      const capacity = 100_000;
      const w = f.createWindow(capacity, 0.001);
      let duplicates = 0;
      let unconfirmed = 0;
      let rotations = 0;
      for (let i = 0; i < 3 * capacity; i++) {
        const code = w.observe(`fresh-${i}`);
        if (verdict(code) === VERDICT_DUPLICATE) duplicates++;
        if (verdict(code) === VERDICT_UNCONFIRMED) unconfirmed++;
        if (code & RECORD_AT_CAPACITY) {
          w.rotate();
          rotations++;
        }
      }
      assert.equal(duplicates, 0);
      assert.equal(unconfirmed, 0);
      assert.equal(rotations, 3);
      const s = w.stats();
      // Two full generations at p = 0.001: ~0.1-0.2 % of the later checks saw a "maybe".
      assert.ok(s.falsePositives > 100, `falsePositives ${s.falsePositives}`);
      assert.deepEqual([s.unconfirmed, s.overflows], [0, 0]);
    });

    it('keeps a key for two generations, refreshes it on a duplicate, forgets it after two rotations', () => {
      const w = f.createWindow(1000, 0.01);
      w.observe('kept');
      w.observe('idle');
      w.rotate();
      assert.equal(w.check('kept'), VERDICT_DUPLICATE);
      assert.equal(w.check('idle'), VERDICT_DUPLICATE);
      assert.equal(w.observe('kept'), VERDICT_DUPLICATE | RECORD_INSERTED, 'copied forward into the active generation');
      w.rotate();
      assert.equal(w.check('kept'), VERDICT_DUPLICATE);
      assert.equal(w.check('idle'), VERDICT_NEW);
      w.rotate();
      assert.equal(w.check('kept'), VERDICT_NEW);
      const s = w.stats();
      assert.deepEqual([s.active.insertions, s.previous.insertions, s.active.tableLength], [0, 0, 0]);
    });

    it('overflows a generation that outgrows its table: inexact, unconfirmed answers, exact again two rotations later', () => {
      const w = f.createWindow(10, 0.001);
      assert.deepEqual([w.tableSlots, w.tableLimit], [14, 12]);
      for (let i = 0; i < 12; i++) assert.equal(w.record(`o-${i}`) & (RECORD_INSERTED | RECORD_OVERFLOW), RECORD_INSERTED);
      const r = w.record('o-12');
      assert.equal(r & (RECORD_OVERFLOW | RECORD_AT_CAPACITY), RECORD_OVERFLOW | RECORD_AT_CAPACITY);
      let s = w.stats();
      assert.deepEqual([s.active.exact, s.active.tableLength, s.overflows], [false, 12, 1]);
      assert.ok(s.active.insertions >= 12);
      assert.equal(w.check('o-12'), VERDICT_UNCONFIRMED, 'only the filter knows it');
      assert.equal(w.check('o-3'), VERDICT_DUPLICATE, 'keys in the table stay exact');
      assert.equal(w.stats().unconfirmed, 1);
      w.rotate();
      assert.equal(w.check('o-12'), VERDICT_UNCONFIRMED, 'still in the (inexact) previous generation');
      w.rotate();
      assert.equal(w.check('o-12'), VERDICT_NEW);
      s = w.stats();
      assert.deepEqual([s.active.exact, s.previous.exact, s.overflows], [true, true, 1]);
    });

    it('observe answers exactly like check followed by record', () => {
      const a = f.createWindow(300, 0.05);
      const b = f.createWindow(300, 0.05);
      const random = mulberry32(7);
      for (let step = 0; step < 6000; step++) {
        const key = `mix-${Math.floor(random() * 900)}`;
        if (step % 997 === 0) {
          a.rotate();
          b.rotate();
        }
        const v = b.check(key);
        assert.equal(a.observe(key), v | b.record(key), `step ${step}`);
      }
      assert.deepEqual(a.stats(), b.stats());
      const s = a.stats();
      assert.ok(s.overflows > 0 && s.unconfirmed > 0, JSON.stringify(s));
      for (const which of ['active', 'previous'] as const) {
        const x = a.exportGeneration(which);
        const y = b.exportGeneration(which);
        assert.ok(x.bloom.equals(y.bloom) && x.table.equals(y.table));
      }
    });

    it('reports sizing and per-generation stats', () => {
      const w = f.createWindow(1_000_000, 0.001);
      assert.deepEqual(
        [w.capacity, w.errorRate, w.bitCount, w.hashCount, w.tableSlots, w.tableLimit, w.byteLength],
        [1_000_000, 0.001, 14_377_600, 10, 1_333_334, 1_166_667, 2 * (1_797_200 + 8 * 1_333_335)],
      );
      assert.deepEqual(f.windowParams(1_000_000, 0.001), {
        capacity: 1_000_000,
        errorRate: 0.001,
        bitCount: 14_377_600,
        hashCount: 10,
        tableSlots: 1_333_334,
        tableLimit: 1_166_667,
        generationByteLength: 1_797_200 + 8 * 1_333_335,
        byteLength: 2 * (1_797_200 + 8 * 1_333_335),
      });
      const small = f.createWindow(1000, 0.01);
      for (let i = 0; i < 1000; i++) small.record(`s-${i}`);
      const s = small.stats();
      assert.deepEqual(
        [s.active.insertions, s.active.exact, s.active.tableLength, s.active.tableSlots],
        [1000, true, 1000, 1334],
      );
      assert.ok(Math.abs(s.active.fillRatio - 0.5) < 0.05, String(s.active.fillRatio));
      assert.ok(Math.abs(s.active.estimatedFalsePositiveRate - s.active.fillRatio ** 7) < 1e-12);
      assert.deepEqual([s.previous.insertions, s.previous.fillRatio, s.falsePositives, s.unconfirmed, s.overflows], [0, 0, 0, 0, 0]);
    });

    it('rejects bad construction arguments with TypeError / RangeError', () => {
      const code = kind === 'native' ? 'ERR_INVALID_ARG_TYPE' : undefined;
      const range = kind === 'native' ? 'ERR_OUT_OF_RANGE' : undefined;
      throwsLike(() => f.createWindow('10' as unknown as number, 0.01), TypeError, /capacity must be a number/, code);
      throwsLike(() => f.createWindow(10, null as unknown as number), TypeError, /errorRate must be a number/, code);
      throwsLike(() => f.createWindow(0, 0.01), RangeError, /capacity/, range);
      throwsLike(() => f.createWindow(1.5, 0.01), RangeError, /capacity/, range);
      throwsLike(() => f.createWindow(10, 1), RangeError, /errorRate/, range);
      throwsLike(() => f.createWindow(MAX_WINDOW_CAPACITY + 1, 0.5), RangeError, /above the dedup window's maximum of 3221225472/, range);
      throwsLike(() => f.windowParams(MAX_WINDOW_CAPACITY + 1, 0.5), RangeError, /3 \* 2\^30/, range);
      assert.equal(f.windowParams(MAX_WINDOW_CAPACITY, 0.5).tableSlots, 2 ** 32);
    });

    it('rejects bad keys and arguments, changing nothing', () => {
      const w = f.createWindow(1000, 0.01);
      w.observe('x');
      const before = w.exportGeneration('active');
      for (const bad of [undefined, null, 42, {}, ['x'], new Uint16Array(2), Symbol('k')]) {
        for (const method of ['check', 'record', 'observe'] as const) {
          throwsLike(
            () => (w[method] as (k: unknown) => number)(bad),
            TypeError,
            /key must be a string or a Uint8Array\/Buffer/,
            kind === 'native' ? 'ERR_INVALID_ARG_TYPE' : undefined,
          );
        }
      }
      throwsLike(() => w.exportGeneration('current' as 'active'), RangeError, /which must be 'active' or 'previous'/);
      throwsLike(() => w.exportGeneration(1 as unknown as 'active'), TypeError, /which must be 'active' or 'previous'/);
      const after = w.exportGeneration('active');
      assert.ok(before.bloom.equals(after.bloom) && before.table.equals(after.table));
      assert.equal(w.activeInsertions(), 1);
    });

    describe('export and restore', () => {
      let w: WindowLike;
      let active: WindowGeneration;
      let previous: WindowGeneration;
      before(() => {
        w = f.createWindow(2000, 0.01);
        for (let i = 0; i < 1500; i++) w.observe(`r-${i}`);
        w.rotate();
        for (let i = 1000; i < 2500; i++) w.observe(`r-${i}`);
        active = w.exportGeneration('active');
        previous = w.exportGeneration('previous');
      });

      it('round-trips both generations, answers and bytes', () => {
        assert.deepEqual([active.insertions, active.exact, previous.insertions, previous.exact], [1500, true, 1500, true]);
        const r = f.windowFromGenerations(active, previous);
        assert.equal(r.kind, kind);
        assert.deepEqual([r.capacity, r.errorRate, r.tableSlots, r.byteLength], [w.capacity, w.errorRate, w.tableSlots, w.byteLength]);
        for (let i = 0; i < 3000; i += 7) assert.equal(r.check(`r-${i}`), w.check(`r-${i}`), `r-${i}`);
        for (const which of ['active', 'previous'] as const) {
          const g = r.exportGeneration(which);
          const o = which === 'active' ? active : previous;
          assert.ok(g.bloom.equals(o.bloom) && g.table.equals(o.table));
          assert.deepEqual([g.insertions, g.exact], [o.insertions, o.exact]);
        }
        // The restored window goes on like the original.
        for (let i = 2500; i < 2600; i++) assert.equal(r.observe(`r-${i}`), w.observe(`r-${i}`));
        assert.equal(r.activeInsertions(), w.activeInsertions());
      });

      it('restores a generation saved without a table (older snapshots) as inexact', () => {
        const old = { bloom: previous.bloom, table: null, insertions: previous.insertions, exact: false };
        const r = f.windowFromGenerations(active, old);
        assert.equal(r.stats().previous.exact, false);
        assert.equal(r.stats().previous.tableLength, 0);
        // Keys only the old generation knew cannot be confirmed; keys of the exact active one can.
        assert.equal(r.check('r-10'), VERDICT_UNCONFIRMED);
        assert.equal(r.check('r-1200'), VERDICT_DUPLICATE);
        let news = 0;
        for (let i = 0; i < 1000; i++) if (r.check(`never-${i}`) === VERDICT_NEW) news++;
        assert.ok(news > 950, `${news} of 1000 absent keys answered new`);
        // Observing an old key copies it into the active generation: exact from then on.
        assert.equal(r.observe('r-10'), VERDICT_UNCONFIRMED | RECORD_INSERTED);
        r.rotate();
        assert.equal(r.check('r-10'), VERDICT_DUPLICATE);
        assert.equal(r.check('r-11'), VERDICT_NEW);
        assert.equal(r.stats().previous.exact, true);
        // `undefined` works like null.
        const u = f.windowFromGenerations(active, { ...old, table: undefined as unknown as null });
        assert.equal(u.check('r-10'), VERDICT_UNCONFIRMED);
        rejects(kind, () => f.windowFromGenerations(active, { ...old, exact: true }), 'window', /previous generation: a generation restored without a fingerprint table cannot be exact/, 'exact_without_table');
      });

      it('rejects malformed arguments with TypeError / RangeError naming them', () => {
        const t = kind === 'native' ? 'ERR_INVALID_ARG_TYPE' : undefined;
        const r = kind === 'native' ? 'ERR_OUT_OF_RANGE' : undefined;
        const call = (a: unknown, p: unknown = previous) => () => f.windowFromGenerations(a as WindowGenerationInput, p as WindowGenerationInput);
        throwsLike(call(undefined), TypeError, /^active must be an object \{ bloom, table, insertions, exact \}/, t);
        throwsLike(call(null), TypeError, /active must be an object/, t);
        throwsLike(call([active]), TypeError, /active must be an object/, t);
        throwsLike(call(active, 'x'), TypeError, /previous must be an object/, t);
        throwsLike(call({ ...active, insertions: '3' }), TypeError, /active\.insertions must be a number/, t);
        for (const n of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
          throwsLike(call({ ...active, insertions: n }), RangeError, /active\.insertions must be an integer from 0 to 2\^53-1/, r);
        }
        throwsLike(call({ ...active, exact: 1 }), TypeError, /active\.exact must be a boolean/, t);
        throwsLike(call({ ...active, exact: undefined }), TypeError, /active\.exact must be a boolean/, t);
        throwsLike(call({ ...active, bloom: active.bloom.toString('hex') }), TypeError, /active\.bloom must be a Buffer or Uint8Array/, t);
        throwsLike(call({ ...active, bloom: new Uint32Array(4) }), TypeError, /active\.bloom must be a Buffer or Uint8Array/, t);
        throwsLike(call(active, { ...previous, table: [1, 2] }), TypeError, /previous\.table must be a Buffer, a Uint8Array or null/, t);
      });

      it('rejects broken Bloom snapshots, naming the generation', () => {
        rejects(kind, () => f.windowFromGenerations({ ...active, bloom: active.bloom.subarray(0, 10) }, previous), 'bloom', /^active generation: invalid Bloom filter snapshot/);
        const flipped = Buffer.from(previous.bloom);
        flipped[100]! ^= 1;
        rejects(kind, () => f.windowFromGenerations(active, { ...previous, bloom: flipped }), 'bloom', /^previous generation: invalid Bloom filter snapshot: .*checksum/);
      });

      it('rejects every kind of broken table snapshot', () => {
        const t = active.table;
        const edit = (fn: (b: Buffer) => void, reseal = false) => {
          const b = Buffer.from(t);
          fn(b);
          return reseal ? resealTable(b) : b;
        };
        const slots = t.readBigUInt64LE(16);
        const broken: Array<[string, Buffer, RegExp, string]> = [
          ['empty', Buffer.alloc(0), /truncated: 0 bytes, shorter than the 40-byte header/, 'truncated'],
          ['39 bytes', t.subarray(0, 39), /truncated: 39 bytes/, 'truncated'],
          ['header only', t.subarray(0, 40), /length mismatch: 40 bytes, expected 40 \+ 8 \* slots = /, 'bad_length'],
          ['one byte short', t.subarray(0, t.length - 1), /length mismatch/, 'bad_length'],
          ['a trailing byte', Buffer.concat([t, Buffer.from([0])]), /length mismatch/, 'bad_length'],
          ['a Bloom snapshot', Buffer.from(active.bloom), /bad magic \(expected "CXFPTBL\\0"\)/, 'bad_magic'],
          ['magic', edit((b) => void (b[6] = 0x58)), /bad magic/, 'bad_magic'],
          ['version 2', edit((b) => b.writeUInt16LE(2, 8)), /unsupported format version 2 \(expected 1\)/, 'bad_version'],
          ['version 0', edit((b) => b.writeUInt16LE(0, 8)), /unsupported format version 0/, 'bad_version'],
          ['hash id 1', edit((b) => b.writeUInt16LE(1, 10)), /unsupported hash id 1 \(expected 2\)/, 'bad_hash_id'],
          ['reserved', edit((b) => b.writeUInt32LE(1, 12)), /reserved field is 0x1, expected 0/, 'bad_reserved'],
          ['0 slots', edit((b) => b.writeBigUInt64LE(0n, 16)), /slot count 0 is outside 1\.\.=2\^32/, 'bad_slot_count'],
          ['2^32 + 1 slots', edit((b) => b.writeBigUInt64LE(2n ** 32n + 1n, 16)), /slot count 4294967297 is outside/, 'bad_slot_count'],
          ['count above the limit', edit((b) => b.writeBigUInt64LE((slots * 7n) / 8n + 1n, 24)), /count \d+ is above the \d+ fingerprints/, 'too_many_entries'],
          ['another slot count', edit((b) => b.writeBigUInt64LE(slots + 8n, 16)), /length mismatch/, 'bad_length'],
          ['a flipped slot bit', edit((b) => void (b[t.length - 3]! ^= 0x20)), /checksum mismatch/, 'bad_checksum'],
          ['a flipped count bit', edit((b) => void (b[24]! ^= 1)), /checksum mismatch/, 'bad_checksum'],
          ['the checksum', edit((b) => void (b[35]! ^= 0xff)), /checksum mismatch \(stored 0x[0-9a-f]{16}, computed 0x[0-9a-f]{16}\)/, 'bad_checksum'],
          ['a count that lies (resealed)', edit((b) => b.writeBigUInt64LE(1499n, 24), true), /header says 1499 fingerprints but 1500 slots are occupied/, 'bad_count'],
        ];
        for (const [name, table, message, reason] of broken) {
          const restore = () => f.windowFromGenerations({ ...active, table }, previous);
          assert.doesNotThrow(() => rejects(kind, restore, 'table', message, reason), name);
          rejects(kind, restore, 'table', /^active generation: invalid fingerprint table snapshot: /);
        }
      });

      it('rejects a fingerprint moved out of reach of its home slot (resealed)', () => {
        // Find a fingerprint alone in its home slot, and an empty slot well after it that follows another empty slot.
        const t = Buffer.from(active.table);
        const slots = Number(t.readBigUInt64LE(16));
        const at = (i: number) => 40 + 8 * i;
        const empty = (i: number) => t.readBigUInt64LE(at(i)) === 0n;
        const home = (i: number) => homeSlot(t.readUInt32LE(at(i) + 4), t.readUInt32LE(at(i)), slots);
        const i = [...Array(slots - 1).keys()].find((x) => !empty(x) && empty(x + 1) && home(x) === x)!;
        const j = [...Array(slots).keys()].find((x) => x > i + 1 && empty(x) && empty(x - 1))!;
        assert.ok(i !== undefined && j !== undefined);
        t.copy(t, at(j), at(i), at(i) + 8);
        t.fill(0, at(i), at(i) + 8);
        rejects(
          kind,
          () => f.windowFromGenerations({ ...active, table: resealTable(t) }, previous),
          'table',
          new RegExp(`the fingerprint in slot ${j} cannot be reached from its home slot ${i} \\(an empty slot lies between\\)`),
          'misplaced',
        );
      });

      it('rejects parts that do not belong together', () => {
        // Tables swapped between the generations.
        rejects(kind, () => f.windowFromGenerations({ ...active, table: previous.table }, previous), 'window', /^active generation: the fingerprint in table slot \d+ is not in the Bloom filter: table and filter are not from the same generation/, 'table_not_in_filter');
        // Counts that contradict the table.
        rejects(kind, () => f.windowFromGenerations({ ...active, insertions: 1501 }, previous), 'window', /an exact generation must count as many insertions as its table holds fingerprints \(1500\), got 1501/, 'insertion_count');
        rejects(kind, () => f.windowFromGenerations(active, { ...previous, insertions: 1499, exact: false }), 'window', /^previous generation: insertions must be from 1500 \(the fingerprints in the table\) to 2\^53-1, got 1499/, 'insertion_count');
        assert.equal(f.windowFromGenerations(active, { ...previous, insertions: 5000, exact: false }).stats().previous.exact, false);
        // A table of another window size.
        const other = f.createWindow(1000, 0.01).exportGeneration('active');
        rejects(kind, () => f.windowFromGenerations({ ...active, table: other.table, insertions: 0 }, previous), 'window', /the fingerprint table has 1334 slots, but the filter's capacity calls for 2667/, 'table_size_mismatch');
        // Generations of different shapes.
        rejects(kind, () => f.windowFromGenerations(active, other), 'window', /the two generations are sized differently \(active: capacity 2000, .*; previous: capacity 1000, /, 'generation_mismatch');
        const sameN = f.createWindow(2000, 0.02).exportGeneration('previous');
        rejects(kind, () => f.windowFromGenerations(active, sameN), 'window', /sized differently/, 'generation_mismatch');
        // A capacity beyond the window's limit (a valid Bloom snapshot of a tiny filter claiming 2^40 keys).
        const huge = Buffer.from(other.bloom);
        huge.writeBigUInt64LE(2n ** 40n, 24);
        huge.writeBigUInt64LE(imageChecksum(fallback.hasher, huge.subarray(0, 40), huge.subarray(48)), 40);
        throwsLike(() => f.windowFromGenerations({ bloom: huge, table: null, insertions: 0, exact: false }, previous), RangeError, /^active generation: capacity 1099511627776 is above the dedup window's maximum/);
      });
    });
  });
}

describe('fallback fingerprint table', () => {
  it('computes home slots exactly (against BigInt) up to 2^32 slots', () => {
    let seed = 0x243f6a88n;
    for (let n = 0; n < 2000; n++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n);
      const hi = Number(seed >> 32n);
      const lo = Number(seed & 0xffffffffn);
      for (const slots of [1, 3, 1334, 65_535, 65_536, 65_537, 1_333_334, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32]) {
        assert.equal(homeSlot(hi, lo, slots), Number((seed * BigInt(slots)) >> 64n), `fp ${seed.toString(16)} slots ${slots}`);
      }
    }
    assert.equal(homeSlot(0xffffffff, 0xffffffff, 2 ** 32), 2 ** 32 - 1);
    assert.equal(homeSlot(0, 0, 2 ** 32), 0);
  });

  it('stores a key hash of 0 as the zero fingerprint, which the native window accepts on restore', () => {
    const t = new FallbackFingerprintTable(14);
    assert.equal(t.contains(0, 0), false);
    assert.equal(t.insert(0, 0), 0);
    assert.equal(t.contains(0x9e3779b9, 0x7f4a7c15), true, 'the same fingerprint');
    assert.equal(t.insert(0x9e3779b9, 0x7f4a7c15), 1);
    const stored: Array<[number, number]> = [];
    t.forEach((hi, lo) => stored.push([hi, lo]));
    assert.deepEqual(stored, [[0x9e3779b9, 0x7f4a7c15]]);
    // A generation whose filter holds hash 0 and whose table holds its fingerprint loads natively.
    const w = fallback.createWindow(10, 0.01);
    const g = w.exportGeneration('active');
    const bloom = fallback.fromBuffer(g.bloom);
    bloom.addHash(0, 0);
    const generation = { bloom: bloom.toBuffer(), table: t.toBuffer(fallback.hasher), insertions: 1, exact: true };
    const empty = w.exportGeneration('previous');
    for (const f of [native, fallback]) {
      const r = f.windowFromGenerations(generation, empty);
      assert.equal(r.stats().active.tableLength, 1);
      assert.ok(r.exportGeneration('active').table.equals(generation.table));
    }
  });

  it('rejects bad slot counts', () => {
    for (const s of [0, -1, 1.5, 2 ** 32 + 1, NaN]) assert.throws(() => new FallbackFingerprintTable(s), RangeError);
    assert.throws(() => FallbackFingerprintTable.fromBuffer(fallback.hasher, 'x'), TypeError);
  });
});
