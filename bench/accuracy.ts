/**
 * Accuracy: (1) each filter's measured false-positive rate against the configured one, at
 * capacity n and p = 0.001, probed with 1,000,000 keys never added; (2) the dedup engine's false
 * drops (fresh events reported as duplicates) across a compaction, under both UNCONFIRMED_POLICY
 * values, driving the real DedupEngine in-process with the native filter factory: with the exact
 * window (Bloom + fingerprint tables) there are none, and the Bloom "maybe" answers the tables
 * settled are counted (each was a false drop before the tables, under the default policy), next
 * to the memory and time the tables cost.
 *
 *   node --import tsx bench/accuracy.ts [--quick]
 */
import bloomFilters from 'bloom-filters';
import { BloomFilter as Bloomfilter } from 'bloomfilter';
import { loadFallbackFactory, loadNativeFactory } from '@cxone-dedup/bloom/factory';
import { DedupEngine, type DataActionEvent, type UnconfirmedPolicy } from '../src/dedup/engine.js';
import { parseTimestamp } from '../src/dedup/timestamp.js';
import { numberArg, parseArgs, switchArg, type ScriptSpec } from './lib/args.js';
import { fmtInt, fmtPct, markdownTable } from './lib/format.js';
import { uuidKeys } from './lib/keys.js';
import { machineFacts, machineLine } from './lib/machine.js';
import { Progress } from './lib/progress.js';
import { mergeSection } from './lib/results.js';

const ERROR_RATE = 0.001;
const STATE_CACHE_SIZE = 100_000; // the daemon's default

const SPEC: ScriptSpec = {
  script: 'bench/accuracy.ts',
  title: "false-positive rates of the filters, and the dedup engine's false drops across a compaction",
  about: `(1) Each filter (native, fallback, bloom-filters, bloomfilter) filled with n keys at p = 0.001,
probed with keys never added: measured false-positive rate with a 95 % interval, against the
configured and the theoretical rate. (2) The real DedupEngine (native filter): one generation of n
interactions, a compaction, then n/2 fresh ones (each "deduplicated" is a false drop), for both
UNCONFIRMED_POLICY values, then repeats the state cache has evicted.`,
  usage: ['npm run bench:accuracy -- [flags]', 'node --max-old-space-size=4096 --import tsx bench/accuracy.ts [flags]'],
  flags: [
    { name: 'quick', help: 'smaller n and fewer probes (development; intervals are wider)' },
    { name: 'capacity', arg: 'N', default: '1000000; 100000 with --quick', help: 'keys added to each filter, and interactions in the first generation' },
    { name: 'probes', arg: 'N', default: '1000000; 200000 with --quick', help: 'absent keys probed per filter' },
  ],
  duration: 'about 1 min on the reference machine (2 shared vCPUs), about 15 s with --quick',
};

const args = parseArgs(SPEC);
const quick = switchArg(args, 'quick');
const capacity = numberArg(args, 'capacity', quick ? 100_000 : 1_000_000, 1000);
const probes = numberArg(args, 'probes', quick ? 200_000 : 1_000_000, 1000);

/** Rough seconds per key added or probed, per filter (bloom-filters hashes with xxhashjs, ~25 µs). */
const FILTER_NS: ReadonlyArray<[string, number]> = [
  ['native', 400],
  ['fallback', 600],
  ['bloom-filters', 28_000],
  ['bloomfilter', 500],
];
const progress = new Progress('accuracy', [
  { what: 'generating keys', seconds: (capacity * 1.5 + probes) * 1e-6 + 1 },
  ...FILTER_NS.map(([name, ns]) => ({ what: `filter ${name}`, seconds: ((capacity + probes) * ns) / 1e9 })),
  ...(['new', 'duplicate'] as const).map((policy) => ({ what: `dedup engine, UNCONFIRMED_POLICY=${policy}`, seconds: (capacity * 1.7 * 2000) / 1e9 + 1 })),
]);

/** Theoretical false-positive rate of a Bloom filter of m bits and k hashes holding n keys. */
function theoreticalFpr(m: number, k: number, n: number): number {
  return Math.pow(1 - Math.exp((-k * n) / m), k);
}

/** Half-width of a 95 % confidence interval of a measured proportion. */
function ci95(rate: number, trials: number): number {
  return 1.96 * Math.sqrt(Math.max(rate, 1 / trials) * (1 - rate) / trials);
}

interface FilterRow {
  structure: string;
  bitCount: number;
  hashCount: number;
  falsePositives: number;
  probes: number;
  measured: number;
  ci95: number;
  configured: number;
  theoretical: number;
  falseNegatives: number;
}

interface Probe {
  structure: string;
  m: number;
  k: number;
  add(key: string): void;
  has(key: string): boolean;
}

async function filterAccuracy(present: readonly string[], absent: readonly string[]): Promise<FilterRow[]> {
  const native = loadNativeFactory();
  const fallback = await loadFallbackFactory();
  const { bitCount, hashCount } = native.params(capacity, ERROR_RATE);
  const makers: Array<() => Probe> = [
    () => {
      const f = native.create(capacity, ERROR_RATE);
      return { structure: 'native (Rust, napi-rs)', m: f.bitCount, k: f.hashCount, add: (k) => f.add(k), has: (k) => f.has(k) };
    },
    () => {
      const f = fallback.create(capacity, ERROR_RATE);
      return { structure: 'fallback (xxhash-wasm)', m: f.bitCount, k: f.hashCount, add: (k) => f.add(k), has: (k) => f.has(k) };
    },
    () => {
      const f = bloomFilters.BloomFilter.create(capacity, ERROR_RATE);
      return { structure: 'bloom-filters (npm)', m: f._size, k: f._nbHashes, add: (k) => f.add(k), has: (k) => f.has(k) };
    },
    () => {
      const f = new Bloomfilter(bitCount, hashCount);
      return { structure: 'bloomfilter (npm)', m: f.m, k: f.k, add: (k) => f.add(k), has: (k) => f.test(k) };
    },
  ];
  const rows: FilterRow[] = [];
  for (const make of makers) {
    progress.next();
    const f = make();
    const t0 = performance.now();
    process.stderr.write(`accuracy: ${f.structure}: ${fmtInt(present.length)} adds, ${fmtInt(absent.length)} probes…`);
    for (const k of present) f.add(k);
    let falseNegatives = 0;
    // Every added key must answer "maybe": a Bloom filter has no false negatives.
    for (let i = 0; i < present.length; i += 97) if (!f.has(present[i]!)) falseNegatives++;
    let fp = 0;
    for (const k of absent) if (f.has(k)) fp++;
    process.stderr.write(` ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const measured = fp / absent.length;
    rows.push({
      structure: f.structure,
      bitCount: f.m,
      hashCount: f.k,
      falsePositives: fp,
      probes: absent.length,
      measured,
      ci95: ci95(measured, absent.length),
      configured: ERROR_RATE,
      theoretical: theoreticalFpr(f.m, f.k, present.length),
      falseNegatives,
    });
  }
  return rows;
}

interface EngineRow {
  policy: UnconfirmedPolicy;
  firstGeneration: number;
  compactions: number;
  freshEvents: number;
  falseDrops: number;
  falseDropRate: number;
  ci95: number;
  expectedBloomUnion: number;
  unconfirmed: number;
  evictedRepeats: number;
  evictedRepeatsCaught: number;
  /** Bloom "maybe" answers on fresh events that the fingerprint tables settled as new. */
  bloomMaybesSettled: number;
  /** Mean time of one `process` of a fresh event (native engine, in-process). */
  nsPerFreshEvent: number;
}

/** Bytes per key of one window generation: the filter alone, and filter + fingerprint table. */
interface MemoryRow {
  capacity: number;
  filterBytesPerKey: number;
  windowBytesPerKey: number;
  windowBytes: number;
}

/**
 * Expected share of fresh keys that the two generations together call "maybe": the previous
 * generation is full (n_prev keys); the active one grows from 0 to `fresh` keys as they arrive.
 */
function expectedUnionFpr(m: number, k: number, nPrevious: number, fresh: number): number {
  const prev = theoreticalFpr(m, k, nPrevious);
  let sum = 0;
  const steps = 1000;
  for (let s = 0; s < steps; s++) {
    const inActive = ((s + 0.5) / steps) * fresh;
    sum += 1 - (1 - prev) * (1 - theoreticalFpr(m, k, inActive));
  }
  return sum / steps;
}

function engineFalseDrops(policy: UnconfirmedPolicy, first: readonly string[], fresh: readonly string[], repeats: readonly string[]): EngineRow {
  const engine = new DedupEngine({
    factory: loadNativeFactory(),
    capacity,
    errorRate: ERROR_RATE,
    compactionIntervalSeconds: 3600, // never started: compaction only when called or when full
    stateCacheSize: STATE_CACHE_SIZE,
    unconfirmedPolicy: policy,
  });
  const updatedTimestamp = '2026-01-01T00:00:00.000Z';
  const ts = parseTimestamp(updatedTimestamp)!;
  const event = (interactionId: string): DataActionEvent => ({ interactionId, dataActionId: 'da-1', updatedTimestamp, payload: {} });

  // 1. Fill one generation with distinct interactions, then compact (unless filling did).
  for (const id of first) engine.process(event(id), ts);
  if (engine.stats().compactions === 0) engine.compact('manual');
  const retired = engine.stats();
  const unconfirmedBefore = retired.eventsUnconfirmed;

  // 2. Fresh interactions: every "deduplicated" answer is a false drop. The Bloom "maybe" answers
  //    among them are what the fingerprint tables settle (before them: the policy's guesses).
  const maybesBefore = engine.stats().filter.falsePositivesCaught;
  let falseDrops = 0;
  const t0 = performance.now();
  for (const id of fresh) if (engine.process(event(id), ts).status === 'deduplicated') falseDrops++;
  const nsPerFreshEvent = ((performance.now() - t0) * 1e6) / fresh.length;
  const unconfirmed = engine.stats().eventsUnconfirmed - unconfirmedBefore;
  const bloomMaybesSettled = engine.stats().filter.falsePositivesCaught - maybesBefore;

  // 3. The other side of the policy: true repeats of generation-1 interactions, long evicted
  //    from the state cache but still inside the Bloom window. Only the filter remembers them.
  let caught = 0;
  for (const id of repeats) if (engine.process(event(id), ts).status === 'deduplicated') caught++;

  const f = engine.stats().filter;
  const rate = falseDrops / fresh.length;
  return {
    policy,
    firstGeneration: first.length,
    compactions: engine.stats().compactions,
    freshEvents: fresh.length,
    falseDrops,
    falseDropRate: rate,
    ci95: ci95(rate, fresh.length),
    expectedBloomUnion: expectedUnionFpr(f.bitCount, f.hashCount, first.length, fresh.length),
    unconfirmed,
    evictedRepeats: repeats.length,
    evictedRepeatsCaught: caught,
    bloomMaybesSettled,
    nsPerFreshEvent,
  };
}

/** One generation's memory per key, from the window's sizing (nothing allocated). */
function memoryRow(n: number): MemoryRow {
  const w = loadNativeFactory().windowParams(n, ERROR_RATE);
  return { capacity: n, filterBytesPerKey: w.bitCount / 8 / n, windowBytesPerKey: w.generationByteLength / n, windowBytes: w.byteLength };
}

export interface AccuracyData {
  capacity: number;
  errorRate: number;
  stateCacheSize: number;
  filters: FilterRow[];
  engine: EngineRow[];
  memory: MemoryRow[];
}

export function renderAccuracy(d: AccuracyData): string {
  const out: string[] = [];
  out.push(`### False-positive rate, capacity ${fmtInt(d.capacity)} filled, p = ${d.errorRate}, ${fmtInt(d.filters[0]?.probes ?? 0)} absent keys\n`);
  out.push(
    markdownTable(
      ['structure', 'm bits', 'k', 'false positives', 'measured FPR (95 % CI)', 'configured', 'theory for m, k, n', 'measured / configured', 'false negatives'],
      d.filters.map((r) => [
        r.structure,
        fmtInt(r.bitCount),
        String(r.hashCount),
        fmtInt(r.falsePositives),
        `${fmtPct(r.measured)} ± ${fmtPct(r.ci95, 2)}`,
        fmtPct(r.configured),
        fmtPct(r.theoretical),
        `${(r.measured / r.configured).toFixed(2)}×`,
        String(r.falseNegatives),
      ]),
      [false, true, true, true, true, true, true, true, true],
    ),
  );
  out.push(
    `\n### Dedup engine false drops across a compaction (native filter, capacity ${fmtInt(d.capacity)}, p = ${d.errorRate}, state cache ${fmtInt(d.stateCacheSize)})\n`,
  );
  out.push(
    'Generation 1: n distinct interactions, then a compaction; then fresh interactions (each a "deduplicated" answer is a false drop); ' +
      'then true repeats of generation-1 interactions that the state cache has evicted but the window still holds.\n',
  );
  out.push(
    markdownTable(
      ['UNCONFIRMED_POLICY', 'fresh events', 'false drops', 'false-drop rate (95 % CI)', 'Bloom "maybe" settled by the tables (dropped before them)', 'expected Bloom union FPR', 'unconfirmed', 'evicted repeats caught', 'ns per fresh event'],
      d.engine.map((r) => [
        r.policy,
        fmtInt(r.freshEvents),
        fmtInt(r.falseDrops),
        `${fmtPct(r.falseDropRate)} ± ${fmtPct(r.ci95, 2)}`,
        `${fmtInt(r.bloomMaybesSettled)} (${fmtPct(r.bloomMaybesSettled / r.freshEvents)})`,
        fmtPct(r.expectedBloomUnion),
        fmtInt(r.unconfirmed),
        `${fmtInt(r.evictedRepeatsCaught)} / ${fmtInt(r.evictedRepeats)}`,
        fmtInt(Math.round(r.nsPerFreshEvent)),
      ]),
      [false, true, true, true, true, true, true, true, true],
    ),
  );
  out.push(
    '\nEvery Bloom "maybe" is settled by the fingerprint tables, so neither policy drops a fresh event and every repeat is caught, whatever the state ' +
      'cache evicted. Before the tables, the default `duplicate` dropped exactly the "maybe" answers in the fifth column (about the union FPR of the two ' +
      'generations); `new` processed the evicted repeats again. The policy now decides only for a generation that lost exactness (table overflow, or ' +
      'restored from a format-1 snapshot).\n',
  );
  out.push(`\n#### What the exactness costs: memory per key of one generation (p = ${d.errorRate})\n`);
  out.push(
    markdownTable(
      ['capacity', 'filter alone', 'filter + fingerprint table', 'whole window (two generations)'],
      (d.memory ?? []).map((m) => [fmtInt(m.capacity), `${m.filterBytesPerKey.toFixed(2)} B`, `${m.windowBytesPerKey.toFixed(2)} B`, `${(m.windowBytes / 1e6).toFixed(1)} MB`]),
      [true, true, true, true],
    ),
  );
  out.push('\nThe check itself: `bench:filter` times the window\'s `check` next to the filter\'s `has` (ns per call).');
  return out.join('\n');
}

async function main(): Promise<void> {
  progress.next();
  process.stderr.write(`accuracy: generating keys (n = ${fmtInt(capacity)}, ${fmtInt(probes)} probes)…\n`);
  const present = uuidKeys(capacity);
  const absent = uuidKeys(probes);
  const filters = await filterAccuracy(present, absent);

  const fresh = uuidKeys(Math.floor(capacity / 2)); // stays below capacity: no second compaction
  const repeats = present.slice(0, Math.min(STATE_CACHE_SIZE, Math.floor(capacity / 10)));
  const engine = (['new', 'duplicate'] as const).map((policy) => {
    progress.next();
    process.stderr.write(`accuracy: dedup engine, UNCONFIRMED_POLICY=${policy}…\n`);
    return engineFalseDrops(policy, present, fresh, repeats);
  });
  for (const r of engine) {
    if (r.compactions !== 1) throw new Error(`expected exactly one compaction in the engine run (${r.policy}), saw ${r.compactions}`);
  }

  const memory = [1_000_000, 10_000_000].map(memoryRow);
  const data: AccuracyData = { capacity, errorRate: ERROR_RATE, stateCacheSize: STATE_CACHE_SIZE, filters, engine, memory };
  const markdown = renderAccuracy(data);
  process.stdout.write(`\n${markdown}\n\nMachine: ${machineLine(machineFacts())}\n`);
  mergeSection('accuracy', { quick, markdown, data });
  progress.done();
}

main().catch((err: unknown) => {
  process.stderr.write(`accuracy benchmark failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
