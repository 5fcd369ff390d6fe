/**
 * The process's numbers from its worker threads' readings (src/workers/aggregate.ts), and the
 * latency merge under it: quantiles of summed histogram buckets are those of all the requests in
 * one recorder, which averaging each thread's quantiles is not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyRecorder, mergeCumulative, summarizeRecent } from '../../src/metrics/latency.js';
import { RequestCounters } from '../../src/metrics/counters.js';
import { buildStatsDocument } from '../../src/metrics/stats-json.js';
import { renderPrometheus } from '../../src/metrics/prometheus.js';
import { aggregateReading, aggregateReadiness, aggregateReport, type MainParts } from '../../src/workers/aggregate.js';
import type { WorkerReading } from '../../src/workers/protocol.js';
import { disabledExporterStatus } from '../../src/metrics/counters.js';
import { mulberry32 } from '../helpers/prng.js';
import type { EngineStats } from '../../src/dedup/stats.js';

const clock = { t: 0 };
const recorder = () => new LatencyRecorder({ now: () => clock.t });

describe('latency across recorders', () => {
  it('summing buckets gives the quantiles of one recorder that saw every request; averaging quantiles would not', () => {
    const random = mulberry32(7);
    const all = recorder();
    // One thread fast, one slow: the merged p50 sits between, the p99 in the slow one's tail.
    const fast = recorder();
    const slow = recorder();
    for (let i = 0; i < 9000; i++) {
      const us = 50 + random() * 100;
      fast.record(us);
      all.record(us);
    }
    for (let i = 0; i < 1000; i++) {
      const us = 5000 + random() * 20_000;
      slow.record(us);
      all.record(us);
    }
    const merged = summarizeRecent([fast.recent(), slow.recent()]);
    assert.deepEqual(merged, all.summary());
    const averagedP99 = (fast.summary().p99Us + slow.summary().p99Us) / 2;
    assert.notEqual(Math.round(averagedP99), merged.p99Us);
    const { sumSeconds, ...cumulative } = mergeCumulative([fast.cumulative(), slow.cumulative()]);
    const { sumSeconds: allSum, ...allCumulative } = all.cumulative();
    assert.deepEqual(cumulative, allCumulative);
    assert.ok(Math.abs(sumSeconds - allSum) < 1e-9, 'the sums agree (up to float addition order)');
  });

  it('nothing recorded: zeros; a recorder without requests changes nothing', () => {
    assert.deepEqual(summarizeRecent([]), { count: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 });
    const one = recorder();
    one.record(300);
    assert.deepEqual(summarizeRecent([one.recent(), recorder().recent()]), one.summary());
    assert.equal(mergeCumulative([]).count, 0);
  });
});

function engine(processed: number, deduplicated: number, cache: number): EngineStats {
  const generation = { fillRatio: cache / 1000, estimatedFalsePositiveRate: 0, estimatedCardinality: cache, ageSeconds: 3, insertions: cache, tableLength: cache, exact: true };
  return {
    eventsProcessed: processed,
    eventsDeduplicated: deduplicated,
    eventsUnconfirmed: 0,
    compactions: 1,
    filter: { kind: 'native', capacity: 1000, errorRate: 0.001, bitCount: 14400, hashCount: 10, activeInsertions: cache, tableSlots: 2048, falsePositivesCaught: 0, tableOverflows: 0, active: generation, previous: { ...generation, insertions: 0 } },
    stateCache: { size: cache, capacity: 100, evictions: 0, bytes: cache * 10, maxBytes: 1000 },
  };
}

function reading(worker: number, received: number, processed: number, deduplicated: number, badSignatures: number, inFlight: number, reachable = true): WorkerReading {
  const counters = new RequestCounters();
  const latency = recorder();
  for (let i = 0; i < received; i++) {
    counters.countReceived();
    latency.record(100 * worker);
  }
  for (let i = 0; i < badSignatures; i++) counters.countRejected('bad_signature');
  return {
    worker,
    counters: counters.reading(),
    engine: engine(processed, deduplicated, worker),
    store: { kind: 'redis', failurePolicy: 'reject', redisReachable: reachable, decidedLocally: 0, redisFailures: reachable ? 0 : 2, claimWaits: worker },
    latency: latency.recent(),
    latencyHistogram: latency.cumulative(),
    intake: { madeDurable: processed, rejectedForDurability: worker, waiting: 0 },
    stream: { stream: 's', partitions: 0, appended: processed, failures: 0, inFlight: 0, lastError: null },
    inFlight,
  };
}

const main: MainParts = {
  config: { deliver: 'processed' },
  delivery: null,
  exporter: { status: disabledExporterStatus },
  registration: { status: () => ({ state: 'disabled', reason: 'test' }) as never },
  startedAt: Date.now() - 5000,
};

describe('the process from its workers', () => {
  it('sums counters, decisions, the store and the stream; keeps the per-worker breakdown', () => {
    const a = reading(1, 10, 6, 3, 1, 2);
    const b = reading(2, 5, 1, 4, 0, 0, false);
    const r = aggregateReading([a, b], main);
    assert.equal(r.counters.received, 15);
    assert.equal(r.counters.rejected, 1);
    assert.equal(r.counters.rejectedByReason.bad_signature, 1);
    assert.equal(r.engine.eventsProcessed, 7);
    assert.equal(r.engine.eventsDeduplicated, 7);
    assert.equal(r.engine.compactions, 2);
    assert.equal(r.engine.stateCache.size, 3);
    assert.equal(r.engine.stateCache.capacity, 200, 'each thread holds its own cache');
    assert.equal(r.engine.filter.capacity, 1000, 'parameters as configured');
    assert.equal(r.engine.filter.active.fillRatio, 0.002, 'ratios: the highest of any worker');
    assert.equal(r.latency.count, 15);
    assert.deepEqual(r.store, { kind: 'redis', failurePolicy: 'reject', redisReachable: false, decidedLocally: 0, redisFailures: 2, claimWaits: 3 });
    assert.equal(r.delivery?.sinks['redis-stream']?.delivered, 7);
    assert.equal(r.delivery?.rejectedForDurability, 3);
    assert.equal(r.delivery?.outbox, undefined, 'no outbox in this process');

    const report = aggregateReport([{ reading: a, fresh: true }, { reading: b, fresh: false }], main);
    const doc = buildStatsDocument(report);
    assert.equal(doc.inFlight, 2);
    assert.deepEqual(doc.workers, [
      { worker: 1, received: 10, processed: 6, deduplicated: 3, rejected: 1, inFlight: 2, responding: true },
      { worker: 2, received: 5, processed: 1, deduplicated: 4, rejected: 0, inFlight: 0, responding: false },
    ]);
    const text = renderPrometheus(report);
    assert.match(text, /^cxone_dedup_requests_received_total 15$/m);
    assert.match(text, /^cxone_dedup_request_duration_seconds_count 15$/m);
    assert.match(text, /^cxone_dedup_worker_threads 2$/m);
    assert.deepEqual(aggregateReadiness([a, b], main), { ready: true, registration: { state: 'disabled', reason: 'test' }, redis: 'unreachable', workers: 2 });
    assert.throws(() => aggregateReading([], main), /no worker has reported yet/);
  });
});
