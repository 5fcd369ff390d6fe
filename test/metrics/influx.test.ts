/**
 * The InfluxDB exporter against a real line-protocol server (VictoriaMetrics on loopback), plus a
 * stand-in in front of it for the error codes VictoriaMetrics won't produce. Delivery is always
 * asserted by reading VictoriaMetrics back through /api/v1/export.
 */
import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, type Logger } from '../../src/log.js';
import { DisabledExporter, InfluxExporter, createMetricsExporter, type InfluxExporterOptions } from '../../src/metrics/influx.js';
import { intervalPoint, compactionPoint, MEASUREMENT } from '../../src/metrics/influx-points.js';
import type { MetricsReading } from '../../src/metrics/reading.js';
import type { CompactionRecord } from '../../src/dedup/stats.js';
import { REJECT_REASONS } from '../../src/http/reject-reason.js';
import { engineStatsFixture } from '../helpers/engine-stats.js';
import { startVictoria, type ExportedSeries, type Victoria } from '../helpers/victoria.js';
import { startStandIn } from './influx-stand-in.js';

const TOKEN = 'sekret-token-4f9a2c';
const HOST = 'test-host';

// ── helpers ──────────────────────────────────────────────────────────────────────────────────────

type LogEntry = { level: string; msg: string } & Record<string, unknown>;

function captureLogger(): { logger: Logger; entries: LogEntry[]; raw: string[] } {
  const entries: LogEntry[] = [];
  const raw: string[] = [];
  const logger = createLogger({
    level: 'debug',
    write: (line) => {
      raw.push(line);
      entries.push(JSON.parse(line) as LogEntry);
    },
  });
  return { logger, entries, raw };
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether `p` settles within `ms` (the timer is cleared either way, so nothing lingers). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A mutable source of readings; counts how often the exporter sampled it. */
class FakeStats {
  calls = 0;
  received = 5000;
  processed = 4200;
  compactions = 4;

  reading = (): MetricsReading => {
    this.calls++;
    const rejectedByReason = Object.fromEntries(REJECT_REASONS.map((r, i) => [r, (i + 1) * 3])) as MetricsReading['counters']['rejectedByReason'];
    return {
      engine: engineStatsFixture({
        eventsProcessed: this.processed,
        eventsDeduplicated: 700,
        eventsUnconfirmed: 9,
        compactions: this.compactions,
        active: { estimatedFalsePositiveRate: 2.5e-6 },
      }),
      counters: { received: this.received, rejected: Object.values(rejectedByReason).reduce((a, b) => a + b, 0), rejectedByReason },
      latency: { count: 1000, p50Us: 85, p90Us: 140, p99Us: 900, p999Us: 4000, maxUs: 12_000 },
    };
  };
}

function compaction(at: Date, n: number, reason: CompactionRecord['reason'] = 'capacity'): CompactionRecord {
  return {
    timestamp: at,
    reason,
    compactionCount: n,
    eventsProcessed: 4100 + n,
    eventsDeduplicated: 690,
    eventsUnconfirmed: 8,
    stateCacheSize: 4000,
    stateEvictions: 16,
    retiredInsertions: 999_000,
    retiredFillRatio: 0.4997,
    retiredEstimatedFalsePositiveRate: 0.000987,
    durationUs: 1234,
  };
}

interface ReadPoint {
  tags: Record<string, string>;
  fields: Record<string, number>;
}

/** Regroups VictoriaMetrics series (one per field) into points keyed by kind and timestamp. */
function points(series: ExportedSeries[], kind: string): Map<number, ReadPoint> {
  const out = new Map<number, ReadPoint>();
  for (const s of series) {
    const { __name__: name, ...tags } = s.metric;
    if (tags.kind !== kind) continue;
    assert.ok(name!.startsWith(`${MEASUREMENT}_`), name);
    const field = name!.slice(MEASUREMENT.length + 1);
    s.timestamps.forEach((ts, i) => {
      const p = out.get(ts) ?? { tags, fields: {} };
      assert.deepEqual(p.tags, tags, `tags differ between fields of the point at ${ts}`);
      assert.ok(!(field in p.fields), `field ${field} twice at ${ts}`);
      p.fields[field] = s.values[i]!;
      out.set(ts, p);
    });
  }
  return out;
}

function expectedIntervalFields(stats: FakeStats, pointsDropped = 0): Record<string, number> {
  const fields: Record<string, number> = {
    events_received: stats.received,
    events_processed: stats.processed,
    events_deduplicated: 700,
    events_unconfirmed: 9,
    events_rejected: REJECT_REASONS.reduce((sum, _r, i) => sum + (i + 1) * 3, 0),
    compaction_count: stats.compactions,
    state_cache_size: 4100,
    state_cache_capacity: 100_000,
    state_cache_bytes: 2_500_000,
    state_evictions: 17,
    filter_fill_ratio: 0.0125,
    filter_estimated_fpr: 2.5e-6,
    filter_age_seconds: 12.5,
    filter_active_insertions: 4321,
    filter_previous_fill_ratio: 0.5,
    filter_previous_estimated_fpr: 0.0009765625,
    filter_false_positives_caught: 2,
    fingerprint_table_keys: 4321,
    fingerprint_table_overflows: 0,
    latency_count: 1000,
    latency_p50_us: 85,
    latency_p90_us: 140,
    latency_p99_us: 900,
    latency_p999_us: 4000,
    latency_max_us: 12_000,
    exporter_points_dropped: pointsDropped,
  };
  REJECT_REASONS.forEach((r, i) => (fields[`events_rejected_${r}`] = (i + 1) * 3));
  return fields;
}

function expectedCompactionFields(n: number): Record<string, number> {
  return {
    compaction_count: n,
    events_processed: 4100 + n,
    events_deduplicated: 690,
    events_unconfirmed: 8,
    state_cache_size: 4000,
    state_evictions: 16,
    retired_insertions: 999_000,
    retired_fill_ratio: 0.4997,
    retired_estimated_fpr: 0.000987,
    duration_us: 1234,
  };
}

let vm: Victoria;
let envCounter = 0;
/** A unique `environment` tag per test, so tests sharing the server never see each other's points. */
const newEnvironment = (name: string) => `${name}-${process.pid}-${++envCounter}`;
const selector = (environment: string) => `{__name__=~"${MEASUREMENT}_.+",environment="${environment}"}`;

function options(environment: string, stats: FakeStats, logger: Logger, extra: Partial<InfluxExporterOptions> = {}): InfluxExporterOptions {
  return {
    url: vm.url,
    token: TOKEN,
    org: 'test-org',
    bucket: 'test-bucket',
    environment,
    host: HOST,
    logger,
    getStats: stats.reading,
    flushIntervalMs: 20,
    retry: { minDelayMs: 50, maxDelayMs: 400, jitterMs: 20 },
    ...extra,
  };
}

/** The server must be up at the start of each test, whatever the previous one did. */
async function ensureServerUp(): Promise<void> {
  if (!vm.isRunning()) await vm.restart();
}

before(async () => {
  vm = await startVictoria();
}, { timeout: 600_000 });

after(async () => {
  await vm?.dispose();
});

// ── tests ────────────────────────────────────────────────────────────────────────────────────────

describe('InfluxDB points', () => {
  it('types counts as integers (i) and ratios as floats, and leaves out non-finite values', () => {
    const stats = new FakeStats();
    const s = stats.reading();
    s.engine.filter.previous.fillRatio = Number.NaN;
    const line = intervalPoint(s, { environment: 'prod', host: 'h' }, new Date(1_700_000_000_123), { pointsDropped: 2 }).toLineProtocol({
      convertTime: (d) => String((d as Date).getTime()),
    })!;
    assert.match(line, /^cxone_deduplication_stats,environment=prod,host=h,kind=interval /);
    assert.match(line, /[ ,]events_received=5000i[ ,]/);
    assert.match(line, /[ ,]events_rejected_bad_signature=6i[ ,]/);
    assert.match(line, /[ ,]latency_p99_us=900i[ ,]/);
    assert.match(line, /[ ,]filter_fill_ratio=0\.0125[ ,]/);
    assert.match(line, /[ ,]filter_estimated_fpr=0\.0000025[ ,]/);
    assert.match(line, /[ ,]exporter_points_dropped=2i[ ,]/);
    assert.ok(!line.includes('filter_previous_fill_ratio'), 'NaN must be left out');
    assert.match(line, / 1700000000123$/);

    const c = compactionPoint(compaction(new Date(1_700_000_000_456), 7, 'interval'), { environment: 'prod', host: 'h' }).toLineProtocol({
      convertTime: (d) => String((d as Date).getTime()),
    })!;
    assert.match(c, /^cxone_deduplication_stats,environment=prod,host=h,kind=compaction,reason=interval /);
    assert.match(c, /[ ,]retired_fill_ratio=0\.4997[ ,]/);
    assert.match(c, /[ ,]duration_us=1234i[ ,]/);
    assert.match(c, /[ ,]state_evictions=16i /);
    assert.match(c, / 1700000000456$/);
  });
});

describe('InfluxExporter against VictoriaMetrics', { timeout: 180_000 }, () => {
  it('delivers an interval point and a compaction point with every field and tag', { timeout: 60_000 }, async () => {
    await ensureServerUp();
    const environment = newEnvironment('fields');
    const stats = new FakeStats();
    const { logger } = captureLogger();
    const exporter = new InfluxExporter(options(environment, stats, logger));
    try {
      const at = new Date(Date.now() - 5_000);
      const compactedAt = new Date(Date.now() - 4_000);
      exporter.writeReading(at);
      exporter.onCompaction(compaction(compactedAt, 4));
      assert.equal(await exporter.flush({ timeoutMs: 10_000 }), true);

      let series: ExportedSeries[] = [];
      await waitFor('both points readable', async () => {
        series = await vm.export(selector(environment));
        return points(series, 'interval').size === 1 && points(series, 'compaction').size === 1;
      });
      const interval = points(series, 'interval').get(at.getTime());
      assert.ok(interval, 'interval point at its timestamp');
      assert.deepEqual(interval.tags, { environment, host: HOST, kind: 'interval' });
      assert.deepEqual(interval.fields, expectedIntervalFields(stats));

      const comp = points(series, 'compaction').get(compactedAt.getTime());
      assert.ok(comp, 'compaction point at the compaction time');
      assert.deepEqual(comp.tags, { environment, host: HOST, kind: 'compaction', reason: 'capacity' });
      assert.deepEqual(comp.fields, expectedCompactionFields(4));

      const st = exporter.status();
      assert.equal(st.pointsWritten, 2);
      assert.equal(st.pointsBuffered, 0);
      assert.equal(st.writeFailures, 0);
      assert.ok(!JSON.stringify(st).includes(TOKEN));
    } finally {
      await exporter.close({ timeoutMs: 2_000 });
    }
  });

  it('keeps producing without blocking while the server is down, and delivers everything after it returns', { timeout: 90_000 }, async () => {
    await ensureServerUp();
    const environment = newEnvironment('outage');
    const stats = new FakeStats();
    const { logger, entries, raw } = captureLogger();
    const consoleError = mock.method(console, 'error');
    const consoleWarn = mock.method(console, 'warn');
    const exporter = new InfluxExporter(options(environment, stats, logger, { intervalSeconds: 0.2, maxBufferLines: 1_000, timeouts: { requestMs: 2_000 } }));
    const base = Date.now() - 600_000; // manual points sit in the past, apart from the timer's
    const manual: { at: number; received: number }[] = [];
    const compactions: { at: number; n: number }[] = [];
    try {
      exporter.start();
      for (let i = 0; i < 3; i++) {
        stats.received = 1_000_000 + i;
        exporter.writeReading(new Date(base + i));
        manual.push({ at: base + i, received: stats.received });
      }
      assert.equal(await exporter.flush({ timeoutMs: 10_000 }), true, 'delivered while the server is up');

      await vm.stop();
      // Produce a burst in one synchronous run: every call returns at once, nothing awaits.
      let otherTaskRan = false;
      setImmediate(() => {
        otherTaskRan = true;
      });
      const bufferedBefore = exporter.status().pointsBuffered;
      for (let i = 3; i < 53; i++) {
        stats.received = 1_000_000 + i;
        const r = exporter.writeReading(new Date(base + i)) as unknown;
        assert.equal(r, undefined, 'writeReading returns nothing to await');
        manual.push({ at: base + i, received: stats.received });
      }
      for (let n = 1; n <= 10; n++) {
        const r = exporter.onCompaction(compaction(new Date(base + 100 + n), 100 + n)) as unknown;
        assert.equal(r, undefined, 'onCompaction returns nothing to await');
        compactions.push({ at: base + 100 + n, n: 100 + n });
      }
      assert.equal(otherTaskRan, false, 'the 60 calls completed within one tick of the event loop');
      assert.equal(exporter.status().pointsBuffered, bufferedBefore + 60, 'every point is buffered synchronously');

      const callsAtStop = stats.calls;
      await waitFor('failed writes and two more timer points during the outage', () => exporter.status().writeFailures >= 2 && stats.calls >= callsAtStop + 2);
      assert.ok(exporter.status().pointsBuffered >= 60);

      await vm.restart();
      await waitFor('the buffer to drain after the restart', () => exporter.status().pointsBuffered === 0 && exporter.status().consecutiveFailures === 0, 30_000);
      await exporter.close({ timeoutMs: 5_000 });

      const st = exporter.status();
      assert.equal(st.pointsDropped, 0);
      assert.equal(st.pointsRejected, 0);
      assert.equal(st.pointsWritten, stats.calls + compactions.length, 'every interval point (manual, timer, final) and compaction point');

      let series: ExportedSeries[] = [];
      await waitFor('every point readable', async () => {
        series = await vm.export(selector(environment));
        return points(series, 'interval').size === stats.calls && points(series, 'compaction').size === compactions.length;
      });
      const intervals = points(series, 'interval');
      for (const m of manual) {
        const p = intervals.get(m.at);
        assert.ok(p, `interval point at ${m.at}`);
        assert.equal(p.fields.events_received, m.received);
      }
      const comps = points(series, 'compaction');
      for (const c of compactions) assert.deepEqual(comps.get(c.at)?.fields, expectedCompactionFields(c.n));

      assert.ok(entries.some((e) => e.level === 'warn' && e.msg.includes('write failed')), 'the outage was logged');
      assert.ok(entries.some((e) => e.level === 'info' && e.msg.includes('recovered')), 'the recovery was logged');
      assert.ok(!raw.join('').includes(TOKEN), 'no token in logs');
      // The client's default logger writes console.error('ERROR: …') / console.warn('WARN: …').
      const clientConsoleLines = [...consoleError.mock.calls, ...consoleWarn.mock.calls].filter((c) => /^(ERROR|WARN): /.test(String(c.arguments[0])));
      assert.equal(clientConsoleLines.length, 0, 'the client logged nothing to the console');
    } finally {
      consoleError.mock.restore();
      consoleWarn.mock.restore();
      await exporter.close({ timeoutMs: 1_000 });
      await ensureServerUp();
    }
  });

  it('with a tiny buffer drops the oldest points, counts them exactly and logs at most once per interval', { timeout: 60_000 }, async () => {
    await ensureServerUp();
    const environment = newEnvironment('tiny');
    const stats = new FakeStats();
    const { logger, entries } = captureLogger();
    const exporter = new InfluxExporter(options(environment, stats, logger, { intervalSeconds: 0.25, maxBufferLines: 5 }));
    const dropLogs = () => entries.filter((e) => e.msg.includes('buffer full'));
    const base = Date.now() - 600_000;
    let manualCalls = 0;
    try {
      await vm.stop();
      exporter.start();
      for (let i = 0; i < 20; i++) exporter.writeReading(new Date(base + i));
      manualCalls += 20;
      assert.equal(exporter.status().pointsDropped, 15, 'all but the newest 5 dropped');
      assert.equal(exporter.status().pointsBuffered, 5);
      assert.equal(dropLogs().length, 0, 'drops are summarised on the interval, not per point');

      await waitFor('the first drop report', () => dropLogs().length >= 1);
      assert.ok(Number(dropLogs()[0]!.dropped) >= 15, 'one line covers the whole burst');

      for (let i = 20; i < 40; i++) exporter.writeReading(new Date(base + i));
      manualCalls += 20;
      const callsNow = stats.calls;
      await waitFor('three more intervals', () => stats.calls >= callsNow + 3);
      const st = exporter.status();
      const logs = dropLogs();
      const timerTicks = stats.calls - manualCalls;
      assert.ok(logs.length >= 2, 'the later drops were reported too');
      assert.ok(logs.length <= timerTicks, `${logs.length} drop logs in ${timerTicks} intervals`);
      const last = logs[logs.length - 1]!;
      assert.equal(
        logs.reduce((sum, e) => sum + Number(e.dropped), 0),
        Number(last.droppedTotal),
        'the logged counts add up to the total',
      );
      assert.ok(Number(last.droppedTotal) <= st.pointsDropped);

      await vm.restart();
      await waitFor('the buffer to drain', () => exporter.status().pointsBuffered === 0 && exporter.status().consecutiveFailures === 0, 30_000);
      await exporter.close({ timeoutMs: 5_000 });
      const final = exporter.status();
      assert.equal(final.pointsWritten + final.pointsDropped, stats.calls, 'every point was either delivered or counted as dropped');
      let delivered = 0;
      await waitFor('the delivered points readable', async () => {
        delivered = points(await vm.export(selector(environment)), 'interval').size;
        return delivered === final.pointsWritten;
      });
      assert.ok(final.pointsWritten >= 5, 'the newest points survived the outage');
    } finally {
      await exporter.close({ timeoutMs: 1_000 });
      await ensureServerUp();
    }
  });

  it('retries 401, 404, 503 and a timed-out request until the server takes the points', { timeout: 60_000 }, async () => {
    await ensureServerUp();
    const environment = newEnvironment('errors');
    const stats = new FakeStats();
    const { logger, entries, raw } = captureLogger();
    const standIn = await startStandIn(
      [
        { status: 401, body: JSON.stringify({ code: 'unauthorized', message: `unauthorized access with ${TOKEN}` }) },
        { status: 404, body: JSON.stringify({ code: 'not found', message: 'bucket "test-bucket" not found' }) },
        { status: 503, body: 'overloaded', headers: { 'retry-after': '0' } },
        'hang',
      ],
      vm.url,
    );
    const exporter = new InfluxExporter(
      options(environment, stats, logger, { url: standIn.url, timeouts: { requestMs: 300 } }),
    );
    const base = Date.now() - 600_000;
    try {
      for (let i = 0; i < 5; i++) {
        stats.received = 2_000_000 + i;
        exporter.writeReading(new Date(base + i));
      }
      exporter.onCompaction(compaction(new Date(base + 50), 9, 'manual'));
      exporter.onCompaction(compaction(new Date(base + 51), 10, 'interval'));

      await waitFor('delivery through the stand-in', () => exporter.status().pointsWritten === 7, 30_000);
      assert.deepEqual(
        standIn.requests.map((r) => r.answer),
        [401, 404, 503, 'hang', 'forward'],
        'each failure was retried with the same lines, then delivered',
      );
      for (const r of standIn.requests) {
        assert.equal(r.headers.authorization, `Token ${TOKEN}`);
        assert.equal(r.url, '/api/v2/write?org=test-org&bucket=test-bucket&precision=ms');
        assert.equal(r.body, standIn.requests[0]!.body, 'the same batch every time');
      }
      assert.match(standIn.requests[0]!.body, /events_received=2000000i/);

      const st = exporter.status();
      assert.equal(st.writeFailures, 4);
      assert.equal(st.pointsDropped, 0);
      assert.equal(st.pointsRejected, 0);
      assert.ok(st.lastError, 'the last error is kept');
      assert.ok(!JSON.stringify(st).includes(TOKEN), 'no token in the status');
      assert.ok(!raw.join('').includes(TOKEN), 'no token in the logs');
      assert.ok(entries.some((e) => e.statusCode === 401), 'the 401 was logged');

      let series: ExportedSeries[] = [];
      await waitFor('all points readable in VictoriaMetrics', async () => {
        series = await vm.export(selector(environment));
        return points(series, 'interval').size === 5 && points(series, 'compaction').size === 2;
      });
      const intervals = points(series, 'interval');
      for (let i = 0; i < 5; i++) {
        stats.received = 2_000_000 + i;
        assert.deepEqual(intervals.get(base + i)?.fields, expectedIntervalFields(stats));
      }
      const comps = points(series, 'compaction');
      assert.deepEqual(comps.get(base + 50)?.tags, { environment, host: HOST, kind: 'compaction', reason: 'manual' });
      assert.deepEqual(comps.get(base + 51)?.fields, expectedCompactionFields(10));
    } finally {
      await exporter.close({ timeoutMs: 1_000 });
      await standIn.close();
    }
  });

  it('does not retry a 400 (the server will never take those lines) and carries on with the next ones', { timeout: 30_000 }, async () => {
    await ensureServerUp();
    const environment = newEnvironment('rejected');
    const stats = new FakeStats();
    const { logger, entries } = captureLogger();
    const standIn = await startStandIn([{ status: 400, body: JSON.stringify({ code: 'invalid', message: 'partial write: field type conflict' }) }], vm.url);
    const exporter = new InfluxExporter(options(environment, stats, logger, { url: standIn.url }));
    const base = Date.now() - 600_000;
    try {
      exporter.writeReading(new Date(base));
      assert.equal(await exporter.flush({ timeoutMs: 5_000 }), true, 'the rejected line leaves the buffer');
      exporter.writeReading(new Date(base + 1));
      assert.equal(await exporter.flush({ timeoutMs: 5_000 }), true);
      const st = exporter.status();
      assert.equal(st.pointsRejected, 1);
      assert.equal(st.pointsWritten, 1);
      assert.equal(st.lastError?.statusCode, 400);
      assert.deepEqual(standIn.requests.map((r) => r.answer), [400, 'forward']);
      assert.ok(entries.some((e) => e.level === 'error' && e.msg.includes('rejected')));
      let read = new Map<number, ReadPoint>();
      await waitFor('the second point readable', async () => {
        read = points(await vm.export(selector(environment)), 'interval');
        return read.size >= 1;
      });
      assert.deepEqual([...read.keys()], [base + 1]);
    } finally {
      await exporter.close({ timeoutMs: 1_000 });
      await standIn.close();
    }
  });

  it('close() returns within its budget when the server refuses connections, counting what was lost', { timeout: 30_000 }, async () => {
    await ensureServerUp();
    const stats = new FakeStats();
    const { logger, entries } = captureLogger();
    const exporter = new InfluxExporter(options(newEnvironment('close-down'), stats, logger));
    try {
      await vm.stop();
      for (let i = 0; i < 3; i++) exporter.writeReading();
      const budget = 500;
      assert.ok(await settlesWithin(exporter.close({ timeoutMs: budget }), budget + 2_000), 'close() kept its budget');
      const st = exporter.status();
      assert.equal(st.pointsBuffered, 0);
      assert.equal(st.pointsDropped, 3);
      assert.equal(st.pointsWritten, 0);
      assert.ok(entries.some((e) => e.msg.includes('closed with undelivered points') && e.undelivered === 3));
      // Idempotent, and producing after close is a harmless no-op.
      await exporter.close({ timeoutMs: 10 });
      exporter.writeReading();
      exporter.onCompaction(compaction(new Date(), 1));
      assert.equal(exporter.status().pointsBuffered, 0);
    } finally {
      await exporter.close({ timeoutMs: 100 });
      await ensureServerUp();
    }
  });

  it('close() returns within its budget when the server hangs, and leaves no connection open', { timeout: 30_000 }, async () => {
    const stats = new FakeStats();
    const { logger } = captureLogger();
    const standIn = await startStandIn(Array.from({ length: 50 }, () => 'hang' as const), undefined);
    const exporter = new InfluxExporter(options(newEnvironment('close-hang'), stats, logger, { url: standIn.url, timeouts: { requestMs: 60_000 } }));
    try {
      exporter.writeReading();
      await waitFor('the request to reach the hung server', () => standIn.requests.length === 1);
      const budget = 300;
      assert.ok(await settlesWithin(exporter.close({ timeoutMs: budget }), budget + 2_000), 'close() kept its budget');
      assert.equal(exporter.status().pointsDropped, 1);
      await waitFor('the hung connection to be closed by the exporter', () => standIn.openConnections() === 0, 5_000);
    } finally {
      await exporter.close({ timeoutMs: 100 });
      await standIn.close();
    }
  });
});

describe('createMetricsExporter', () => {
  it('returns a disabled exporter and logs one line when no URL is configured', async () => {
    const { logger, entries } = captureLogger();
    const stats = new FakeStats();
    const exporter = createMetricsExporter({ url: '', bucket: 'b', getStats: stats.reading }, logger);
    assert.ok(exporter instanceof DisabledExporter);
    assert.equal(exporter.enabled, false);
    assert.equal(entries.length, 1);
    assert.match(entries[0]!.msg, /export is off/);
    exporter.start();
    exporter.writeReading();
    exporter.onCompaction(compaction(new Date(), 1));
    assert.equal(await exporter.flush(), true);
    await exporter.close({ timeoutMs: 10 });
    assert.equal(stats.calls, 0, 'a disabled exporter never samples');
    assert.deepEqual(exporter.status(), {
      enabled: false,
      target: null,
      pointsWritten: 0,
      pointsDropped: 0,
      pointsRejected: 0,
      pointsBuffered: 0,
      maxBufferLines: 0,
      writeFailures: 0,
      consecutiveFailures: 0,
      lastError: null,
      lastSuccessAt: null,
    });
  });

  it("routes the client library's own log lines to our logger instead of the console", async () => {
    const { logger, entries } = captureLogger();
    const consoleWarn = mock.method(console, 'warn');
    try {
      // The client warns about (and strips) an /api/v2 suffix on the base URL.
      const exporter = createMetricsExporter({ url: 'http://127.0.0.1:9/api/v2', bucket: 'b', getStats: new FakeStats().reading }, logger);
      await exporter.close({ timeoutMs: 10 });
      const clientLines = consoleWarn.mock.calls.filter((c) => /^(ERROR|WARN): /.test(String(c.arguments[0])));
      assert.equal(clientLines.length, 0, 'nothing on the console');
      assert.ok(entries.some((e) => e.level === 'warn' && e.msg.startsWith('influxdb client: ') && e.msg.includes('/api/v2')), JSON.stringify(entries));
    } finally {
      consoleWarn.mock.restore();
    }
  });

  it('returns a working exporter with a URL, and rejects bad settings with clear errors that never echo secrets', async () => {
    const { logger } = captureLogger();
    const stats = new FakeStats();
    const ok = createMetricsExporter({ url: 'http://127.0.0.1:9', bucket: 'b', getStats: stats.reading }, logger);
    assert.equal(ok.enabled, true);
    assert.equal(ok.status().target, 'http://127.0.0.1:9 org= bucket=b');
    await ok.close({ timeoutMs: 10 });

    const bad: [Record<string, unknown>, RegExp][] = [
      [{ url: 'http://user:hunter2@influx:8086' }, /credentials/],
      [{ url: 'ftp://influx' }, /http/],
      [{ url: 'not a url' }, /valid URL/],
      [{ url: 'http://influx:8086?token=hunter2' }, /query string/],
      [{ bucket: '' }, /bucket/],
      [{ intervalSeconds: 0 }, /intervalSeconds/],
      [{ batchSize: 1.5 }, /batchSize/],
      [{ maxBufferLines: -1 }, /maxBufferLines/],
      [{ timeouts: { requestMs: Number.NaN } }, /requestMs/],
    ];
    for (const [override, message] of bad) {
      assert.throws(
        () => createMetricsExporter({ url: 'http://influx:8086', bucket: 'b', getStats: stats.reading, ...override } as never, logger),
        (err: Error) => message.test(err.message) && !err.message.includes('hunter2'),
        JSON.stringify(override),
      );
    }
  });
});
