/**
 * `GET /metrics`: the Prometheus text exposition format, version 0.0.4 (served as
 * PROMETHEUS_CONTENT_TYPE, src/http/respond.ts). Every name starts with `cxone_dedup_`; counters
 * end in `_total`; durations are in seconds, as Prometheus expects.
 */
import { METRICS, type MetricKind, type MetricUnit, type MetricValue } from './descriptors.js';
import type { CumulativeLatency } from './latency.js';
import type { MetricsReport } from './reading.js';

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

/** A value as Prometheus wants it: seconds for durations, Unix seconds for times, 1/0 for yes/no. */
function promValue(unit: MetricUnit, value: MetricValue): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (unit === 'timestamp') return Date.parse(value as string) / 1000;
  if (unit === 'milliseconds') return (value as number) / 1000;
  if (unit === 'microseconds') return (value as number) / 1e6;
  return value as number;
}

/** The samples of the request-duration histogram. */
function histogramSamples(hist: CumulativeLatency): Sample[] {
  const samples: Sample[] = hist.boundsSeconds.map((le, i) => ({
    suffix: '_bucket',
    labels: { le: formatPrometheusValue(le) },
    value: hist.cumulativeCounts[i] ?? 0,
  }));
  samples.push({ suffix: '_bucket', labels: { le: '+Inf' }, value: hist.count });
  samples.push({ suffix: '_sum', value: hist.sumSeconds });
  samples.push({ suffix: '_count', value: hist.count });
  return samples;
}

const PROMETHEUS_TYPE: Record<MetricKind, MetricType | undefined> = { counter: 'counter', gauge: 'gauge', info: 'gauge', histogram: 'histogram', section: undefined };

interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

/** Renders the descriptors that have a Prometheus name, grouped into families in table order. */
export function renderPrometheus(report: MetricsReport): string {
  const families = new Map<string, Family>();
  for (const m of METRICS) {
    const type = PROMETHEUS_TYPE[m.kind];
    if (m.prometheus === undefined || type === undefined) continue;
    const value = m.read(report);
    if (value === undefined || value === null) continue;
    let samples: Sample[];
    if (m.kind === 'histogram') samples = histogramSamples(value as CumulativeLatency);
    else if (m.kind === 'info') samples = [{ labels: { ...m.labels, [m.infoLabel ?? 'value']: String(value) }, value: 1 }];
    else samples = [{ ...(m.labels && { labels: m.labels }), value: promValue(m.unit, value) }];
    const family = families.get(m.prometheus);
    if (family === undefined) families.set(m.prometheus, { name: m.prometheus, type, help: m.help, samples });
    else family.samples.push(...samples);
  }
  const out: string[] = [];
  for (const f of families.values()) {
    const full = METRIC_PREFIX + f.name;
    out.push(`# HELP ${full} ${escapeHelp(f.help)}`, `# TYPE ${full} ${f.type}`);
    for (const s of f.samples) out.push(`${full}${s.suffix ?? ''}${renderLabels(s.labels)} ${formatPrometheusValue(s.value)}`);
  }
  return `${out.join('\n')}\n`;
}
