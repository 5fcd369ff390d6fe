import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyRecorder } from '../../src/metrics/latency.js';
import { RequestCounters, disabledExporterStatus, type ExporterStatus } from '../../src/metrics/counters.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/http/respond.js';
import { escapeLabelValue, formatPrometheusValue, renderPrometheus } from '../../src/metrics/prometheus.js';
import { buildStatsDocument, renderStatsJson } from '../../src/metrics/stats-json.js';
import type { MetricsReport } from '../../src/metrics/reading.js';
import { REJECT_REASONS } from '../../src/http/reject-reason.js';
import { SNAPSHOTS_DISABLED } from '../../src/persist/status.js';
import { engineStatsFixture } from '../helpers/engine-stats.js';

// ── A strict parser for the text exposition format 0.0.4 (there is no promtool here) ─────────────

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return Number.NaN;
  assert.match(text, FLOAT, `${where}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses `{a="x",b="y"}` starting at `i`; returns labels and the index after `}`. */
function parseLabels(line: string, i: number, where: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  assert.equal(line[i], '{');
  i++;
  for (;;) {
    if (line[i] === '}') return [labels, i + 1];
    let j = i;
    while (j < line.length && line[j] !== '=') j++;
    const name = line.slice(i, j);
    assert.match(name, LABEL_NAME, `${where}: bad label name ${JSON.stringify(name)}`);
    assert.ok(!(name in labels), `${where}: duplicate label ${name}`);
    assert.equal(line[j + 1], '"', `${where}: label value must be quoted`);
    let value = '';
    let k = j + 2;
    for (;;) {
      assert.ok(k < line.length, `${where}: unterminated label value`);
      const c = line[k]!;
      if (c === '"') break;
      if (c === '\\') {
        const n = line[k + 1];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else assert.fail(`${where}: invalid escape \\${n} in label value`);
        k += 2;
      } else {
        assert.notEqual(c, '\n');
        value += c;
        k++;
      }
    }
    labels[name] = value;
    i = k + 1;
    if (line[i] === ',') i++;
    else assert.equal(line[i], '}', `${where}: expected , or } after a label`);
  }
}

function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.)/g, (_m, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    return assert.fail(`${where}: invalid escape in HELP`);
  });
}

function parseExposition(text: string): Map<string, ParsedFamily> {
  assert.ok(text.endsWith('\n'), 'exposition must end with a newline');
  const families = new Map<string, ParsedFamily>();
  const seenSeries = new Set<string>();
  let current: ParsedFamily | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, n) => {
    const where = `line ${n + 1} (${line})`;
    assert.notEqual(line, '', `${where}: empty line`);
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const sp = rest.indexOf(' ');
      const name = sp < 0 ? rest : rest.slice(0, sp);
      assert.match(name, METRIC_NAME, where);
      pendingHelp = { name, help: sp < 0 ? '' : unescapeHelp(rest.slice(sp + 1), where) };
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, ...extra] = line.slice(7).split(' ');
      assert.equal(extra.length, 0, where);
      assert.match(name!, METRIC_NAME, where);
      assert.ok(TYPES.has(type!), `${where}: unknown type`);
      assert.ok(!families.has(name!), `${where}: family ${name} declared twice`);
      assert.equal(pendingHelp?.name, name, `${where}: HELP must precede TYPE for the same family`);
      current = { name: name!, type: type!, help: pendingHelp!.help, samples: [] };
      families.set(name!, current);
      pendingHelp = undefined;
      return;
    }
    assert.ok(!line.startsWith('#'), `${where}: unexpected comment`);
    let i = 0;
    while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
    const name = line.slice(0, i);
    assert.match(name, METRIC_NAME, `${where}: bad metric name`);
    let labels: Record<string, string> = {};
    if (line[i] === '{') [labels, i] = parseLabels(line, i, where);
    assert.equal(line[i], ' ', `${where}: expected a space before the value`);
    const [valueText, timestamp, ...extra] = line.slice(i + 1).split(' ');
    assert.equal(extra.length, 0, where);
    if (timestamp !== undefined) assert.match(timestamp, /^-?\d+$/, `${where}: bad timestamp`);
    const value = parseValue(valueText!, where);

    assert.ok(current, `${where}: sample before any TYPE`);
    const suffixes = current.type === 'histogram' ? ['_bucket', '_sum', '_count'] : current.type === 'summary' ? ['', '_sum', '_count'] : [''];
    assert.ok(
      suffixes.some((s) => name === current!.name + s),
      `${where}: sample ${name} outside its family ${current.name} (families must be contiguous)`,
    );
    const seriesKey = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!seenSeries.has(seriesKey), `${where}: duplicate series`);
    seenSeries.add(seriesKey);
    current.samples.push({ name, labels, value });
  });
  assert.equal(pendingHelp, undefined, 'HELP without TYPE at the end');
  return families;
}

/** Semantic checks every exposition of ours must pass. */
function checkFamilies(families: Map<string, ParsedFamily>): void {
  for (const f of families.values()) {
    assert.ok(f.name.startsWith('cxone_dedup_'), `${f.name} lacks the prefix`);
    assert.ok(f.help.length > 0, `${f.name} has no help`);
    assert.ok(f.samples.length > 0, `${f.name} has no samples`);
    if (f.type === 'counter') {
      assert.ok(f.name.endsWith('_total'), `counter ${f.name} must end in _total`);
      for (const s of f.samples) assert.ok(s.value >= 0, `counter ${f.name} is negative`);
    } else {
      assert.ok(!f.name.endsWith('_total'), `${f.type} ${f.name} must not end in _total`);
    }
    if (f.type === 'histogram') {
      const buckets = f.samples.filter((s) => s.name === `${f.name}_bucket`);
      const les = buckets.map((b) => parseValue(b.labels.le!, `${f.name} le`));
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(les[i]! > les[i - 1]!, `${f.name}: le must ascend`);
        assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${f.name}: buckets must be cumulative`);
      }
      assert.equal(les[les.length - 1], Infinity, `${f.name}: last bucket must be +Inf`);
      const count = f.samples.find((s) => s.name === `${f.name}_count`);
      assert.ok(count && f.samples.some((s) => s.name === `${f.name}_sum`), `${f.name}: _sum and _count required`);
      assert.equal(buckets[buckets.length - 1]!.value, count.value, `${f.name}: +Inf bucket must equal _count`);
    }
  }
}

function value(families: Map<string, ParsedFamily>, family: string, labels: Record<string, string> = {}, sampleName = family): number {
  const f = families.get(family);
  assert.ok(f, `missing family ${family}`);
  const s = f.samples.find((x) => x.name === sampleName && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.ok(s, `missing sample ${sampleName}${JSON.stringify(labels)}`);
  return s.value;
}

// ── fixtures ─────────────────────────────────────────────────────────────────────────────────────

function report(exporter: ExporterStatus = disabledExporterStatus()): MetricsReport {
  const counters = new RequestCounters();
  for (let i = 0; i < 1600; i++) counters.countReceived();
  counters.countRejected('bad_signature');
  counters.countRejected('bad_signature');
  counters.countRejected('malformed_json');
  const latency = new LatencyRecorder({ now: () => 0 });
  for (const us of [30, 80, 120, 700, 3_000, 40_000, 2_000_000, 30_000_000]) latency.record(us);
  return {
    engine: engineStatsFixture(),
    counters: counters.reading(),
    latency: latency.summary(),
    latencyHistogram: latency.cumulative(),
    exporter,
    uptimeSeconds: 3600.5,
  };
}

// ── tests ────────────────────────────────────────────────────────────────────────────────────────

describe('Prometheus exposition', () => {
  it('follows the 0.0.4 text grammar and our naming rules', () => {
    const text = renderPrometheus(report());
    const families = parseExposition(text);
    checkFamilies(families);
    assert.equal(PROMETHEUS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
    assert.ok(families.size >= 25, `only ${families.size} families`);
  });

  it('carries the right values', () => {
    const r = report({
      ...disabledExporterStatus(),
      enabled: true,
      target: 'http://influx:8086 org=o bucket=b',
      pointsWritten: 90,
      pointsDropped: 4,
      pointsRejected: 2,
      pointsBuffered: 6,
      maxBufferLines: 10_000,
      writeFailures: 5,
    });
    const f = parseExposition(renderPrometheus(r));
    assert.equal(value(f, 'cxone_dedup_requests_received_total'), 1600);
    assert.equal(value(f, 'cxone_dedup_requests_rejected_total', { reason: 'bad_signature' }), 2);
    assert.equal(value(f, 'cxone_dedup_requests_rejected_total', { reason: 'malformed_json' }), 1);
    assert.deepEqual(
      f.get('cxone_dedup_requests_rejected_total')!.samples.map((s) => s.labels.reason),
      [...REJECT_REASONS],
      'one series per reason, zeros included',
    );
    assert.equal(value(f, 'cxone_dedup_events_processed_total'), 1200);
    assert.equal(value(f, 'cxone_dedup_events_deduplicated_total'), 340);
    assert.equal(value(f, 'cxone_dedup_events_unconfirmed_total'), 7);
    assert.equal(value(f, 'cxone_dedup_compactions_total'), 3);
    assert.equal(value(f, 'cxone_dedup_filter_info', { kind: 'native' }), 1);
    assert.equal(value(f, 'cxone_dedup_filter_capacity'), 1_000_000);
    assert.equal(value(f, 'cxone_dedup_filter_target_error_rate'), 0.001);
    assert.equal(value(f, 'cxone_dedup_filter_bits'), 14_377_600);
    assert.equal(value(f, 'cxone_dedup_filter_hash_functions'), 10);
    assert.equal(value(f, 'cxone_dedup_filter_active_insertions'), 4321);
    assert.equal(value(f, 'cxone_dedup_filter_fill_ratio', { generation: 'active' }), 0.0125);
    assert.equal(value(f, 'cxone_dedup_filter_fill_ratio', { generation: 'previous' }), 0.5);
    assert.equal(value(f, 'cxone_dedup_filter_estimated_false_positive_rate', { generation: 'active' }), 9.3e-20);
    assert.equal(value(f, 'cxone_dedup_filter_estimated_false_positive_rate', { generation: 'previous' }), 0.0009765625);
    assert.equal(value(f, 'cxone_dedup_filter_estimated_cardinality', { generation: 'previous' }), 998_000);
    assert.equal(value(f, 'cxone_dedup_filter_generation_age_seconds', { generation: 'previous' }), 312.25);
    assert.equal(value(f, 'cxone_dedup_state_cache_entries'), 4100);
    assert.equal(value(f, 'cxone_dedup_state_cache_capacity'), 100_000);
    assert.equal(value(f, 'cxone_dedup_state_cache_evictions_total'), 17);
    assert.equal(value(f, 'cxone_dedup_state_cache_bytes'), 2_500_000);
    assert.equal(value(f, 'cxone_dedup_uptime_seconds'), 3600.5);
    assert.equal(value(f, 'cxone_dedup_influx_export_enabled'), 1);
    assert.equal(value(f, 'cxone_dedup_influx_points_written_total'), 90);
    assert.equal(value(f, 'cxone_dedup_influx_points_dropped_total'), 4);
    assert.equal(value(f, 'cxone_dedup_influx_points_rejected_total'), 2);
    assert.equal(value(f, 'cxone_dedup_influx_write_failures_total'), 5);
    assert.equal(value(f, 'cxone_dedup_influx_points_buffered'), 6);
    assert.equal(value(f, 'cxone_dedup_influx_buffer_capacity_points'), 10_000);

    // Histogram: 8 requests: 30, 80 µs ≤ 100 µs; 120 ≤ 250 µs; 700 ≤ 1 ms; 3 ms ≤ 5 ms; 40 ms ≤ 50 ms; 2 s ≤ 2.5 s; 30 s only in +Inf.
    const h = 'cxone_dedup_request_duration_seconds';
    const bucket = (le: string) => value(f, h, { le }, `${h}_bucket`);
    assert.equal(bucket('0.00005'), 1);
    assert.equal(bucket('0.0001'), 2);
    assert.equal(bucket('0.00025'), 3);
    assert.equal(bucket('0.001'), 4);
    assert.equal(bucket('0.005'), 5);
    assert.equal(bucket('0.05'), 6);
    assert.equal(bucket('2.5'), 7);
    assert.equal(bucket('10'), 7);
    assert.equal(bucket('+Inf'), 8);
    assert.equal(value(f, h, {}, `${h}_count`), 8);
    const sum = (30 + 80 + 120 + 700 + 3_000 + 40_000 + 2_000_000 + 30_000_000) / 1e6;
    assert.ok(Math.abs(value(f, h, {}, `${h}_sum`) - sum) < 1e-9);

    // Recent quantiles (seconds): the max is exact; p50 of 8 values is the 4th (700 µs).
    const q = (quantile: string) => value(f, 'cxone_dedup_request_duration_recent_seconds', { quantile });
    assert.equal(q('1'), 30);
    assert.ok(Math.abs(q('0.5') - 700e-6) <= 700e-6 / 128 + 1e-6, `p50 ${q('0.5')}`);
  });

  it('formats special floats and escapes label values so a parser reads them back', () => {
    assert.equal(formatPrometheusValue(Number.NaN), 'NaN');
    assert.equal(formatPrometheusValue(Infinity), '+Inf');
    assert.equal(formatPrometheusValue(-Infinity), '-Inf');
    assert.equal(formatPrometheusValue(1e-7), '1e-7');
    const tricky = 'a"b\\c\nd}, e="f"';
    const line = `cxone_dedup_x{v="${escapeLabelValue(tricky)}"} 1`;
    assert.ok(!line.slice(0, -1).includes('\n'));
    const [labels] = parseLabels(line, line.indexOf('{'), 'escape');
    assert.equal(labels.v, tricky);
  });

  it('reports persistence: counters always, the last snapshot once there is one', () => {
    const r = report();
    assert.equal(parseExposition(renderPrometheus(r)).has('cxone_dedup_snapshot_enabled'), false, 'no section outside the daemon');

    r.snapshots = { ...SNAPSHOTS_DISABLED };
    let f = parseExposition(renderPrometheus(r));
    checkFamilies(f);
    assert.equal(value(f, 'cxone_dedup_snapshot_enabled'), 0);
    assert.equal(value(f, 'cxone_dedup_snapshots_written_total'), 0);
    assert.equal(f.has('cxone_dedup_snapshot_last_success_timestamp_seconds'), false);

    r.snapshots = {
      ...SNAPSHOTS_DISABLED,
      enabled: true,
      path: '/var/lib/cxone/state.snap',
      intervalSeconds: 60,
      inProgress: true,
      written: 12,
      failed: 2,
      last: { at: '2026-11-28T10:00:00.250Z', reason: 'interval', bytes: 4096, interactions: 37, durationMs: 125.5, captureMs: 3.25, maxEventLoopDelayMs: 7.5, writeMaxEventLoopDelayMs: 2 },
    };
    f = parseExposition(renderPrometheus(r));
    checkFamilies(f);
    assert.equal(value(f, 'cxone_dedup_snapshot_enabled'), 1);
    assert.equal(value(f, 'cxone_dedup_snapshots_written_total'), 12);
    assert.equal(value(f, 'cxone_dedup_snapshots_failed_total'), 2);
    assert.equal(value(f, 'cxone_dedup_snapshot_in_progress'), 1);
    assert.equal(value(f, 'cxone_dedup_snapshot_last_success_timestamp_seconds'), Date.UTC(2026, 10, 28, 10, 0, 0, 250) / 1000);
    assert.equal(value(f, 'cxone_dedup_snapshot_last_duration_seconds'), 0.1255);
    assert.equal(value(f, 'cxone_dedup_snapshot_last_bytes'), 4096);
    assert.equal(value(f, 'cxone_dedup_snapshot_last_interactions'), 37);
    assert.equal(value(f, 'cxone_dedup_snapshot_last_max_event_loop_delay_seconds'), 0.0075);
    assert.ok(!renderPrometheus(r).includes('/var/lib/cxone'), 'no file paths in /metrics');
  });

  it('renders NaN gauges (for example an empty filter) without breaking the grammar', () => {
    const r = report();
    r.engine.filter.active.fillRatio = Number.NaN;
    const f = parseExposition(renderPrometheus(r));
    checkFamilies(f);
    assert.ok(Number.isNaN(value(f, 'cxone_dedup_filter_fill_ratio', { generation: 'active' })));
  });
});

describe('GET /stats document', () => {
  it('has every field from the contract with the right values', () => {
    const r = report({ ...disabledExporterStatus(), enabled: true, target: 'http://influx:8086 org=o bucket=b', pointsWritten: 3, lastError: { message: 'HTTP 401: unauthorized', statusCode: 401, at: '2030-01-01T00:00:00.000Z' } });
    const doc = JSON.parse(renderStatsJson(r));
    assert.equal(doc.eventsReceived, 1600);
    assert.equal(doc.eventsProcessed, 1200);
    assert.equal(doc.eventsDeduplicated, 340);
    assert.equal(doc.eventsUnconfirmed, 7);
    assert.equal(doc.eventsRejected, 3);
    // Every reason is present (zeros included), whatever REJECT_REASONS holds today.
    assert.deepEqual(doc.rejectedByReason, Object.fromEntries(REJECT_REASONS.map((reason) => [reason, { bad_signature: 2, malformed_json: 1 }[reason as string] ?? 0])));
    assert.equal(doc.rejectedByReason.bad_signature, 2);
    assert.equal(doc.compactions, 3);
    assert.deepEqual(doc.filter, {
      kind: 'native',
      capacity: 1_000_000,
      errorRate: 0.001,
      bitCount: 14_377_600,
      hashCount: 10,
      activeInsertions: 4321,
      tableSlots: 1_333_334,
      falsePositivesCaught: 2,
      tableOverflows: 0,
      generations: {
        active: { fillRatio: 0.0125, estimatedFalsePositiveRate: 9.3e-20, estimatedCardinality: 4300, ageSeconds: 12.5, tableLength: 4321, exact: true },
        previous: { fillRatio: 0.5, estimatedFalsePositiveRate: 0.0009765625, estimatedCardinality: 998_000, ageSeconds: 312.25, tableLength: 1_000_000, exact: true },
      },
    });
    assert.deepEqual(doc.stateCache, { size: 4100, capacity: 100_000, evictions: 17, bytes: 2_500_000, maxBytes: 268_435_456 });
    assert.deepEqual(Object.keys(doc.latency).sort(), ['count', 'maxUs', 'p50Us', 'p90Us', 'p999Us', 'p99Us']);
    assert.equal(doc.latency.count, 8);
    assert.equal(doc.latency.maxUs, 30_000_000);
    assert.equal(doc.uptimeSeconds, 3600.5);
    assert.equal(doc.exporter.enabled, true);
    assert.equal(doc.exporter.pointsWritten, 3);
    assert.equal(doc.exporter.lastError.statusCode, 401);
  });

  it('copies only known fields, so extra (possibly secret) properties never leak', () => {
    const r = report();
    (r.engine as unknown as Record<string, unknown>).secret = 'hunter2';
    (r.exporter as unknown as Record<string, unknown>).token = 'hunter2';
    (r.engine.filter as unknown as Record<string, unknown>).key = 'hunter2';
    const text = renderStatsJson(r);
    assert.ok(!text.includes('hunter2'), text);
    assert.deepEqual(Object.keys(buildStatsDocument(r)).sort(), [
      'compactions',
      'eventsDeduplicated',
      'eventsProcessed',
      'eventsReceived',
      'eventsRejected',
      'eventsUnconfirmed',
      'exporter',
      'filter',
      'latency',
      'rejectedByReason',
      'stateCache',
      'uptimeSeconds',
    ]);
  });
});
