/**
 * Filter micro-benchmark: `has` and `add` per operation for the native filter (single calls and
 * batches), the xxhash-wasm fallback, the npm packages `bloom-filters` and `bloomfilter`, and a
 * plain `Set` (exact, unbounded baseline), on filters of capacity n at p = 0.001 filled to
 * capacity with 36-character UUID keys. Also bytes per key. Next to them the exact dedup window
 * (filter + fingerprint table per generation, native and fallback): `check` on present and absent
 * keys, `observe` of a duplicate, bytes per key of one generation, and what a rotation costs.
 *
 *   node --expose-gc --max-old-space-size=8192 --import tsx bench/filter.ts [--quick]
 *
 * Timing: one tinybench task is a loop of LOOP single calls (or one batch call of BATCH keys), so
 * the timer's own cost (tens of ns) is spread over ≥ 1,000 operations; the per-operation figures
 * are the task's figures divided by the loop length (p50/p99 are therefore percentiles of
 * 1,000-operation averages, not of single calls).
 */
import bloomFilters from 'bloom-filters';
import { BloomFilter as Bloomfilter } from 'bloomfilter';
import { Bench } from 'tinybench';
import { loadFallbackFactory, loadNativeFactory, VERDICT_DUPLICATE } from '@cxone-dedup/bloom/factory';
import { numberArg, parseArgs, switchArg, type ScriptSpec } from './lib/args.js';
import { fmtBytes, fmtMs, fmtNs, fmtRate, markdownTable, verdict } from './lib/format.js';
import { batches, heapAfterGc, uuidKeys } from './lib/keys.js';
import { machineFacts, machineLine } from './lib/machine.js';
import { Progress, type PlannedPart } from './lib/progress.js';
import { mergeSection } from './lib/results.js';

const ERROR_RATE = 0.001;
const LOOP = 1000;
const BATCH = 1000;
/** The cost of crossing into the addon at all, measured apart from any hashing or memory access. */
const FLOOR = "N-API call floor (has('') of a 1-word filter)";
/** Keys that are probed absent, and keys that `add` cycles through (not in the fill set). */
const PROBE_KEYS = 1_000_000;

const SPEC: ScriptSpec = {
  script: 'bench/filter.ts',
  title: 'Bloom filter micro-benchmark: has/add per key and bytes per key',
  about: `The native filter (single calls and 1,000-key batches, plus the N-API call floor), the
xxhash-wasm fallback, npm bloom-filters and bloomfilter, and a plain Set, each filled to capacity n
with 36-character UUID keys at p = 0.001, timed with tinybench in loops of 1,000 calls.`,
  usage: ['npm run bench:filter -- [flags]', 'node --expose-gc --max-old-space-size=8192 --import tsx bench/filter.ts [flags]'],
  flags: [
    { name: 'quick', help: 'one capacity, short timings (development; numbers are rough)' },
    { name: 'capacity', arg: 'N', default: '1000000; only with --quick, else 1,000,000 and 10,000,000', help: 'keys each filter is filled with' },
    { name: 'time', arg: 'MS', default: '1000; 150 with --quick', help: 'time spent on each timed task' },
    { name: 'fill-budget', arg: 'MS', default: '60000; 8000 with --quick', help: 'a structure whose fill takes longer is filled only this far (bloom-filters at 10 M)' },
  ],
  duration: 'about 3 min on the reference machine (2 shared vCPUs), about 30 s with --quick',
};

const args = parseArgs(SPEC);
const quick = switchArg(args, 'quick');
const quickCapacity = numberArg(args, 'capacity', 1_000_000, 1000);
const capacities = quick ? [quickCapacity] : [1_000_000, 10_000_000];
const taskMs = numberArg(args, 'time', quick ? 150 : 1000, 10);
const warmupMs = quick ? 50 : 250;
/** A structure whose fill would take longer than this is filled only as far as the budget allows. */
const fillBudgetMs = numberArg(args, 'fill-budget', quick ? 8_000 : 60_000, 100);

/** The structures in the order subjects() builds them: timed tasks and rough ns per add (for the estimate). */
const STRUCTURES: ReadonlyArray<{ name: string; tasks: number; addNs: number }> = [
  { name: 'native', tasks: 8, addNs: 300 },
  { name: 'fallback', tasks: 3, addNs: 500 },
  { name: 'bloom-filters', tasks: 3, addNs: 30_000 },
  { name: 'bloomfilter', tasks: 3, addNs: 400 },
  { name: 'Set', tasks: 3, addNs: 300 },
  { name: 'native window', tasks: 3, addNs: 500 },
  { name: 'fallback window', tasks: 3, addNs: 900 },
];

function plan(): PlannedPart[] {
  const parts: PlannedPart[] = [];
  for (const n of capacities) {
    const keys = n + 2 * Math.min(n, PROBE_KEYS);
    parts.push({ what: `n=${n.toLocaleString('en-US')}: generating ${keys.toLocaleString('en-US')} keys`, seconds: keys * 1e-6 + 1 });
    for (const s of STRUCTURES) {
      const fill = Math.min(fillBudgetMs / 1000, (n * s.addNs) / 1e9);
      // tinybench: per task its time (or 16 iterations) plus warm-up.
      parts.push({ what: `n=${n.toLocaleString('en-US')}: ${s.name}`, seconds: fill + (s.tasks * (taskMs + warmupMs)) / 1000 });
    }
  }
  return parts;
}
const progress = new Progress('filter', plan());

type Family = 'native' | 'fallback' | 'npm' | 'exact' | 'window';

interface Row {
  capacity: number;
  structure: string;
  family: Family;
  operation: string;
  /** Keys per timed call: 1 for single calls, BATCH for batches; the loop is always ≥ 1,000 keys. */
  keysPerCall: number;
  meanNs: number;
  p50Ns: number;
  p99Ns: number;
  opsPerSecond: number;
  samples: number;
}

interface SizeRow {
  capacity: number;
  structure: string;
  family: Family;
  bytes: number;
  bytesPerKey: number;
  how: string;
  /** Keys actually inserted before timing (< capacity when the fill budget ran out). */
  filled: number;
  fillNsPerKey: number;
}

/** A structure under test: how to build and fill it, and its timed loops (each a distinct function literal, so every call site stays monomorphic). */
interface Subject {
  structure: string;
  family: Family;
  add(key: string): void;
  size(filledKeys: number): { bytes: number; how: string };
  tasks: Array<{ operation: string; keysPerCall: number; fn: () => void }>;
  /** Windows: one rotation (timed after the tasks: the first clears the empty generation, the second the filled one). */
  rotate?: () => void;
}

/** The time of each of two rotations of a filled window, in ms. */
interface RotationRow {
  capacity: number;
  structure: string;
  ms: number[];
}

// Consumed by every loop so the calls cannot be optimised away.
let sink = 0;

/** How many keys of an array are usable (the filled prefix of `present` when the fill budget ran out). */
interface Limit {
  n: number;
}

/** Walks `keys` (its first `limit.n`) LOOP at a time, wrapping around. */
function cursor(keys: readonly string[], limit: Limit = { n: keys.length }): () => number {
  let at = 0;
  return () => {
    if (at + LOOP > limit.n) at = 0;
    const start = at;
    at += LOOP;
    return start;
  };
}

function batchCursor(list: readonly string[][]): () => string[] {
  let at = 0;
  return () => {
    if (at >= list.length) at = 0;
    return list[at++]!;
  };
}

async function subjects(capacity: number, present: string[], absent: string[], extra: string[]): Promise<Array<(filled: Limit) => Subject>> {
  const nativeFactory = loadNativeFactory();
  const fallbackFactory = await loadFallbackFactory();
  const presentBatches = batches(present.slice(0, PROBE_KEYS), BATCH);
  const absentBatches = batches(absent, BATCH);
  const extraBatches = batches(extra, BATCH);
  const { bitCount, hashCount } = nativeFactory.params(capacity, ERROR_RATE);

  return [
    (filled) => {
      const f = nativeFactory.create(capacity, ERROR_RATE);
      // One 64-bit word and an empty key: has('') is then a hand-written N-API call that does almost nothing.
      const tiny = nativeFactory.create(1, 0.5);
      const p = cursor(present, filled);
      const a = cursor(absent);
      const x = cursor(extra);
      const pb = batchCursor(presentBatches);
      const ab = batchCursor(absentBatches);
      const xb = batchCursor(extraBatches);
      return {
        structure: 'native (Rust, napi-rs)',
        family: 'native',
        add: (k) => f.add(k),
        size: () => ({ bytes: f.byteLength, how: 'byteLength (bit array; the JS object is not counted)' }),
        tasks: [
          { operation: 'has (present)', keysPerCall: 1, fn: () => { const s = p(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.has(present[i]!)) h++; sink += h; } },
          { operation: 'has (absent)', keysPerCall: 1, fn: () => { const s = a(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.has(absent[i]!)) h++; sink += h; } },
          { operation: 'hasMany (present)', keysPerCall: BATCH, fn: () => { sink += f.hasMany(pb()).length; } },
          { operation: 'hasMany (absent)', keysPerCall: BATCH, fn: () => { sink += f.hasMany(ab()).length; } },
          { operation: 'hasManyMask (present)', keysPerCall: BATCH, fn: () => { sink += f.hasManyMask(pb()).length; } },
          { operation: 'add', keysPerCall: 1, fn: () => { const s = x(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.add(extra[i]!)) h++; sink += h; } },
          { operation: 'addMany', keysPerCall: BATCH, fn: () => { sink += f.addMany(xb()).length; } },
          { operation: FLOOR, keysPerCall: 1, fn: () => { let h = 0; for (let i = 0; i < LOOP; i++) if (tiny.has('')) h++; sink += h; } },
        ],
      };
    },
    (filled) => {
      const w = nativeFactory.createWindow(capacity, ERROR_RATE);
      const p = cursor(present, filled);
      const a = cursor(absent);
      return {
        structure: 'native window (filter + table)',
        family: 'window',
        add: (k) => w.record(k),
        size: () => ({
          bytes: w.byteLength / 2,
          how: `one generation: bitCount / 8 + 8 · (tableSlots + 1) = ${fmtBytes(w.bitCount / 8)} + ${fmtBytes(8 * (w.tableSlots + 1))} (the window holds two)`,
        }),
        tasks: [
          { operation: 'check (present)', keysPerCall: 1, fn: () => { const s = p(); let h = 0; for (let i = s; i < s + LOOP; i++) if (w.check(present[i]!) === VERDICT_DUPLICATE) h++; sink += h; } },
          { operation: 'check (absent)', keysPerCall: 1, fn: () => { const s = a(); let h = 0; for (let i = s; i < s + LOOP; i++) if (w.check(absent[i]!) === VERDICT_DUPLICATE) h++; sink += h; } },
          { operation: 'observe (present: a duplicate)', keysPerCall: 1, fn: () => { const s = p(); let h = 0; for (let i = s; i < s + LOOP; i++) h += w.observe(present[i]!); sink += h; } },
        ],
        rotate: () => w.rotate(),
      };
    },
    (filled) => {
      const w = fallbackFactory.createWindow(capacity, ERROR_RATE);
      const p = cursor(present, filled);
      const a = cursor(absent);
      return {
        structure: 'fallback window (filter + table)',
        family: 'window',
        add: (k) => w.record(k),
        size: () => ({ bytes: w.byteLength / 2, how: 'one generation, as above (Uint32Array bits and slots)' }),
        tasks: [
          { operation: 'check (present)', keysPerCall: 1, fn: () => { const s = p(); let h = 0; for (let i = s; i < s + LOOP; i++) if (w.check(present[i]!) === VERDICT_DUPLICATE) h++; sink += h; } },
          { operation: 'check (absent)', keysPerCall: 1, fn: () => { const s = a(); let h = 0; for (let i = s; i < s + LOOP; i++) if (w.check(absent[i]!) === VERDICT_DUPLICATE) h++; sink += h; } },
        ],
        rotate: () => w.rotate(),
      };
    },
    (filled) => {
      const f = fallbackFactory.create(capacity, ERROR_RATE);
      const p = cursor(present, filled);
      const a = cursor(absent);
      const x = cursor(extra);
      return {
        structure: 'fallback (xxhash-wasm)',
        family: 'fallback',
        add: (k) => f.add(k),
        size: () => ({ bytes: f.bitCount / 8, how: 'bitCount / 8 (Uint32Array of bits)' }),
        tasks: [
          { operation: 'has (present)', keysPerCall: 1, fn: () => { const s = p(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.has(present[i]!)) h++; sink += h; } },
          { operation: 'has (absent)', keysPerCall: 1, fn: () => { const s = a(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.has(absent[i]!)) h++; sink += h; } },
          { operation: 'add', keysPerCall: 1, fn: () => { const s = x(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.add(extra[i]!)) h++; sink += h; } },
        ],
      };
    },
    (filled) => {
      const f = bloomFilters.BloomFilter.create(capacity, ERROR_RATE);
      const p = cursor(present, filled);
      const a = cursor(absent);
      const x = cursor(extra);
      return {
        structure: 'bloom-filters (npm)',
        family: 'npm',
        add: (k) => f.add(k),
        size: () => ({ bytes: f._filter.array.byteLength, how: `_filter.array.byteLength (m = ${f._size}, k = ${f._nbHashes})` }),
        tasks: [
          { operation: 'has (present)', keysPerCall: 1, fn: () => { const s = p(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.has(present[i]!)) h++; sink += h; } },
          { operation: 'has (absent)', keysPerCall: 1, fn: () => { const s = a(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.has(absent[i]!)) h++; sink += h; } },
          { operation: 'add', keysPerCall: 1, fn: () => { const s = x(); for (let i = s; i < s + LOOP; i++) f.add(extra[i]!); sink++; } },
        ],
      };
    },
    (filled) => {
      const f = new Bloomfilter(bitCount, hashCount);
      const p = cursor(present, filled);
      const a = cursor(absent);
      const x = cursor(extra);
      return {
        structure: 'bloomfilter (npm)',
        family: 'npm',
        add: (k) => f.add(k),
        size: () => ({ bytes: f.buckets.byteLength, how: `buckets.byteLength (same m = ${bitCount}, k = ${hashCount})` }),
        tasks: [
          { operation: 'has (present)', keysPerCall: 1, fn: () => { const s = p(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.test(present[i]!)) h++; sink += h; } },
          { operation: 'has (absent)', keysPerCall: 1, fn: () => { const s = a(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.test(absent[i]!)) h++; sink += h; } },
          { operation: 'add', keysPerCall: 1, fn: () => { const s = x(); for (let i = s; i < s + LOOP; i++) f.add(extra[i]!); sink++; } },
        ],
      };
    },
    (filled) => {
      const before = heapAfterGc();
      const f = new Set<string>();
      const p = cursor(present, filled);
      const a = cursor(absent);
      const x = cursor(extra);
      return {
        structure: 'Set (exact, unbounded)',
        family: 'exact',
        add: (k) => f.add(k),
        size: (count) => {
          const grown = heapAfterGc() - before;
          return {
            bytes: grown,
            how: Number.isNaN(grown)
              ? 'not measured (run with --expose-gc)'
              : `heap growth over ${count.toLocaleString('en-US')} inserts (hash table only; the key strings are extra)`,
          };
        },
        tasks: [
          { operation: 'has (present)', keysPerCall: 1, fn: () => { const s = p(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.has(present[i]!)) h++; sink += h; } },
          { operation: 'has (absent)', keysPerCall: 1, fn: () => { const s = a(); let h = 0; for (let i = s; i < s + LOOP; i++) if (f.has(absent[i]!)) h++; sink += h; } },
          { operation: 'add', keysPerCall: 1, fn: () => { const s = x(); for (let i = s; i < s + LOOP; i++) f.add(extra[i]!); sink += f.size; } },
        ],
      };
    },
  ];
}

/** Adds keys in chunks until all are in or the budget is spent; returns how many went in and the time per key. */
function fill(subject: Subject, keys: readonly string[]): { filled: number; nsPerKey: number } {
  const chunk = 10_000;
  const t0 = performance.now();
  let i = 0;
  while (i < keys.length) {
    const end = Math.min(keys.length, i + chunk);
    for (; i < end; i++) subject.add(keys[i]!);
    if (performance.now() - t0 > fillBudgetMs) break;
  }
  return { filled: i, nsPerKey: ((performance.now() - t0) * 1e6) / i };
}

async function runCapacity(
  capacity: number,
  rows: Row[],
  sizes: SizeRow[],
  stringBytes: { capacity: number; bytesPerKey: number }[],
  rotations: RotationRow[],
): Promise<void> {
  const probe = Math.min(capacity, PROBE_KEYS);
  progress.next();
  process.stderr.write(`filter: generating ${capacity.toLocaleString('en-US')} + 2 × ${probe.toLocaleString('en-US')} UUID keys…\n`);
  const h0 = heapAfterGc();
  const present = uuidKeys(capacity);
  stringBytes.push({ capacity, bytesPerKey: (heapAfterGc() - h0) / capacity });
  const absent = uuidKeys(probe);
  const extra = uuidKeys(probe);

  for (const make of await subjects(capacity, present, absent, extra)) {
    const limit: Limit = { n: present.length };
    const subject = make(limit);
    progress.next();
    process.stderr.write(`filter: n=${capacity.toLocaleString('en-US')} ${subject.structure}: filling…`);
    const { filled, nsPerKey } = fill(subject, present);
    const { bytes, how } = subject.size(filled);
    sizes.push({ capacity, structure: subject.structure, family: subject.family, bytes, bytesPerKey: bytes / filled, how, filled, fillNsPerKey: nsPerKey });
    process.stderr.write(` ${filled.toLocaleString('en-US')} keys at ${fmtNs(nsPerKey)}/key; timing…\n`);

    // Keys beyond the fill (budget ran out) are not present: has(present) probes only the filled prefix.
    limit.n = filled;
    if (filled < LOOP) subject.tasks = subject.tasks.filter((t) => !t.operation.includes('(present)'));
    const bench = new Bench({ time: taskMs, warmupTime: warmupMs, iterations: 16, warmupIterations: 8, throws: true });
    for (const t of subject.tasks) bench.add(t.operation, t.fn);
    await bench.run();
    for (const t of subject.tasks) {
      const task = bench.getTask(t.operation)!;
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`${subject.structure} ${t.operation}: task ${r.state}`);
      const keysPerSample = t.keysPerCall === 1 ? LOOP : t.keysPerCall;
      const perKey = (ms: number) => (ms * 1e6) / keysPerSample;
      rows.push({
        capacity,
        structure: subject.structure,
        family: subject.family,
        operation: t.operation,
        keysPerCall: t.keysPerCall,
        meanNs: perKey(r.latency.mean),
        p50Ns: perKey(r.latency.p50),
        p99Ns: perKey(r.latency.p99),
        opsPerSecond: (keysPerSample * 1000) / r.latency.mean,
        samples: r.latency.samplesCount,
      });
    }
    if (subject.rotate) {
      const ms: number[] = [];
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        subject.rotate();
        ms.push(performance.now() - t0);
      }
      rotations.push({ capacity, structure: subject.structure, ms });
    }
  }
}

function fastestNpm(rows: readonly Row[], capacity: number, operation: string): Row | undefined {
  return rows
    .filter((r) => r.capacity === capacity && r.family === 'npm' && r.operation === operation)
    .sort((a, b) => a.meanNs - b.meanNs)[0];
}

export function renderFilter(data: FilterData): string {
  const { rows, sizes, stringBytes } = data;
  const out: string[] = [];
  for (const capacity of [...new Set(rows.map((r) => r.capacity))]) {
    const sizeOf = new Map(sizes.filter((s) => s.capacity === capacity).map((s) => [s.structure, s]));
    out.push(`### Filter operations, capacity ${capacity.toLocaleString('en-US')}, p = ${ERROR_RATE}, filled to capacity (36-char UUID keys)\n`);
    out.push(
      markdownTable(
        ['structure', 'operation', 'mean / key', 'p50 / key', 'p99 / key', 'keys/s'],
        rows
          .filter((r) => r.capacity === capacity)
          .map((r) => [
            r.structure + (sizeOf.get(r.structure)!.filled < capacity ? ' ¹' : ''),
            r.keysPerCall > 1 ? `${r.operation}, batch ${r.keysPerCall}` : r.operation,
            fmtNs(r.meanNs),
            fmtNs(r.p50Ns),
            fmtNs(r.p99Ns),
            fmtRate(r.opsPerSecond),
          ]),
        [false, false, true, true, true, true],
      ),
    );
    out.push('');
    out.push(
      markdownTable(
        ['structure', 'bytes', 'bytes / key', 'fill time / key', 'measured as'],
        sizes
          .filter((s) => s.capacity === capacity)
          .map((s) => [
            s.structure + (s.filled < capacity ? ' ¹' : ''),
            fmtBytes(s.bytes),
            Number.isFinite(s.bytesPerKey) ? s.bytesPerKey.toFixed(2) : 'n/a',
            fmtNs(s.fillNsPerKey),
            s.how,
          ]),
        [false, true, true, true, false],
      ),
    );
    const strings = stringBytes.find((s) => s.capacity === capacity);
    if (strings && Number.isFinite(strings.bytesPerKey)) {
      out.push(`\nThe key strings themselves take ${strings.bytesPerKey.toFixed(1)} bytes each on the V8 heap (what a Set must also keep).`);
    }
    const partial = sizes.filter((s) => s.capacity === capacity && s.filled < capacity);
    for (const s of partial) {
      out.push(
        `\n¹ ${s.structure}: filled with ${s.filled.toLocaleString('en-US')} keys only (${((100 * s.filled) / capacity).toFixed(0)} %): at ${fmtNs(s.fillNsPerKey)} per add, ` +
          `filling to capacity would take ${((s.fillNsPerKey * capacity) / 1e9).toFixed(0)} s. Its has(absent) exits early more often on a sparser filter, which flatters it.`,
      );
    }
    out.push(renderWindowSummary(data, capacity));
    const ratios: string[] = [];
    for (const op of ['has (present)', 'has (absent)', 'add']) {
      const native = rows.find((r) => r.capacity === capacity && r.family === 'native' && r.operation === op);
      const npm = fastestNpm(rows, capacity, op);
      if (native && npm) ratios.push(`${op} **${(npm.meanNs / native.meanNs).toFixed(1)}×** (${fmtNs(native.meanNs)} vs ${fmtNs(npm.meanNs)}, ${npm.structure})`);
    }
    if (ratios.length > 0) out.push(`\nSpeed of native single calls relative to the fastest pure-JS npm Bloom filter (its mean time / native mean time; > 1 = native faster): ${ratios.join('; ')}.`);
    out.push('');
  }
  return out.join('\n');
}

/** The exact window next to the filter alone: bytes per key of one generation, check / has p50, rotation time. */
function renderWindowSummary(data: FilterData, capacity: number): string {
  const { rows, sizes } = data;
  const rotations = data.rotations ?? [];
  const p50 = (structure: string, op: string) => rows.find((r) => r.capacity === capacity && r.structure === structure && r.operation === op)?.p50Ns;
  const pair = (structure: string, present: string, absent: string) => {
    const a = p50(structure, present);
    const b = p50(structure, absent);
    return a === undefined || b === undefined ? 'n/a' : `${fmtNs(a)} / ${fmtNs(b)}`;
  };
  const line = (structure: string, what: string, present: string, absent: string) => {
    const size = sizes.find((x) => x.capacity === capacity && x.structure === structure);
    const rot = rotations.find((x) => x.capacity === capacity && x.structure === structure);
    return [
      structure,
      what,
      size ? (size.bytes / capacity).toFixed(2) : 'n/a',
      pair(structure, present, absent),
      rot ? rot.ms.map((ms) => fmtMs(ms)).join(', ') : '—',
    ];
  };
  const table = markdownTable(
    ['structure', 'answers', 'bytes / key of capacity (one generation)', 'p50 present / absent', 'rotate (empty gen., filled gen.)'],
    [
      line('native (Rust, napi-rs)', 'maybe / certainly not (has)', 'has (present)', 'has (absent)'),
      line('native window (filter + table)', 'exact (check)', 'check (present)', 'check (absent)'),
      line('fallback (xxhash-wasm)', 'maybe / certainly not (has)', 'has (present)', 'has (absent)'),
      line('fallback window (filter + table)', 'exact (check)', 'check (present)', 'check (absent)'),
    ],
    [false, false, true, true, true],
  );
  return `\n#### Exact dedup window vs the filter alone, capacity ${capacity.toLocaleString('en-US')}\n\n${table}\n`;
}

export interface FilterData {
  errorRate: number;
  loop: number;
  batch: number;
  taskMs: number;
  rows: Row[];
  sizes: SizeRow[];
  stringBytes: Array<{ capacity: number; bytesPerKey: number }>;
  /** Absent from results written before the window rows existed. */
  rotations?: RotationRow[];
  targets: Array<{ target: string; value: string; met: boolean }>;
}

function targets(rows: readonly Row[]): FilterData['targets'] {
  const out: FilterData['targets'] = [];
  const at1m = (op: string) => rows.find((r) => r.capacity === 1_000_000 && r.family === 'native' && r.operation === op);
  const has = at1m('has (present)');
  const hasAbsent = at1m('has (absent)');
  if (has && hasAbsent) {
    out.push({ target: 'native has p50 ≤ 150 ns at n = 1,000,000', value: `present ${fmtNs(has.p50Ns)}, absent ${fmtNs(hasAbsent.p50Ns)}`, met: has.p50Ns <= 150 && hasAbsent.p50Ns <= 150 });
  }
  const many = at1m('hasMany (present)');
  if (many) out.push({ target: 'hasMany ≥ 10,000,000 keys/s', value: fmtRate(many.opsPerSecond), met: many.opsPerSecond >= 10_000_000 });
  for (const op of ['has (present)', 'has (absent)', 'add']) {
    const native = at1m(op);
    const npm = fastestNpm(rows, 1_000_000, op);
    if (native && npm) {
      const ratio = npm.meanNs / native.meanNs;
      out.push({ target: `native ≥ 3× the fastest npm Bloom, ${op}`, value: `${ratio.toFixed(1)}× (vs ${npm.structure})`, met: ratio >= 3 });
    }
  }
  return out;
}

export function renderTargets(t: FilterData['targets']): string {
  return markdownTable(['target', 'measured', ''], t.map((x) => [x.target, x.value, verdict(x.met)]));
}

async function main(): Promise<void> {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') process.stderr.write('filter: no --expose-gc: Set memory and key-string sizes are not measured\n');
  const rows: Row[] = [];
  const sizes: SizeRow[] = [];
  const stringBytes: FilterData['stringBytes'] = [];
  const rotations: RotationRow[] = [];
  for (const capacity of capacities) await runCapacity(capacity, rows, sizes, stringBytes, rotations);
  const data: FilterData = { errorRate: ERROR_RATE, loop: LOOP, batch: BATCH, taskMs, rows, sizes, stringBytes, rotations, targets: targets(rows) };
  const markdown = `${renderFilter(data)}\n${data.targets.length > 0 ? `${renderTargets(data.targets)}\n` : ''}`;
  process.stdout.write(`\n${markdown}\nMachine: ${machineLine(machineFacts())}\n`);
  if (sink === -1) process.stdout.write('');
  mergeSection('filter', { quick, markdown, data });
  progress.done();
}

main().catch((err: unknown) => {
  process.stderr.write(`filter benchmark failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
