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
import type { MetricsReading } from './reading.js';
import type { CompactionRecord } from '../dedup/stats.js';
import { COMPACTION_FIELDS, METRICS, type MetricUnit } from './descriptors.js';

export const MEASUREMENT = 'cxone_deduplication_stats';

export interface PointTags {
  environment: string;
  host: string;
}

/** Ratios and seconds are floats; every other number (counts, bytes, µs) an integer. Non-finite: left out. */
function field(p: Point, name: string, unit: MetricUnit, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) return;
  if (unit === 'ratio' || unit === 'seconds') p.floatField(name, value);
  else p.intField(name, Math.round(value));
}

/** Extra numbers about the exporter itself, carried on interval points. */
export interface ExporterFields {
  pointsDropped: number;
}

/** The descriptors (descriptors.ts) that name an InfluxDB field, read from `s` and the exporter. */
export function intervalPoint(s: MetricsReading, tags: PointTags, at: Date, exporter: ExporterFields): Point {
  const p = new Point(MEASUREMENT).tag('environment', tags.environment).tag('host', tags.host).tag('kind', 'interval').timestamp(at);
  const source = {
    engine: s.engine,
    counters: s.counters,
    latency: s.latency,
    ...(s.delivery !== undefined && { delivery: s.delivery }),
    ...(s.store !== undefined && { store: s.store }),
    exporter: { pointsDropped: exporter.pointsDropped },
  };
  for (const m of METRICS) if (m.influx !== undefined) field(p, m.influx, m.unit, m.read(source));
  return p;
}

export function compactionPoint(r: CompactionRecord, tags: PointTags): Point {
  const p = new Point(MEASUREMENT)
    .tag('environment', tags.environment)
    .tag('host', tags.host)
    .tag('kind', 'compaction')
    .tag('reason', r.reason)
    .timestamp(r.timestamp);
  for (const f of COMPACTION_FIELDS) field(p, f.influx, f.unit, f.read(r));
  return p;
}
