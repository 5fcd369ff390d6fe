/**
 * The two kinds of point we write to measurement `cxone_deduplication_stats`:
 *
 * - `kind=interval`, every interval: **monotonic totals since process start** (plus gauges). Totals
 *   make a retried write idempotent and a lost point harmless (the next one carries the same
 *   information); consumers take `difference()` / `non_negative_derivative()`, which also handle
 *   the reset to 0 when the daemon restarts.
 * - `kind=compaction` (tag `reason`), one per Bloom generation swap, timestamped at the swap.
 *
 * Counts are integer fields (`…i`), ratios and rates are floats. A non-finite number is left out
 * rather than written as a wrong value (line protocol has no NaN).
 */
import { Point } from '@influxdata/influxdb-client';
import type { MetricsSnapshot } from './snapshot.js';
import type { CompactionRecord } from '../dedup/stats.js';
import { REJECT_REASONS } from '../http/reject-reason.js';

export const MEASUREMENT = 'cxone_deduplication_stats';

export interface PointTags {
  environment: string;
  host: string;
}

function int(p: Point, name: string, value: number): void {
  if (Number.isFinite(value)) p.intField(name, Math.round(value));
}

function float(p: Point, name: string, value: number): void {
  if (Number.isFinite(value)) p.floatField(name, value);
}

/** Extra numbers about the exporter itself, carried on interval points. */
export interface ExporterFields {
  pointsDropped: number;
}

export function intervalPoint(s: MetricsSnapshot, tags: PointTags, at: Date, exporter: ExporterFields): Point {
  const p = new Point(MEASUREMENT).tag('environment', tags.environment).tag('host', tags.host).tag('kind', 'interval').timestamp(at);
  const { engine, counters, latency } = s;
  int(p, 'events_received', counters.received);
  int(p, 'events_processed', engine.eventsProcessed);
  int(p, 'events_deduplicated', engine.eventsDeduplicated);
  int(p, 'events_unconfirmed', engine.eventsUnconfirmed);
  int(p, 'events_rejected', counters.rejected);
  for (const reason of REJECT_REASONS) int(p, `events_rejected_${reason}`, counters.rejectedByReason[reason] ?? 0);
  int(p, 'compaction_count', engine.compactions);
  int(p, 'state_cache_size', engine.stateCache.size);
  int(p, 'state_cache_capacity', engine.stateCache.capacity);
  int(p, 'state_evictions', engine.stateCache.evictions);
  int(p, 'state_cache_bytes', engine.stateCache.bytes);
  float(p, 'filter_fill_ratio', engine.filter.active.fillRatio);
  float(p, 'filter_estimated_fpr', engine.filter.active.estimatedFalsePositiveRate);
  float(p, 'filter_age_seconds', engine.filter.active.ageSeconds);
  int(p, 'filter_active_insertions', engine.filter.activeInsertions);
  float(p, 'filter_previous_fill_ratio', engine.filter.previous.fillRatio);
  float(p, 'filter_previous_estimated_fpr', engine.filter.previous.estimatedFalsePositiveRate);
  int(p, 'latency_count', latency.count);
  int(p, 'latency_p50_us', latency.p50Us);
  int(p, 'latency_p90_us', latency.p90Us);
  int(p, 'latency_p99_us', latency.p99Us);
  int(p, 'latency_p999_us', latency.p999Us);
  int(p, 'latency_max_us', latency.maxUs);
  int(p, 'exporter_points_dropped', exporter.pointsDropped);
  return p;
}

export function compactionPoint(r: CompactionRecord, tags: PointTags): Point {
  const p = new Point(MEASUREMENT)
    .tag('environment', tags.environment)
    .tag('host', tags.host)
    .tag('kind', 'compaction')
    .tag('reason', r.reason)
    .timestamp(r.timestamp);
  int(p, 'compaction_count', r.compactionCount);
  int(p, 'events_processed', r.eventsProcessed);
  int(p, 'events_deduplicated', r.eventsDeduplicated);
  int(p, 'events_unconfirmed', r.eventsUnconfirmed);
  int(p, 'state_cache_size', r.stateCacheSize);
  int(p, 'state_evictions', r.stateEvictions);
  int(p, 'retired_insertions', r.retiredInsertions);
  float(p, 'retired_fill_ratio', r.retiredFillRatio);
  float(p, 'retired_estimated_fpr', r.retiredEstimatedFalsePositiveRate);
  int(p, 'duration_us', r.durationUs);
  return p;
}
