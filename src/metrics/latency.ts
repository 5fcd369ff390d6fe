/**
 * Request latency for the hot path: `record(us)` is O(1) and allocates nothing.
 *
 * Storage is a log-linear ("HDR-like") histogram over whole microseconds: values below 128 µs get
 * their own bucket, above that every power of two is split into 64 equal buckets, so a bucket is at
 * most 1/64 (1.6 %) of its values wide and the reported midpoint is within 0.8 % (plus rounding to
 * whole µs) of any value in it. The range is 0 … 2^26 µs (67 s); larger values land in the last
 * bucket, and the exact maximum is tracked separately.
 *
 * Window: `summary()` reports the quantiles of the *recent* requests, not of the whole process
 * lifetime. Two histograms rotate every `windowMs` (default 30 s): the summary merges the current
 * one with the previous one, so it always covers the last `windowMs` … `2 × windowMs`. Rotation is
 * checked on every `record()` and `summary()` against a monotonic clock (`performance.now()`), so no
 * timer is needed and a quiet period is never mistaken for recent; a caller that already read
 * `performance.now()` to measure the request passes it in and saves the clock read. Separately,
 * cumulative counts since start are kept in the fixed `le` buckets of a Prometheus histogram.
 */

/** Request latency in microseconds, from first byte handled to response written. */
export interface LatencySummary {
  count: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

const SUB_BUCKET_BITS = 6;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 64 buckets per power of two
const MAX_EXPONENT = 26; // 2^26 µs ≈ 67 s, above the 60 s we promise
/** Largest value stored exactly in its bucket; larger values are clamped into the last bucket. */
export const LATENCY_MAX_TRACKABLE_US = 2 ** MAX_EXPONENT - 1;
const BUCKET_COUNT = SUB_BUCKETS * (MAX_EXPONENT - SUB_BUCKET_BITS + 1); // 1344

/** Bucket index of a whole, non-negative number of µs (≤ LATENCY_MAX_TRACKABLE_US). */
function bucketIndex(v: number): number {
  if (v < SUB_BUCKETS * 2) return v;
  const exponent = 31 - Math.clz32(v); // floor(log2 v), ≥ 7 here
  const shift = exponent - SUB_BUCKET_BITS;
  return SUB_BUCKETS * (shift + 1) + ((v >>> shift) - SUB_BUCKETS);
}

function bucketLower(index: number): number {
  if (index < SUB_BUCKETS * 2) return index;
  const shift = Math.floor(index / SUB_BUCKETS) - 1;
  return (SUB_BUCKETS + (index % SUB_BUCKETS)) * 2 ** shift;
}

function bucketWidth(index: number): number {
  return index < SUB_BUCKETS * 2 ? 1 : 2 ** (Math.floor(index / SUB_BUCKETS) - 1);
}

/**
 * Upper bounds (µs) of the cumulative Prometheus buckets, from 50 µs to 10 s; +Inf is implied.
 * Ordered, each at least 2× the previous, so that a log-linear bucket straddles at most one bound.
 */
export const DEFAULT_LATENCY_BOUNDS_US: readonly number[] = [
  50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
  2_500_000, 5_000_000, 10_000_000,
];

/**
 * Nearest-rank quantiles over log-linear buckets (`countAt(i)` requests in bucket i), all found
 * in one pass; each is its bucket's midpoint, never above the exact maximum.
 */
function quantiles(countAt: (index: number) => number, count: number, maxUs: number): LatencySummary {
  if (count === 0) return { count: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 };
  const ps = [0.5, 0.9, 0.99, 0.999];
  const out = [0, 0, 0, 0];
  let q = 0;
  let rank = Math.max(1, Math.ceil(ps[0]! * count));
  let seen = 0;
  for (let i = 0; i < BUCKET_COUNT && q < ps.length; i++) {
    const c = countAt(i);
    if (c === 0) continue;
    seen += c;
    while (q < ps.length && seen >= rank) {
      const mid = bucketLower(i) + (bucketWidth(i) - 1) / 2;
      out[q] = Math.min(Math.round(mid), Math.round(maxUs));
      q++;
      if (q < ps.length) rank = Math.max(1, Math.ceil(ps[q]! * count));
    }
  }
  return { count, p50Us: out[0]!, p90Us: out[1]!, p99Us: out[2]!, p999Us: out[3]!, maxUs: Math.round(maxUs) };
}

/** A recorder's recent windows as sparse buckets (LatencyRecorder.recent), plain data for another thread. */
export interface RecentLatency {
  /** Pairs: bucket index, then its count. */
  buckets: number[];
  count: number;
  maxUs: number;
}

/** The quantiles of several recorders' recent requests together (their buckets summed). */
export function summarizeRecent(parts: readonly RecentLatency[]): LatencySummary {
  const counts = new Float64Array(BUCKET_COUNT);
  let count = 0;
  let maxUs = 0;
  for (const p of parts) {
    for (let k = 0; k + 1 < p.buckets.length; k += 2) {
      const i = p.buckets[k]!;
      if (Number.isInteger(i) && i >= 0 && i < BUCKET_COUNT) counts[i]! += p.buckets[k + 1]!;
    }
    count += p.count;
    if (p.maxUs > maxUs) maxUs = p.maxUs;
  }
  return quantiles((i) => counts[i]!, count, maxUs);
}

/** Several recorders' cumulative histograms as one; all must use the same bounds (the default). */
export function mergeCumulative(parts: readonly CumulativeLatency[]): CumulativeLatency {
  const first = parts[0];
  if (first === undefined) return { boundsSeconds: DEFAULT_LATENCY_BOUNDS_US.map((b) => b / 1e6), cumulativeCounts: DEFAULT_LATENCY_BOUNDS_US.map(() => 0), count: 0, sumSeconds: 0, maxUs: 0 };
  const cumulativeCounts = first.cumulativeCounts.map(() => 0);
  let count = 0;
  let sumSeconds = 0;
  let maxUs = 0;
  for (const p of parts) {
    if (p.boundsSeconds.length !== first.boundsSeconds.length || p.boundsSeconds.some((b, i) => b !== first.boundsSeconds[i])) {
      throw new Error('mergeCumulative: the histograms have different bounds');
    }
    p.cumulativeCounts.forEach((c, i) => (cumulativeCounts[i]! += c));
    count += p.count;
    sumSeconds += p.sumSeconds;
    if (p.maxUs > maxUs) maxUs = p.maxUs;
  }
  return { boundsSeconds: [...first.boundsSeconds], cumulativeCounts, count, sumSeconds, maxUs };
}

/** One histogram over a window. */
class Window {
  readonly counts = new Float64Array(BUCKET_COUNT);
  count = 0;
  max = 0;

  clear(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
  }
}

/** Cumulative request-duration histogram in seconds, ready for the Prometheus text format. */
export interface CumulativeLatency {
  /** Upper bounds in seconds, ascending, without +Inf. */
  boundsSeconds: number[];
  /** Cumulative counts: `cumulativeCounts[i]` = requests that took ≤ boundsSeconds[i]; same length. */
  cumulativeCounts: number[];
  /** All requests (the +Inf bucket). */
  count: number;
  sumSeconds: number;
  maxUs: number;
}

export interface LatencyRecorderOptions {
  /** Length of one rotation window in ms (default 30 000); the summary covers 1–2 windows. */
  windowMs?: number;
  /** Upper bounds in µs of the cumulative buckets (default DEFAULT_LATENCY_BOUNDS_US). */
  boundsUs?: readonly number[];
  /** Monotonic clock in ms (default performance.now); record()'s `nowMs` must come from the same clock. */
  now?: () => number;
}

export class LatencyRecorder {
  readonly windowMs: number;
  private current = new Window();
  private previous = new Window();
  private windowEnd: number;
  private readonly now: () => number;

  // Cumulative, since start.
  private readonly boundsUs: Float64Array;
  private readonly leCounts: Float64Array; // per bound + one for +Inf, not cumulative
  /** For each log-linear bucket, the first bound ≥ its lower edge (a straddling bucket compares the value). */
  private readonly leOfBucket: Uint8Array;
  private totalCount = 0;
  private totalSumUs = 0;
  private totalMaxUs = 0;

  constructor(options: LatencyRecorderOptions = {}) {
    const windowMs = options.windowMs ?? 30_000;
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new Error(`windowMs must be a positive number, got ${windowMs}`);
    this.windowMs = windowMs;
    this.now = options.now ?? (() => performance.now());
    this.windowEnd = this.now() + windowMs;

    const bounds = options.boundsUs ?? DEFAULT_LATENCY_BOUNDS_US;
    if (bounds.length === 0 || bounds.length > 200) throw new Error('boundsUs must hold 1 to 200 bounds');
    for (let i = 0; i < bounds.length; i++) {
      const b = bounds[i]!;
      if (!Number.isInteger(b) || b <= 0) throw new Error(`boundsUs must be positive integers, got ${b}`);
      if (i > 0 && b < bounds[i - 1]! * 2) throw new Error('boundsUs must ascend, each at least twice the previous');
    }
    this.boundsUs = Float64Array.from(bounds);
    this.leCounts = new Float64Array(bounds.length + 1);
    this.leOfBucket = new Uint8Array(BUCKET_COUNT);
    let li = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      const lower = bucketLower(i);
      while (li < bounds.length && bounds[li]! < lower) li++;
      this.leOfBucket[i] = li;
    }
  }

  /**
   * Records one request that took `us` microseconds. Ignores NaN and negative values.
   * `nowMs`: the current time on the recorder's clock, if the caller has it anyway.
   */
  record(us: number, nowMs?: number): void {
    if (!(us >= 0)) return; // also rejects NaN
    const v = us >= LATENCY_MAX_TRACKABLE_US ? LATENCY_MAX_TRACKABLE_US : Math.round(us);
    const index = bucketIndex(v);

    const t = nowMs ?? this.now();
    if (t >= this.windowEnd) this.rotate(t);
    const w = this.current;
    w.counts[index]! += 1;
    w.count += 1;
    if (us > w.max) w.max = us;

    let li = this.leOfBucket[index]!;
    if (li < this.boundsUs.length && us > this.boundsUs[li]!) li++; // the one bound this bucket may straddle
    this.leCounts[li]! += 1;
    this.totalCount += 1;
    this.totalSumUs += us;
    if (us > this.totalMaxUs) this.totalMaxUs = us;
  }

  /** Called once `now` passed windowEnd. Windows stay on a fixed grid, so "previous" is never older than one window. */
  private rotate(now: number): void {
    if (now >= this.windowEnd + this.windowMs) {
      // The current window ended more than a whole window ago: nothing recent is left.
      this.previous.clear();
      this.current.clear();
      this.windowEnd = now + this.windowMs;
    } else {
      const old = this.previous;
      this.previous = this.current;
      old.clear();
      this.current = old;
      this.windowEnd += this.windowMs;
    }
  }

  /** Quantiles of the last 1–2 windows; zeros when nothing was recorded in that time. */
  summary(): LatencySummary {
    const now = this.now();
    if (now >= this.windowEnd) this.rotate(now);
    const a = this.current;
    const b = this.previous;
    return quantiles((i) => a.counts[i]! + b.counts[i]!, a.count + b.count, Math.max(a.max, b.max));
  }

  /**
   * The last 1–2 windows' buckets, sparse, for summing with other recorders' (another thread's):
   * quantiles of merged buckets are the quantiles of all the requests, which averaging each
   * recorder's quantiles would not give.
   */
  recent(): RecentLatency {
    const now = this.now();
    if (now >= this.windowEnd) this.rotate(now);
    const a = this.current;
    const b = this.previous;
    const buckets: number[] = [];
    for (let i = 0; i < BUCKET_COUNT; i++) {
      const c = a.counts[i]! + b.counts[i]!;
      if (c !== 0) buckets.push(i, c);
    }
    return { buckets, count: a.count + b.count, maxUs: Math.max(a.max, b.max) };
  }

  /** Cumulative counts since start, in the shape of a Prometheus histogram. */
  cumulative(): CumulativeLatency {
    const boundsSeconds: number[] = [];
    const cumulativeCounts: number[] = [];
    let running = 0;
    for (let i = 0; i < this.boundsUs.length; i++) {
      running += this.leCounts[i]!;
      boundsSeconds.push(this.boundsUs[i]! / 1e6);
      cumulativeCounts.push(running);
    }
    return {
      boundsSeconds,
      cumulativeCounts,
      count: this.totalCount,
      sumSeconds: this.totalSumUs / 1e6,
      maxUs: this.totalMaxUs,
    };
  }
}
