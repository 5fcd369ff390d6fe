import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LATENCY_BOUNDS_US, LATENCY_MAX_TRACKABLE_US, LatencyRecorder } from '../../src/metrics/latency.js';
import { mulberry32 } from '../helpers/prng.js';

const rng = mulberry32;

/** Nearest-rank quantile of sorted values. */
function exactQuantile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
}

function assertClose(actual: number, exact: number, label: string): void {
  // The reported bucket midpoint is within 1/128 of the value, plus rounding to whole µs.
  const tolerance = exact / 128 + 1;
  assert.ok(Math.abs(actual - exact) <= tolerance, `${label}: got ${actual}, exact ${exact}, tolerance ${tolerance.toFixed(2)}`);
}

function checkAgainstExact(values: number[], label: string): void {
  const rec = new LatencyRecorder({ now: () => 0 });
  for (const v of values) rec.record(v);
  const sorted = values.map((v) => Math.round(v)).sort((a, b) => a - b);
  const s = rec.summary();
  assert.equal(s.count, values.length);
  assertClose(s.p50Us, exactQuantile(sorted, 0.5), `${label} p50`);
  assertClose(s.p90Us, exactQuantile(sorted, 0.9), `${label} p90`);
  assertClose(s.p99Us, exactQuantile(sorted, 0.99), `${label} p99`);
  assertClose(s.p999Us, exactQuantile(sorted, 0.999), `${label} p99.9`);
  assert.equal(s.maxUs, sorted[sorted.length - 1]);
}

describe('LatencyRecorder quantiles', () => {
  it('matches exact sorted quantiles within 1/128 over 1 µs … 60 s (log-uniform)', () => {
    const r = rng(1);
    const values = Array.from({ length: 100_000 }, () => Math.exp(r() * Math.log(60e6)));
    checkAgainstExact(values, 'log-uniform');
  });

  it('matches exact quantiles for a realistic skewed distribution with a long tail', () => {
    const r = rng(2);
    const values = Array.from({ length: 100_000 }, () => {
      const u = r();
      if (u < 0.95) return 40 + r() * 200; // fast path, fractional µs
      if (u < 0.999) return 1_000 + r() * 20_000; // GC pauses and the like
      return 100_000 + r() * 2_000_000; // rare stalls
    });
    checkAgainstExact(values, 'skewed');
  });

  it('is exact below 128 µs', () => {
    const rec = new LatencyRecorder({ now: () => 0 });
    for (let v = 1; v <= 100; v++) rec.record(v);
    const s = rec.summary();
    assert.deepEqual(s, { count: 100, p50Us: 50, p90Us: 90, p99Us: 99, p999Us: 100, maxUs: 100 });
  });

  it('reports zeros when nothing was recorded', () => {
    assert.deepEqual(new LatencyRecorder().summary(), { count: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 });
  });

  it('ignores NaN and negative values and clamps huge ones into the last bucket while keeping the exact max', () => {
    const rec = new LatencyRecorder({ now: () => 0 });
    rec.record(Number.NaN);
    rec.record(-5);
    assert.equal(rec.summary().count, 0);
    rec.record(120e6); // 2 minutes
    const s = rec.summary();
    assert.equal(s.count, 1);
    assert.equal(s.maxUs, 120e6);
    assert.ok(s.p50Us >= LATENCY_MAX_TRACKABLE_US * (1 - 1 / 64), `p50 ${s.p50Us} should sit in the last bucket`);
    assert.ok(s.p50Us <= s.maxUs);
  });
});

describe('LatencyRecorder sliding window', () => {
  it('covers the current and the previous window, then forgets', () => {
    let now = 0;
    const rec = new LatencyRecorder({ windowMs: 30_000, now: () => now });
    for (let i = 0; i < 100; i++) rec.record(1_000);
    now = 31_000;
    for (let i = 0; i < 100; i++) rec.record(5_000);
    let s = rec.summary();
    assert.equal(s.count, 200);
    assertClose(s.p50Us, 1_000, 'p50 over both windows');
    assertClose(s.p99Us, 5_000, 'p99 over both windows');

    now = 61_000; // the 1 ms requests are now two windows old
    s = rec.summary();
    assert.equal(s.count, 100);
    assertClose(s.p50Us, 5_000, 'p50 of the last window');

    now = 200_000; // idle for more than two windows
    assert.equal(rec.summary().count, 0);
  });

  it('rotates on record() too: requests after a quiet spell land in a fresh window', () => {
    let now = 0;
    const rec = new LatencyRecorder({ windowMs: 1_000, now: () => now });
    for (let i = 0; i < 10; i++) rec.record(10);
    now = 1_500; // window [0, 1000) is over; these belong to [1000, 2000)
    for (let i = 0; i < 10; i++) rec.record(20_000);
    now = 2_100; // [0, 1000) is now two windows back
    const s = rec.summary();
    assert.equal(s.count, 10);
    assertClose(s.p50Us, 20_000, 'p50 of the recent window');
  });

  it('uses the caller-supplied time instead of reading the clock', () => {
    let reads = 0;
    const rec = new LatencyRecorder({ windowMs: 1_000, now: () => (reads++, 0) });
    const readsAfterConstruction = reads;
    rec.record(10, 0);
    rec.record(10, 5_000); // far in the future: the first record is forgotten
    assert.equal(reads, readsAfterConstruction, 'record(us, nowMs) must not read the clock');
    rec.record(30, 5_001);
    assert.equal(rec.summary().count, 2, 'the record at t=0 is more than two windows old');
    assert.equal(rec.cumulative().count, 3);
  });

  it('keeps cumulative histogram counts across rotations', () => {
    let now = 0;
    const rec = new LatencyRecorder({ windowMs: 1_000, now: () => now });
    rec.record(10);
    now = 10_000;
    rec.record(10);
    assert.equal(rec.summary().count, 1);
    assert.equal(rec.cumulative().count, 2);
  });
});

describe('LatencyRecorder cumulative buckets', () => {
  it('puts each value in the right le bucket, exactly at the bounds', () => {
    const rec = new LatencyRecorder({ now: () => 0 });
    const values = [1, 50, 50.4, 100, 100.2, 249.6, 251, 999, 1_000, 1_001, 9_999_999, 10_000_000, 10_000_001, 90e6];
    for (const v of values) rec.record(v);
    const c = rec.cumulative();
    assert.deepEqual(c.boundsSeconds, DEFAULT_LATENCY_BOUNDS_US.map((b) => b / 1e6));
    assert.equal(c.count, values.length);
    for (let i = 0; i < c.boundsSeconds.length; i++) {
      const boundUs = DEFAULT_LATENCY_BOUNDS_US[i]!;
      const expected = values.filter((v) => v <= boundUs).length;
      assert.equal(c.cumulativeCounts[i], expected, `le=${boundUs} µs`);
    }
    const sum = values.reduce((a, b) => a + b, 0) / 1e6;
    assert.ok(Math.abs(c.sumSeconds - sum) < 1e-9, `sum ${c.sumSeconds} vs ${sum}`);
    assert.equal(c.maxUs, 90e6);
  });

  it('agrees with a brute-force count on random data', () => {
    const r = rng(3);
    const rec = new LatencyRecorder({ now: () => 0 });
    const values = Array.from({ length: 20_000 }, () => Math.exp(r() * Math.log(20e6)));
    for (const v of values) rec.record(v);
    const c = rec.cumulative();
    DEFAULT_LATENCY_BOUNDS_US.forEach((b, i) => {
      assert.equal(c.cumulativeCounts[i], values.filter((v) => v <= b).length, `le=${b}`);
    });
  });

  it('rejects bad options with a clear error', () => {
    assert.throws(() => new LatencyRecorder({ windowMs: 0 }), /windowMs/);
    assert.throws(() => new LatencyRecorder({ boundsUs: [] }), /boundsUs/);
    assert.throws(() => new LatencyRecorder({ boundsUs: [100, 150] }), /twice/);
    assert.throws(() => new LatencyRecorder({ boundsUs: [0.5] }), /positive integers/);
  });
});
