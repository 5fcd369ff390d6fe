/**
 * The `GET /stats` document, rendered from the metric descriptors (descriptors.ts): each row with
 * a `stats` path puts its value there. Built from known names only, so nothing the engine or the
 * exporter might carry beyond its type (let alone a secret) can leak into it.
 */
import { METRICS } from './descriptors.js';
import type { MetricsReport } from './reading.js';

/** The document: a plain JSON object (its fields are the descriptors' `stats` paths). */
export type StatsDocument = Record<string, unknown>;

/** What the daemon adds beyond the metrics report. */
export interface StatsExtras {
  inFlight: number;
}

/** Sets `doc.a.b.c = value` for path `a.b.c`, creating the objects on the way (none under a null section). */
function place(doc: StatsDocument, path: string, value: unknown): void {
  const keys = path.split('.');
  let at: Record<string, unknown> = doc;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = at[keys[i]!];
    if (next === null) return;
    if (next === undefined) at = at[keys[i]!] = {};
    else at = next as Record<string, unknown>;
  }
  at[keys[keys.length - 1]!] = value;
}

export function buildStatsDocument(report: MetricsReport, extras?: StatsExtras): StatsDocument {
  const source = extras === undefined ? report : { ...report, inFlight: extras.inFlight };
  const doc: StatsDocument = {};
  for (const m of METRICS) {
    if (m.stats === undefined) continue;
    const value = m.read(source);
    if (value === undefined) continue;
    place(doc, m.stats, m.kind === 'section' && value !== null ? {} : value);
  }
  return doc;
}

/** The response body: JSON (non-finite numbers become null, as JSON has no NaN). */
export function renderStatsJson(report: MetricsReport): string {
  return JSON.stringify(buildStatsDocument(report));
}
