/**
 * The `GET /stats` document. Built field by field from known names, so nothing the engine or the
 * exporter might carry beyond its type (let alone a secret) can leak into it.
 */
import type { ExporterStatus } from './counters.js';
import type { MetricsReport } from './snapshot.js';
import type { LatencySummary } from './latency.js';
import type { EngineStats, GenerationStats } from '../dedup/stats.js';
import { REJECT_REASONS, type RejectReason } from '../http/reject-reason.js';
import type { BloomKind } from '../bloom/types.js';
import type { SnapshotStatus } from '../persist/status.js';

export interface StatsDocument {
  eventsReceived: number;
  eventsProcessed: number;
  eventsDeduplicated: number;
  eventsUnconfirmed: number;
  eventsRejected: number;
  rejectedByReason: Record<RejectReason, number>;
  compactions: number;
  filter: {
    kind: BloomKind;
    capacity: number;
    errorRate: number;
    bitCount: number;
    hashCount: number;
    activeInsertions: number;
    generations: { active: GenerationStats; previous: GenerationStats };
  };
  stateCache: EngineStats['stateCache'];
  latency: LatencySummary;
  uptimeSeconds: number;
  exporter: ExporterStatus;
  /** Webhook requests whose response is not written yet (daemon only). */
  inFlight?: number;
  /** Persistence (daemon only); `enabled: false` without SNAPSHOT_PATH. */
  snapshot?: SnapshotStatus;
}

/** What the daemon adds beyond the metrics report. */
export interface StatsExtras {
  inFlight: number;
}

function snapshotSection(s: SnapshotStatus): SnapshotStatus {
  return {
    enabled: s.enabled,
    path: s.path,
    intervalSeconds: s.intervalSeconds,
    inProgress: s.inProgress,
    written: s.written,
    failed: s.failed,
    unchanged: s.unchanged,
    skippedBusy: s.skippedBusy,
    restored: s.restored && { interactions: s.restored.interactions, bytes: s.restored.bytes, createdAt: s.restored.createdAt },
    last: s.last && {
      at: s.last.at,
      reason: s.last.reason,
      bytes: s.last.bytes,
      interactions: s.last.interactions,
      durationMs: s.last.durationMs,
      captureMs: s.last.captureMs,
      maxEventLoopDelayMs: s.last.maxEventLoopDelayMs,
      writeMaxEventLoopDelayMs: s.last.writeMaxEventLoopDelayMs,
    },
    lastError: s.lastError && { message: s.lastError.message, at: s.lastError.at },
  };
}

function generation(g: GenerationStats): GenerationStats {
  return {
    fillRatio: g.fillRatio,
    estimatedFalsePositiveRate: g.estimatedFalsePositiveRate,
    estimatedCardinality: g.estimatedCardinality,
    ageSeconds: g.ageSeconds,
  };
}

export function buildStatsDocument(report: MetricsReport, extras?: StatsExtras): StatsDocument {
  const { engine, counters, latency, exporter } = report;
  const rejectedByReason = {} as Record<RejectReason, number>;
  for (const reason of REJECT_REASONS) rejectedByReason[reason] = counters.rejectedByReason[reason] ?? 0;
  const doc: StatsDocument = {
    eventsReceived: counters.received,
    eventsProcessed: engine.eventsProcessed,
    eventsDeduplicated: engine.eventsDeduplicated,
    eventsUnconfirmed: engine.eventsUnconfirmed,
    eventsRejected: counters.rejected,
    rejectedByReason,
    compactions: engine.compactions,
    filter: {
      kind: engine.filter.kind,
      capacity: engine.filter.capacity,
      errorRate: engine.filter.errorRate,
      bitCount: engine.filter.bitCount,
      hashCount: engine.filter.hashCount,
      activeInsertions: engine.filter.activeInsertions,
      generations: { active: generation(engine.filter.active), previous: generation(engine.filter.previous) },
    },
    stateCache: {
      size: engine.stateCache.size,
      capacity: engine.stateCache.capacity,
      evictions: engine.stateCache.evictions,
      bytes: engine.stateCache.bytes,
      maxBytes: engine.stateCache.maxBytes,
    },
    latency: {
      count: latency.count,
      p50Us: latency.p50Us,
      p90Us: latency.p90Us,
      p99Us: latency.p99Us,
      p999Us: latency.p999Us,
      maxUs: latency.maxUs,
    },
    uptimeSeconds: report.uptimeSeconds,
    exporter: {
      enabled: exporter.enabled,
      target: exporter.target,
      pointsWritten: exporter.pointsWritten,
      pointsDropped: exporter.pointsDropped,
      pointsRejected: exporter.pointsRejected,
      pointsBuffered: exporter.pointsBuffered,
      maxBufferLines: exporter.maxBufferLines,
      writeFailures: exporter.writeFailures,
      consecutiveFailures: exporter.consecutiveFailures,
      lastError: exporter.lastError ? { ...exporter.lastError } : null,
      lastSuccessAt: exporter.lastSuccessAt,
    },
  };
  if (extras !== undefined) doc.inFlight = extras.inFlight;
  if (report.snapshots !== undefined) doc.snapshot = snapshotSection(report.snapshots);
  return doc;
}

/** The response body: JSON (non-finite numbers become null, as JSON has no NaN). */
export function renderStatsJson(report: MetricsReport): string {
  return JSON.stringify(buildStatsDocument(report));
}
