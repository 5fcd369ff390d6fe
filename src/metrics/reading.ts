/**
 * What the metrics layer reads from the rest of the daemon, in one place: a reading of the live
 * numbers, and the report /stats and /metrics render.
 */
import type { CumulativeLatency, LatencySummary } from './latency.js';
import type { ExporterStatus, RequestCountersReading } from './counters.js';
import type { EngineStats } from '../dedup/stats.js';
import type { SnapshotStatus } from '../persist/status.js';
import type { DeliveryStats } from '../delivery/delivery.js';
import type { RedisStoreStats } from '../intake/redis-store.js';

/** The dedup store: which one, and for Redis how it fares. */
export type StoreStats = { kind: 'memory' } | RedisStoreStats;

/** The live numbers: what the InfluxDB exporter samples every interval. */
export interface MetricsReading {
  engine: EngineStats;
  counters: RequestCountersReading;
  latency: LatencySummary;
  /** With a delivery sink configured. */
  delivery?: DeliveryStats;
  /** The daemon's dedup store (absent outside the daemon). */
  store?: StoreStats;
}

/** Everything `GET /stats` and `GET /metrics` render. */
export interface MetricsReport extends MetricsReading {
  latencyHistogram: CumulativeLatency;
  exporter: ExporterStatus;
  uptimeSeconds: number;
  /** Persistence (daemon only; `enabled: false` without SNAPSHOT_PATH). */
  snapshots?: SnapshotStatus;
  /** Webhook requests whose response is not written yet (daemon only, /stats only). */
  inFlight?: number;
  /** With WORKERS > 1: each worker thread's share (the numbers above are their sums). */
  workers?: WorkerSummary[];
}

/** One worker thread's share of the process's numbers (WORKERS > 1), for /stats. */
export interface WorkerSummary {
  /** 1 … WORKERS, as its log lines' `worker` field. */
  worker: number;
  received: number;
  processed: number;
  deduplicated: number;
  rejected: number;
  inFlight: number;
  /** False when it did not answer in time: its numbers are the last it reported. */
  responding: boolean;
}

/**
 * What the metric descriptors (descriptors.ts) read: a whole report for /stats and /metrics, or
 * just the live numbers and the exporter's drop count for an InfluxDB interval point.
 */
export type MetricsSource = MetricsReading &
  Partial<Omit<MetricsReport, keyof MetricsReading | 'exporter'>> & { exporter?: Partial<ExporterStatus> };
