/**
 * Writes the shared Bloom filter and dedup window test vectors (test/vectors/*.json) from the
 * TypeScript implementation.
 * Run: node --import tsx test/vectors/generate.ts
 * Re-run only when docs/bloom-format.md changes (and then bump its version or hash id).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  computeBloomParams,
  HASH_ID,
  hashPositions,
  homeSlot,
  IMAGE_VERSION,
  loadFallbackFactory,
  RECORD_AT_CAPACITY,
  TABLE_SNAPSHOT_VERSION,
  VERDICT_MASK,
  ZERO_FINGERPRINT_HI,
  ZERO_FINGERPRINT_LO,
} from '@cxone-dedup/bloom/factory';

const here = path.dirname(fileURLToPath(import.meta.url));
const hex64 = (h: bigint) => h.toString(16).padStart(16, '0');
const ZERO_FINGERPRINT = (BigInt(ZERO_FINGERPRINT_HI) << 32n) | BigInt(ZERO_FINGERPRINT_LO);

const factory = await loadFallbackFactory();
const { hasher } = factory;

// ── sizing ────────────────────────────────────────────────────────────────────────────────
const sized: Array<[number, number]> = [
  [1, 0.5],
  [1, 0.999999],
  [10, 1e-10],
  [1000, 0.01],
  [123_457, 0.05],
  [1_000_000, 0.01],
  [1_000_000, 0.001],
  [1_000_000, 0.0001],
  [50_000_000, 0.001],
  [1_000_000_000, 0.01],
];
const rejected: Array<[number, number, string]> = [
  [0, 0.01, 'capacity below 1'],
  [1.5, 0.01, 'capacity not an integer'],
  [2 ** 53, 0.5, 'capacity above 2^53-1'],
  [10, 0, 'errorRate not above 0'],
  [10, 1, 'errorRate not below 1'],
  [10, -0.5, 'errorRate negative'],
  [10_000_000_000, 0.01, 'more than 2^34 bits'],
  [1, 1e-30, 'more than 64 hashes'],
];
const sizing = {
  description: 'computeBloomParams(capacity, errorRate) per docs/bloom-format.md "Sizing"; rejected pairs throw RangeError',
  valid: sized.map(([capacity, errorRate]) => {
    const p = computeBloomParams(capacity, errorRate);
    return { capacity, errorRate, bitCount: p.bitCount, hashCount: p.hashCount };
  }),
  rejected: rejected.map(([capacity, errorRate, why]) => {
    try {
      computeBloomParams(capacity, errorRate);
    } catch (err) {
      if (err instanceof RangeError) return { capacity, errorRate, why };
      throw err;
    }
    throw new Error(`expected (${capacity}, ${errorRate}) to be rejected: ${why}`);
  }),
};

// ── hashing ───────────────────────────────────────────────────────────────────────────────
type KeySpec = { name: string; string?: string; bytes?: Uint8Array };
const s = (name: string, value: string): KeySpec => ({ name, string: value });
const b = (name: string, value: Uint8Array): KeySpec => ({ name, bytes: value });

const keys: KeySpec[] = [
  s('empty string', ''),
  s('a', 'a'),
  s('abc', 'abc'),
  s('xxhash sample', 'Nobody inspects the spammish repetition'),
  s('key-0', 'key-0'),
  s('key-499', 'key-499'),
  s('hello world', 'hello world'),
  s('space', ' '),
  s('embedded NUL', 'a\u0000b'),
  s('newline and tab', 'line1\nline2\tend'),
  s('cxone contact id', '1234567890123'),
  s('cxone event key', 'contact:987654321|state:Active|ts:2025-11-28T17:31:00.000Z'),
  s('uuid', '3f2504e0-4f89-41d3-9a0c-0305e82c3301'),
  s('json-ish', '{"contactId":42,"status":"Active"}'),
  s('31 bytes', 'x'.repeat(31)),
  s('32 bytes', 'x'.repeat(32)),
  s('33 bytes', 'x'.repeat(33)),
  s('63 bytes', 'y'.repeat(63)),
  s('64 bytes', 'y'.repeat(64)),
  s('65 bytes', 'y'.repeat(65)),
  s('e acute', 'é'),
  s('cafe', 'café'),
  s('nihon', '日本'),
  s('nihongo sentence', '日本語のテキスト、重複排除'),
  s('emoji', '😀'),
  s('emoji with skin tone', '👍🏽'),
  s('family ZWJ sequence', '👨‍👩‍👧‍👦'),
  s('mixed scripts', 'Grüße, Мир, שלום, مرحبا, 你好, 🌍'),
  s('combining accent', 'e\u0301'),
  s('math symbols', 'Ω≈ç√∫'),
  s('BMP max', '\uffff'),
  s('astral plane max', '\u{10ffff}'),
  s('300 ASCII bytes', 'k'.repeat(300)),
  s('400 bytes of e acute', 'é'.repeat(200)),
  s('450 bytes of kanji', '日'.repeat(150)),
  s('1000 ASCII bytes', Array.from({ length: 100 }, (_, i) => `seg${String(i).padStart(3, '0')}-x`).join('').slice(0, 1000)),
  s('long emoji string', '🦀🐍'.repeat(80)),
  s('digits', '0123456789'),
  b('empty bytes', new Uint8Array(0)),
  b('one zero byte', new Uint8Array([0])),
  b('one 0xff byte', new Uint8Array([0xff])),
  b('abc as bytes (same key as the string)', new Uint8Array([0x61, 0x62, 0x63])),
  b('invalid UTF-8 c3 28', new Uint8Array([0xc3, 0x28])),
  b('lone continuation bytes', new Uint8Array([0x80, 0x81, 0xbf])),
  b('all 256 byte values', Uint8Array.from({ length: 256 }, (_, i) => i)),
  b('16 pseudo-random bytes', Uint8Array.from({ length: 16 }, (_, i) => (i * 167 + 13) & 0xff)),
  b('8 bytes little-endian 1', new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0])),
  b('512 bytes 0xa5', new Uint8Array(512).fill(0xa5)),
  b('uuid bytes', Uint8Array.from(Buffer.from('3f2504e04f8941d39a0c0305e82c3301', 'hex'))),
  b('33 zero bytes', new Uint8Array(33)),
];

// Shapes cover: the smallest filter with wrap-around and k = 64, a small one, the two
// production-like sizings, and m = 2^34 where positions exceed 2^32.
const shapes = [
  { bitCount: 64, hashCount: 64 },
  { bitCount: 1024, hashCount: 3 },
  { bitCount: 9_585_088, hashCount: 7 },
  { bitCount: 14_377_600, hashCount: 10 },
  { bitCount: 2 ** 34, hashCount: 5 },
];

const hashing = {
  description:
    'XXH64 (seed 0) of each key, h1 = h mod m, h2 = ((h >> 32) mod m) | 1 and the k positions, per docs/bloom-format.md "Hashing"',
  hashId: HASH_ID,
  shapes,
  keys: keys.map((key) => {
    const bytes = key.bytes ?? Buffer.from(key.string!, 'utf8');
    const h = key.string !== undefined ? hasher.h64(key.string) : hasher.h64Raw(key.bytes!);
    if (h !== hasher.h64Raw(bytes)) throw new Error(`h64 and h64Raw disagree for ${key.name}`);
    return {
      name: key.name,
      type: key.string !== undefined ? 'string' : 'bytes',
      ...(key.string !== undefined ? { string: key.string } : {}),
      hex: Buffer.from(bytes).toString('hex'),
      xxh64: hex64(h),
      shapes: shapes.map(({ bitCount, hashCount }) => hashPositions(h, bitCount, hashCount)),
    };
  }),
};

// ── snapshot ──────────────────────────────────────────────────────────────────────────────
const filter = factory.create(1000, 0.01);
for (let i = 0; i < 500; i++) filter.add(`key-${i}`);
const snap = filter.toBuffer();
const snapshot = {
  description: 'create(1000, 0.01), add("key-0" .. "key-499") as strings, toBuffer()',
  formatVersion: IMAGE_VERSION,
  hashId: HASH_ID,
  capacity: 1000,
  errorRate: 0.01,
  keyPrefix: 'key-',
  keyCount: 500,
  bitCount: filter.bitCount,
  hashCount: filter.hashCount,
  setBitCount: filter.setBitCount(),
  byteLength: snap.byteLength,
  checksum: snap.readBigUInt64LE(40).toString(16).padStart(16, '0'),
  xxh64OfSnapshot: hex64(hasher.h64Raw(snap)),
  hex: snap.toString('hex'),
};

// ── window ────────────────────────────────────────────────────────────────────────────────
// Home slots from the closed form in BigInt (independent of homeSlot's limb arithmetic).
const fingerprints: bigint[] = [
  ZERO_FINGERPRINT,
  1n,
  0xffffffffn,
  0x100000000n,
  2n ** 63n,
  2n ** 64n - 1n,
  0xdeadbeefcafebaben,
  ...['', 'a', 'abc', 'key-0', 'key-99', 'uuid 3f2504e0-4f89-41d3-9a0c-0305e82c3301'].map((k) => hasher.h64(k)),
];
const slotCounts = [1, 2, 3, 27, 134, 1334, 65_535, 65_536, 65_537, 1_333_334, 13_333_334, 2 ** 31, 2 ** 32 - 1, 2 ** 32];
const homeSlots = fingerprints.flatMap((fp) =>
  slotCounts.map((slots) => {
    const home = Number((fp * BigInt(slots)) >> 64n);
    if (homeSlot(Number(fp >> 32n), Number(fp & 0xffffffffn), slots) !== home) throw new Error(`homeSlot disagrees for ${hex64(fp)}, ${slots}`);
    return { fingerprint: hex64(fp), slots, home };
  }),
);

// One table: a window of capacity 100 after recording key-0 .. key-99.
const tableWindow = factory.createWindow(100, 0.01);
for (let i = 0; i < 100; i++) tableWindow.record(`key-${i}`);
const tableSnap = tableWindow.exportGeneration('active').table;

// A sequence of window operations: refreshes across rotations, rotations at capacity, an
// overflowing generation, unconfirmed answers, caught false positives, forgetting.
type Op = ['observe' | 'check' | 'record', string, number] | ['rotate'];
const ops: Op[] = [];
const seq = factory.createWindow(20, 0.1);
const run = (op: 'observe' | 'check' | 'record', key: string, rotateAtCapacity: boolean) => {
  const code = seq[op](key);
  ops.push([op, key, code]);
  if (rotateAtCapacity && op !== 'check' && code & RECORD_AT_CAPACITY) {
    seq.rotate();
    ops.push(['rotate']);
  }
};
const rotate = () => {
  seq.rotate();
  ops.push(['rotate']);
};
for (let i = 0; i < 20; i++) run('observe', `key-${i}`, true);
for (let i = 10; i < 30; i++) run('observe', `key-${i}`, true);
for (let i = 0; i < 30; i++) run('observe', `key-${i}`, false);
for (let i = 0; i < 30; i++) run('check', `key-${i}`, false);
for (let i = 0; i < 40; i++) run('check', `x-${i}`, false);
for (let i = 30; i < 35; i++) run('record', `key-${i}`, false);
rotate();
for (let i = 0; i < 35; i++) run('check', `key-${i}`, false);
for (let i = 0; i < 25; i++) run('observe', `y-${i}`, false);
rotate();
for (let i = 0; i < 10; i++) run('check', `key-${i}`, false);
for (let i = 0; i < 10; i++) run('observe', `z-${i}`, false);
const counters = seq.stats();
const verdicts = new Set(ops.filter((o) => o[0] !== 'rotate').map((o) => (o as [string, string, number])[2] & VERDICT_MASK));
if (verdicts.size !== 3 || counters.falsePositives === 0 || counters.unconfirmed === 0 || counters.overflows === 0) {
  throw new Error(`the window sequence no longer covers every case: ${JSON.stringify({ verdicts: [...verdicts], counters })}`);
}
const generation = (which: 'active' | 'previous') => {
  const g = seq.exportGeneration(which);
  return { insertions: g.insertions, exact: g.exact, bloomXxh64: hex64(hasher.h64Raw(g.bloom)), table: g.table.toString('hex') };
};
const window = {
  description:
    'Fingerprint table and dedup window per docs/bloom-format.md "Fingerprint table" and "Dedup window": home slots (fp * slots) >> 64, ' +
    'one table snapshot, and a sequence of window operations with their answers and the generations they leave',
  formatVersion: TABLE_SNAPSHOT_VERSION,
  hashId: HASH_ID,
  zeroFingerprint: hex64(ZERO_FINGERPRINT),
  homeSlots,
  table: {
    description: 'createWindow(100, 0.01), record("key-0" .. "key-99") as strings, exportGeneration("active").table',
    capacity: 100,
    errorRate: 0.01,
    keyPrefix: 'key-',
    keyCount: 100,
    slots: tableWindow.tableSlots,
    count: 100,
    hex: tableSnap.toString('hex'),
  },
  sequence: {
    description:
      'createWindow(20, 0.1), then each op in order: [method, key, answer] or ["rotate"]; afterwards stats() counters and both generations',
    capacity: 20,
    errorRate: 0.1,
    ops,
    counters: { falsePositives: counters.falsePositives, unconfirmed: counters.unconfirmed, overflows: counters.overflows },
    active: generation('active'),
    previous: generation('previous'),
  },
};

const write = (name: string, value: unknown) => {
  // Arrays of numbers on one line each keeps the files readable and diffable.
  const text = JSON.stringify(value, null, 1).replace(/\[\s*(-?\d[\d.e+\-,\s]*?)\s*\]/g, (_, list: string) => `[${list.split(/,\s*/).join(', ')}]`);
  writeFileSync(path.join(here, name), `${text}\n`);
  console.log(`wrote test/vectors/${name}`);
};
write('sizing.json', sizing);
write('hashing.json', hashing);
write('snapshot.json', snapshot);
write('window.json', window);
