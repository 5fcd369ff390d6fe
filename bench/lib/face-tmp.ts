/**
 * Two implementations of the same entry point timed side by side (issue 14: the hand-written
 * N-API face against a `#[napi]` one). Each round times every pair in one tinybench run, the
 * two of a pair back to back and in alternating order from round to round, so a drift of this
 * shared machine's speed hits both alike; a pair's figure is the median over the rounds of each
 * round's p50 per call.
 */
import { Bench } from 'tinybench';
import { fmtNs, markdownTable } from './format.js';

export interface FacePair {
  /** What is called, e.g. "BloomFilter.has (present key)". */
  entry: string;
  /** Calls made by one run of `a` or `b` (loops spread the timer's cost over many calls). */
  calls: number;
  a: () => void;
  b: () => void;
}

export interface FaceRow {
  entry: string;
  /** Per-call p50, median over the rounds. */
  aNs: number;
  bNs: number;
  /** Each round's per-call p50s, for the record. */
  aRounds: number[];
  bRounds: number[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export async function compareFaces(pairs: readonly FacePair[], rounds: number, taskMs: number): Promise<FaceRow[]> {
  const perCall = new Map<string, { a: number[]; b: number[] }>(pairs.map((p) => [p.entry, { a: [], b: [] }]));
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: taskMs, warmupTime: Math.min(50, taskMs), iterations: 16, warmupIterations: 8, throws: true });
    for (const p of pairs) {
      const first = round % 2 === 0 ? (['a', p.a] as const) : (['b', p.b] as const);
      const second = round % 2 === 0 ? (['b', p.b] as const) : (['a', p.a] as const);
      bench.add(`${p.entry} ${first[0]}`, first[1]);
      bench.add(`${p.entry} ${second[0]}`, second[1]);
    }
    await bench.run();
    for (const p of pairs) {
      for (const side of ['a', 'b'] as const) {
        const r = bench.getTask(`${p.entry} ${side}`)!.result;
        if (r.state !== 'completed') throw new Error(`${p.entry} ${side}: task ${r.state}`);
        perCall.get(p.entry)![side].push((r.latency.p50 * 1e6) / p.calls);
      }
    }
    process.stderr.write(`face: round ${round + 1} of ${rounds} done\n`);
  }
  return pairs.map((p) => {
    const { a, b } = perCall.get(p.entry)!;
    return { entry: p.entry, aNs: median(a), bNs: median(b), aRounds: a, bRounds: b };
  });
}

export function renderFaces(rows: readonly FaceRow[], aName: string, bName: string): string {
  return markdownTable(
    ['entry point', `${aName} p50 / call`, `${bName} p50 / call`, `${bName} − ${aName}`, 'ratio'],
    rows.map((r) => [r.entry, fmtNs(r.aNs), fmtNs(r.bNs), `${r.bNs >= r.aNs ? '+' : '−'}${fmtNs(Math.abs(r.bNs - r.aNs))}`, `${(r.bNs / r.aNs).toFixed(2)}×`]),
    [false, true, true, true, true],
  );
}
