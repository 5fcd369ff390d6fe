/**
 * `GET /metrics`: the Prometheus text exposition format, version 0.0.4 (served as
 * PROMETHEUS_CONTENT_TYPE, src/http/respond.ts). Every name starts with `cxone_dedup_`; counters
 * end in `_total`; durations are in seconds, as Prometheus expects.
 */
import { REJECT_REASONS } from '../http/reject-reason.js';
import type { MetricsReport } from './snapshot.js';

export const METRIC_PREFIX = 'cxone_dedup_';

type MetricType = 'counter' | 'gauge' | 'histogram';
type Labels = Record<string, string>;

interface Sample {
  /** Appended to the family name, e.g. `_bucket`. */
  suffix?: string;
  labels?: Labels;
  value: number;
}

/** Go-compatible float text: +Inf, -Inf, NaN; otherwise JS's shortest round-trip form. */
export function formatPrometheusValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function renderLabels(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

class Exposition {
  private readonly out: string[] = [];

  family(name: string, type: MetricType, help: string, samples: Sample[]): void {
    const full = METRIC_PREFIX + name;
    this.out.push(`# HELP ${full} ${escapeHelp(help)}`, `# TYPE ${full} ${type}`);
    for (const s of samples) {
      this.out.push(`${full}${s.suffix ?? ''}${renderLabels(s.labels)} ${formatPrometheusValue(s.value)}`);
    }
  }

  one(name: string, type: MetricType, help: string, value: number): void {
    this.family(name, type, help, [{ value }]);
  }

  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

export function renderPrometheus(report: MetricsReport): string {
  const { engine, counters, latency, latencyHistogram: hist, exporter } = report;
  const e = new Exposition();

  e.one('requests_received_total', 'counter', 'Requests received on the webhook path.', counters.received);
  e.family(
    'requests_rejected_total',
    'counter',
    'Webhook requests rejected, by reason.',
    REJECT_REASONS.map((reason) => ({ labels: { reason }, value: counters.rejectedByReason[reason] ?? 0 })),
  );
  e.one('events_processed_total', 'counter', 'Events accepted as new and processed.', engine.eventsProcessed);
  e.one('events_deduplicated_total', 'counter', 'Events rejected as duplicates.', engine.eventsDeduplicated);
  e.one(
    'events_unconfirmed_total',
    'counter',
    'Events the Bloom filter flagged but the exact cache did not know (counted inside processed or deduplicated).',
    engine.eventsUnconfirmed,
  );
  e.one('compactions_total', 'counter', 'Bloom filter generation swaps.', engine.compactions);

  const f = engine.filter;
  e.family('filter_info', 'gauge', 'Bloom filter implementation in use (value is always 1).', [{ labels: { kind: f.kind }, value: 1 }]);
  e.one('filter_capacity', 'gauge', 'Keys each Bloom generation is sized for.', f.capacity);
  e.one('filter_target_error_rate', 'gauge', 'False-positive rate each generation is sized for at capacity.', f.errorRate);
  e.one('filter_bits', 'gauge', 'Bits per Bloom generation.', f.bitCount);
  e.one('filter_hash_functions', 'gauge', 'Hash functions per key.', f.hashCount);
  e.one('filter_active_insertions', 'gauge', 'Keys added to the active generation since it was cleared.', f.activeInsertions);
  const gens = [
    { generation: 'active', g: f.active },
    { generation: 'previous', g: f.previous },
  ];
  e.family('filter_fill_ratio', 'gauge', 'Fraction of bits set, per generation.', gens.map(({ generation, g }) => ({ labels: { generation }, value: g.fillRatio })));
  e.family(
    'filter_estimated_false_positive_rate',
    'gauge',
    'Estimated false-positive rate (fill ratio ^ hash functions), per generation.',
    gens.map(({ generation, g }) => ({ labels: { generation }, value: g.estimatedFalsePositiveRate })),
  );
  e.family(
    'filter_estimated_cardinality',
    'gauge',
    'Estimated distinct keys, per generation.',
    gens.map(({ generation, g }) => ({ labels: { generation }, value: g.estimatedCardinality })),
  );
  e.family(
    'filter_generation_age_seconds',
    'gauge',
    'Seconds since the generation was last cleared.',
    gens.map(({ generation, g }) => ({ labels: { generation }, value: g.ageSeconds })),
  );

  e.one('state_cache_entries', 'gauge', 'Interactions in the latest-state cache.', engine.stateCache.size);
  e.one('state_cache_capacity', 'gauge', 'Maximum interactions in the latest-state cache.', engine.stateCache.capacity);
  e.one('state_cache_evictions_total', 'counter', 'Least-recently-used evictions from the state cache.', engine.stateCache.evictions);
  e.one('state_cache_bytes', 'gauge', 'Body bytes of the states in the latest-state cache.', engine.stateCache.bytes);

  const buckets: Sample[] = hist.boundsSeconds.map((le, i) => ({
    suffix: '_bucket',
    labels: { le: formatPrometheusValue(le) },
    value: hist.cumulativeCounts[i] ?? 0,
  }));
  buckets.push({ suffix: '_bucket', labels: { le: '+Inf' }, value: hist.count });
  buckets.push({ suffix: '_sum', value: hist.sumSeconds });
  buckets.push({ suffix: '_count', value: hist.count });
  e.family('request_duration_seconds', 'histogram', 'Webhook request duration since start.', buckets);
  const q = (quantile: string, us: number): Sample => ({ labels: { quantile }, value: us / 1e6 });
  e.family('request_duration_recent_seconds', 'gauge', 'Webhook request duration quantiles over the recent window (30-60 s by default).', [
    q('0.5', latency.p50Us),
    q('0.9', latency.p90Us),
    q('0.99', latency.p99Us),
    q('0.999', latency.p999Us),
    q('1', latency.maxUs),
  ]);

  e.one('uptime_seconds', 'gauge', 'Seconds since the daemon started.', report.uptimeSeconds);

  e.one('influx_export_enabled', 'gauge', '1 when metrics are exported to InfluxDB.', exporter.enabled ? 1 : 0);
  e.one('influx_points_written_total', 'counter', 'Points InfluxDB acknowledged.', exporter.pointsWritten);
  e.one('influx_points_dropped_total', 'counter', 'Points dropped because the export buffer was full or the exporter closed.', exporter.pointsDropped);
  e.one('influx_points_rejected_total', 'counter', 'Points InfluxDB refused for good (400/413/422).', exporter.pointsRejected);
  e.one('influx_write_failures_total', 'counter', 'Failed write requests to InfluxDB.', exporter.writeFailures);
  e.one('influx_points_buffered', 'gauge', 'Points waiting for delivery to InfluxDB.', exporter.pointsBuffered);
  e.one('influx_buffer_capacity_points', 'gauge', 'Capacity of the export buffer.', exporter.maxBufferLines);

  const snap = report.snapshots;
  if (snap !== undefined) {
    e.one('snapshot_enabled', 'gauge', '1 when snapshots are written (SNAPSHOT_PATH is set).', snap.enabled ? 1 : 0);
    e.one('snapshots_written_total', 'counter', 'Snapshots written since start.', snap.written);
    e.one('snapshots_failed_total', 'counter', 'Snapshot writes that failed or were abandoned (the previous file stayed).', snap.failed);
    e.one('snapshot_in_progress', 'gauge', '1 while a snapshot is being written.', snap.inProgress ? 1 : 0);
    const last = snap.last;
    if (last !== null) {
      // Alert on `time() - cxone_dedup_snapshot_last_success_timestamp_seconds` growing.
      e.one('snapshot_last_success_timestamp_seconds', 'gauge', 'Unix time of the last snapshot written.', Date.parse(last.at) / 1000);
      e.one('snapshot_last_duration_seconds', 'gauge', 'How long the last snapshot took, capture to rename.', last.durationMs / 1000);
      e.one('snapshot_last_bytes', 'gauge', 'Size of the last snapshot file.', last.bytes);
      e.one('snapshot_last_interactions', 'gauge', 'Interactions in the last snapshot.', last.interactions);
      e.one(
        'snapshot_last_max_event_loop_delay_seconds',
        'gauge',
        'Longest event-loop delay while the last snapshot was taken (what requests may have waited).',
        last.maxEventLoopDelayMs / 1000,
      );
    }
  }

  return e.text();
}
