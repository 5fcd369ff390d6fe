/** Pieces of the Redis store that need no server: the deadline guard, the key layout, and how its numbers are rendered. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlineGuard } from '../../src/store/redis/deadline.js';
import { escapeTag, fnv1a32, KeyLayout } from '../../src/store/redis/keys.js';

describe('DeadlineGuard', () => {
  it('passes results and errors through, and rejects what does not settle in time', async () => {
    const guard = new DeadlineGuard(50);
    assert.equal(await guard.run(Promise.resolve(7), () => new Error('late')), 7);
    await assert.rejects(guard.run(Promise.reject(new Error('boom')), () => new Error('late')), /boom/);
    const t0 = performance.now();
    const never = new Promise<never>(() => {});
    const results = await Promise.allSettled([guard.run(never, () => new Error('late 1')), guard.run(never, () => new Error('late 2'))]);
    const ms = performance.now() - t0;
    assert.deepEqual(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')), ['late 1', 'late 2']);
    assert.ok(ms >= 49 && ms < 500, `expired after ${ms.toFixed(0)} ms`);
    assert.equal(guard.pending, 0);
  });

  it('holds no timer once nothing is pending (a worker thread may end right after its last command)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const guard = new DeadlineGuard(60_000);
    let settle!: (v: number) => void;
    const open = guard.run(new Promise<number>((r) => (settle = r)), () => new Error('late'));
    assert.equal(timers(), before + 1, 'armed while an operation is in flight');
    assert.equal(await guard.run(Promise.resolve(1), () => new Error('late')), 1);
    assert.equal(timers(), before + 1, 'still armed: one is in flight');
    settle(2);
    assert.equal(await open, 2);
    assert.equal(timers(), before, 'no timer left behind');
    assert.equal(guard.pending, 0);
  });

  it('keeps no settled entry once its deadline passed', async () => {
    const guard = new DeadlineGuard(20);
    await Promise.all(Array.from({ length: 5000 }, (_, i) => guard.run(Promise.resolve(i), () => new Error('late'))));
    const late = guard.run(new Promise<never>(() => {}), () => new Error('late'));
    await assert.rejects(late, /late/);
    assert.equal(guard.pending, 0);
    assert.throws(() => new DeadlineGuard(0), RangeError);
  });
});

describe('KeyLayout', () => {
  it('tags by interaction, escaping braces and percent signs', () => {
    const l = new KeyLayout({ prefix: 'cx:', keyFields: ['interactionId'] });
    assert.equal(l.dedupKey('i-1', 'i-1'), 'cx:{i-1}:k');
    assert.equal(l.stateKey('i-1'), 'cx:{i-1}:s');
    assert.equal(escapeTag('a{b}%c'), 'a%7Bb%7D%25c');
    assert.equal(l.stateKey('}'), 'cx:{%7D}:s');
    const multi = new KeyLayout({ prefix: 'cx:', keyFields: ['interactionId', 'updatedTimestamp'] });
    assert.equal(multi.dedupKey('i-1', '3:i-112:1705314600.0'), 'cx:{i-1}:k:3:i-112:1705314600.0');
    const spanning = new KeyLayout({ prefix: 'cx:', keyFields: ['dataActionId'] });
    assert.equal(spanning.dedupKey('i-1', 'da-{9}'), 'cx:{da-%7B9%7D}:k');
    assert.deepEqual(new KeyLayout({ prefix: 'cx:', keyFields: ['interactionId'], stream: 'ev' }).streamKeys(), ['ev']);
  });

  it('partitions deterministically and puts the stream in the partition', () => {
    const l = new KeyLayout({ prefix: 'cx:', keyFields: ['interactionId'], stream: 'ev', partitions: 16 });
    const n = fnv1a32('i-1') % 16;
    assert.equal(l.partitionOf('i-1'), n);
    assert.equal(l.dedupKey('i-1', 'i-1'), `cx:{p${n}}:k:i-1`);
    assert.equal(l.stateKey('i-1'), `cx:{p${n}}:s:i-1`);
    assert.equal(l.streamKey('i-1'), `ev:{p${n}}`);
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[l.partitionOf(`interaction-${i}`)]!++;
    assert.ok(Math.min(...counts) > 800 && Math.max(...counts) < 1200, `spread: ${counts.join(',')}`);
  });

  it('refuses braces in the prefix or stream, and a partitioned layout without interactionId', () => {
    assert.throws(() => new KeyLayout({ prefix: 'a{', keyFields: ['interactionId'] }), /prefix/);
    assert.throws(() => new KeyLayout({ prefix: 'a', keyFields: ['interactionId'], stream: 's{1}' }), /stream/);
    assert.throws(() => new KeyLayout({ prefix: 'a', keyFields: ['dataActionId'], stream: 's', partitions: 4 }), /interactionId/);
  });
});

describe('the store and the stream in /stats, /metrics and InfluxDB points', () => {
  it('renders the Redis store\'s numbers and the stream sink\'s in every output, and nothing of them for the memory store', async () => {
    const { intervalPoint } = await import('../../src/metrics/influx-points.js');
    const { renderPrometheus } = await import('../../src/metrics/prometheus.js');
    const { buildStatsDocument } = await import('../../src/metrics/stats-json.js');
    const { RequestCounters, disabledExporterStatus } = await import('../../src/metrics/counters.js');
    const { LatencyRecorder } = await import('../../src/metrics/latency.js');
    const { engineStatsFixture } = await import('../helpers/engine-stats.js');
    const latency = new LatencyRecorder();
    const reading = {
      engine: engineStatsFixture(),
      counters: new RequestCounters().reading(),
      latency: latency.summary(),
      store: { kind: 'redis' as const, failurePolicy: 'local' as const, redisReachable: false, decidedLocally: 7, redisFailures: 9, claimWaits: 3 },
      delivery: {
        deliver: 'processed' as const,
        rejectedForDurability: 2,
        sinks: { 'redis-stream': { queuedRecords: 0, queuedBytes: 0, oldestUndeliveredAgeMs: 0, delivered: 41, retried: 0, deadLettered: 0, inFlight: 1, lastError: 'redis xadd: boom', failures: 2 } },
      },
    };
    const line = intervalPoint(reading, { environment: 'e', host: 'h' }, new Date(0), { pointsDropped: 0 }).toLineProtocol()!;
    for (const field of ['events_decided_locally=7i', 'redis_failures=9i', 'redis_claim_waits=3i', 'delivery_redis_stream_delivered=41i', 'delivery_redis_stream_failures=2i', 'delivery_rejected_for_durability=2i']) {
      assert.match(line, new RegExp(`[ ,]${field}[ ,]`), field);
    }
    assert.ok(!line.includes('outbox_'), 'no outbox, no outbox fields');
    const report = { ...reading, latencyHistogram: latency.cumulative(), exporter: disabledExporterStatus(), uptimeSeconds: 1 };
    const text = renderPrometheus(report);
    for (const sample of [
      'cxone_dedup_events_decided_locally_total 7',
      'cxone_dedup_dedup_store_info{kind="redis"} 1',
      'cxone_dedup_redis_reachable 0',
      'cxone_dedup_redis_failures_total 9',
      'cxone_dedup_redis_claim_waits_total 3',
      'cxone_dedup_delivery_delivered_total{sink="redis-stream"} 41',
      'cxone_dedup_delivery_redis_stream_failures_total 2',
    ]) {
      assert.ok(text.split('\n').includes(sample), sample);
    }
    const doc = buildStatsDocument(report) as any;
    assert.equal(doc.eventsDecidedLocally, 7);
    assert.deepEqual(doc.store, { kind: 'redis', failurePolicy: 'local', redisReachable: false, redisFailures: 9, claimWaits: 3 });
    assert.equal(doc.delivery.outbox, undefined);
    assert.equal(doc.delivery.sinks['redis-stream'].failures, 2);

    const memory = { ...report, store: { kind: 'memory' as const }, delivery: undefined };
    const memoryDoc = buildStatsDocument(memory) as any;
    assert.deepEqual(memoryDoc.store, { kind: 'memory' });
    assert.equal(memoryDoc.eventsDecidedLocally, undefined);
    assert.ok(!renderPrometheus(memory).includes('redis_'), 'no Redis families for the memory store');
  });
});
