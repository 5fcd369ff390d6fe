/**
 * The daemon's metrics reach a real line-protocol server (VictoriaMetrics, speaking InfluxDB's
 * /api/v2/write) while it serves webhooks, and survive an outage of that server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from '../helpers/wait.js';
import { makeEvent, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { startVictoria, type ExportedSeries, type Victoria } from '../helpers/victoria.js';

const INTERVAL_S = 0.25;

function series(all: ExportedSeries[], field: string, kind: string): ExportedSeries | undefined {
  return all.find((s) => s.metric.__name__ === `cxone_deduplication_stats_${field}` && s.metric.kind === kind);
}

describe('metrics export from the running daemon', () => {
  let vm: Victoria;
  let d: RunningDaemon;

  before(async () => {
    vm = await startVictoria();
    d = await startDaemon({
      env: {
        INFLUX_URL: vm.url,
        INFLUX_TOKEN: 'token-that-must-not-leak-123',
        INFLUX_ORG: 'cxone',
        INFLUX_BUCKET: 'dedup',
        INFLUX_ENVIRONMENT: 'ci',
        METRICS_INTERVAL_SECONDS: String(INTERVAL_S),
        // Long enough that the first requests surely land before compaction 1 (asserted below).
        COMPACTION_INTERVAL_SECONDS: '2',
        INFLUX_MAX_BUFFER_LINES: '10000',
      },
    });
  });

  after(async () => {
    await d?.stop();
    await vm?.dispose();
  });

  it('writes interval and compaction points with the exact counters', async () => {
    const e = makeEvent();
    await d.post(e);
    await d.post(e);
    await d.post(makeEvent());
    await d.post(makeEvent(), { signature: '0'.repeat(64) });
    const stats = await d.stats();
    // A point taken after the requests above carries exactly these totals.
    const written = await until('a point with all four requests', async () => {
      const all = await vm.export('{__name__=~"cxone_deduplication_stats_.*"}');
      const received = series(all, 'events_received', 'interval');
      return received && received.values.includes(4) ? all : undefined;
    });
    const received = series(written, 'events_received', 'interval')!;
    assert.equal(received.metric.environment, 'ci');
    assert.equal(typeof received.metric.host, 'string');
    const at = received.timestamps[received.values.indexOf(4)]!;
    const valueAt = (field: string) => {
      const s = series(written, field, 'interval');
      assert.ok(s, `field ${field} present`);
      return s.values[s.timestamps.indexOf(at)];
    };
    assert.equal(valueAt('events_processed'), stats.eventsProcessed);
    assert.equal(valueAt('events_processed'), 2);
    assert.equal(valueAt('events_deduplicated'), 1);
    assert.equal(valueAt('events_rejected'), 1);
    assert.equal(valueAt('events_rejected_bad_signature'), 1);
    assert.equal(valueAt('state_cache_size'), 2);
    assert.equal(valueAt('compaction_count'), 0);
    assert.ok((valueAt('filter_fill_ratio') ?? 0) > 0);
    for (const f of ['events_unconfirmed', 'state_evictions', 'filter_estimated_fpr', 'latency_p50_us', 'latency_p99_us']) valueAt(f);

    // One point per compaction, with that compaction's numbers.
    const compaction = await until('a compaction point', async () => {
      const all = await vm.export('{__name__=~"cxone_deduplication_stats_.*",kind="compaction"}');
      const count = series(all, 'compaction_count', 'compaction');
      return count && count.values.includes(1) ? all : undefined;
    });
    const count = series(compaction, 'compaction_count', 'compaction')!;
    assert.equal(count.metric.reason, 'interval');
    assert.equal(count.metric.environment, 'ci');
    const cAt = count.timestamps[count.values.indexOf(1)]!;
    const retired = series(compaction, 'retired_insertions', 'compaction')!;
    assert.equal(retired.values[retired.timestamps.indexOf(cAt)], 2, 'the two distinct interactions were in the retired generation');
    const processed = series(compaction, 'events_processed', 'compaction')!;
    assert.equal(processed.values[processed.timestamps.indexOf(cAt)], 2);
  });

  it('keeps answering webhooks during an outage and delivers every buffered point afterwards', async () => {
    const before = (await d.stats()).exporter;
    assert.equal(before.enabled, true);
    await vm.stop();
    let answered = 0;
    const outageStart = Date.now();
    while (Date.now() - outageStart < 2000) {
      const res = await d.post(makeEvent());
      assert.equal(res.status, 200);
      answered++;
    }
    const during = (await d.stats()).exporter;
    assert.ok(during.pointsBuffered > 0, 'points wait in the buffer');
    assert.ok(during.writeFailures > before.writeFailures, 'writes failed meanwhile');
    assert.equal(during.pointsDropped, 0);
    await vm.restart();
    const afterOutage = await until('the buffer to drain', async () => {
      const s = (await d.stats()).exporter;
      return s.pointsBuffered === 0 && s.pointsWritten > during.pointsWritten ? s : undefined;
    });
    assert.equal(afterOutage.pointsDropped, 0);
    assert.ok(answered > 10);

    // Every interval point made during the outage is in the database: no gap in the timestamps.
    const received = series(await vm.export('{__name__="cxone_deduplication_stats_events_received"}'), 'events_received', 'interval')!;
    const ts = [...received.timestamps].sort((a, b) => a - b);
    const inOutage = ts.filter((t) => t >= outageStart && t <= outageStart + 2000);
    assert.ok(inOutage.length >= 2000 / (INTERVAL_S * 1000) - 2, `${inOutage.length} points from the outage arrived`);
    for (let i = 1; i < ts.length; i++) {
      assert.ok(ts[i]! - ts[i - 1]! < INTERVAL_S * 1000 * 3, `gap of ${ts[i]! - ts[i - 1]!} ms between points`);
    }
    // Nothing written twice counts twice: totals only grow.
    const byTime = received.timestamps.map((t, i) => [t, received.values[i]!] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < byTime.length; i++) assert.ok(byTime[i]![1] >= byTime[i - 1]![1]);
  });

  it('reports the exporter in /stats and /metrics without the token', async () => {
    const stats = await d.get('/stats');
    assert.equal(stats.json.exporter.enabled, true);
    assert.ok(stats.json.exporter.pointsWritten > 0);
    const metrics = await d.get('/metrics');
    assert.match(metrics.text, /^cxone_dedup_influx_points_written_total \d+/m);
    for (const t of [stats.text, metrics.text, d.logText()]) assert.ok(!t.includes('token-that-must-not-leak-123'));
  });
});
