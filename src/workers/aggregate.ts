/**
 * The whole process's numbers from its worker threads' readings and the main thread's own parts
 * (delivery, the exporter, the registration), as /stats, /metrics, /readyz and InfluxDB show them
 * whichever thread answers.
 *
 * Counters and sizes are summed; latency quantiles come from the workers' histogram buckets
 * summed (not from their quantiles averaged); the Redis store is reachable when every worker
 * reaches it. `filter` and `stateCache` describe each worker's local window (only used by
 * REDIS_FAILURE_POLICY=local): counts and sizes summed, its parameters as configured, ratios
 * and ages the highest of any worker.
 */
import type { Config } from '../config.js';
import type { WebhookRegistration } from '../cxone/registration.js';
import type { EngineStats, GenerationStats } from '../dedup/stats.js';
import type { Delivery, DeliveryStats, SinkDeliveryStats } from '../delivery/delivery.js';
import type { Readiness } from '../http/server.js';
import { REJECT_REASONS } from '../http/reject-reason.js';
import type { RequestCountersReading } from '../metrics/counters.js';
import { mergeCumulative, summarizeRecent } from '../metrics/latency.js';
import type { MetricsReading, MetricsReport, StoreStats, WorkerSummary } from '../metrics/reading.js';
import { SNAPSHOTS_DISABLED } from '../persist/status.js';
import type { MetricsExporter } from '../metrics/influx.js';
import type { WorkerReading } from './protocol.js';

/** The main thread's parts of the report. */
export interface MainParts {
  config: Pick<Config, 'deliver'>;
  delivery: Delivery | null;
  exporter: Pick<MetricsExporter, 'status'>;
  registration: Pick<WebhookRegistration, 'status'>;
  startedAt: number;
}

/** A worker's reading, and whether it is fresh (answered this time) or the last one it sent. */
export interface Reading {
  reading: WorkerReading;
  fresh: boolean;
}

/** The live numbers (what the InfluxDB exporter samples). Throws without any reading. */
export function aggregateReading(readings: readonly WorkerReading[], main: MainParts): MetricsReading {
  if (readings.length === 0) throw new Error('no worker has reported yet');
  const delivery = deliveryOf(readings, main);
  return {
    engine: sumEngines(readings.map((r) => r.engine)),
    counters: sumCounters(readings.map((r) => r.counters)),
    latency: summarizeRecent(readings.map((r) => r.latency)),
    ...(delivery !== undefined && { delivery }),
    store: sumStores(readings.map((r) => r.store)),
  };
}

/** Everything /stats and /metrics render, with the per-worker breakdown. */
export function aggregateReport(readings: readonly Reading[], main: MainParts): MetricsReport {
  const all = readings.map((r) => r.reading);
  return {
    ...aggregateReading(all, main),
    latencyHistogram: mergeCumulative(all.map((r) => r.latencyHistogram)),
    exporter: main.exporter.status(),
    uptimeSeconds: (Date.now() - main.startedAt) / 1000,
    snapshots: SNAPSHOTS_DISABLED,
    inFlight: all.reduce((n, r) => n + r.inFlight, 0),
    workers: readings.map(({ reading: r, fresh }): WorkerSummary => ({
      worker: r.worker,
      received: r.counters.received,
      processed: r.engine.eventsProcessed,
      deduplicated: r.engine.eventsDeduplicated,
      rejected: r.counters.rejected,
      inFlight: r.inFlight,
      responding: fresh,
    })),
  };
}

/** /readyz: not ready while the outbox is full; Redis shown, not judged (as with one thread). */
export function aggregateReadiness(readings: readonly WorkerReading[], main: MainParts): Readiness {
  const { delivery } = main;
  const stores = readings.map((r) => r.store);
  return {
    ready: !(delivery?.full ?? false),
    registration: main.registration.status(),
    ...(delivery !== null && { outbox: delivery.full ? 'full' : 'ok' }),
    ...(stores.length > 0 && stores.every((s) => s.kind === 'redis') && { redis: stores.every((s) => s.kind === 'redis' && s.redisReachable) ? 'reachable' : 'unreachable' }),
    workers: readings.length,
  };
}

function sumCounters(parts: readonly RequestCountersReading[]): RequestCountersReading {
  const rejectedByReason = Object.fromEntries(REJECT_REASONS.map((reason) => [reason, 0])) as RequestCountersReading['rejectedByReason'];
  let received = 0;
  let rejected = 0;
  for (const p of parts) {
    received += p.received;
    rejected += p.rejected;
    for (const reason of REJECT_REASONS) rejectedByReason[reason] += p.rejectedByReason[reason] ?? 0;
  }
  return { received, rejected, rejectedByReason };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const max = (values: readonly number[]) => values.reduce((a, b) => Math.max(a, b), 0);

function sumGenerations(parts: readonly GenerationStats[]): GenerationStats {
  return {
    fillRatio: max(parts.map((g) => g.fillRatio)),
    estimatedFalsePositiveRate: max(parts.map((g) => g.estimatedFalsePositiveRate)),
    estimatedCardinality: sum(parts.map((g) => g.estimatedCardinality)),
    ageSeconds: max(parts.map((g) => g.ageSeconds)),
    insertions: sum(parts.map((g) => g.insertions)),
    tableLength: sum(parts.map((g) => g.tableLength)),
    exact: parts.every((g) => g.exact),
  };
}

function sumEngines(parts: readonly EngineStats[]): EngineStats {
  const first = parts[0]!;
  const of = <T>(pick: (e: EngineStats) => T) => parts.map(pick);
  const maxBytes = of((e) => e.stateCache.maxBytes);
  return {
    eventsProcessed: sum(of((e) => e.eventsProcessed)),
    eventsDeduplicated: sum(of((e) => e.eventsDeduplicated)),
    eventsUnconfirmed: sum(of((e) => e.eventsUnconfirmed)),
    compactions: sum(of((e) => e.compactions)),
    filter: {
      ...first.filter,
      activeInsertions: sum(of((e) => e.filter.activeInsertions)),
      falsePositivesCaught: sum(of((e) => e.filter.falsePositivesCaught)),
      tableOverflows: sum(of((e) => e.filter.tableOverflows)),
      active: sumGenerations(of((e) => e.filter.active)),
      previous: sumGenerations(of((e) => e.filter.previous)),
    },
    stateCache: {
      size: sum(of((e) => e.stateCache.size)),
      capacity: sum(of((e) => e.stateCache.capacity)),
      evictions: sum(of((e) => e.stateCache.evictions)),
      bytes: sum(of((e) => e.stateCache.bytes)),
      maxBytes: maxBytes.some((b) => b === null) ? null : sum(maxBytes as number[]),
    },
  };
}

function sumStores(parts: readonly StoreStats[]): StoreStats {
  const redis = parts.filter((p) => p.kind === 'redis');
  if (redis.length === 0 || redis.length !== parts.length) return { kind: 'memory' };
  return {
    kind: 'redis',
    failurePolicy: redis[0]!.failurePolicy,
    redisReachable: redis.every((s) => s.redisReachable),
    decidedLocally: sum(redis.map((s) => s.decidedLocally)),
    redisFailures: sum(redis.map((s) => s.redisFailures)),
    claimWaits: sum(redis.map((s) => s.claimWaits)),
  };
}

/** The outbox and its dispatchers from the main thread; the 503s and the stream's appends from the workers. */
function deliveryOf(readings: readonly WorkerReading[], main: MainParts): DeliveryStats | undefined {
  const streams = readings.flatMap((r) => (r.stream === undefined ? [] : [r.stream]));
  if (main.delivery === null && streams.length === 0) return undefined;
  const d = main.delivery?.stats();
  const sinks: Record<string, SinkDeliveryStats> = { ...d?.sinks };
  if (streams.length > 0) {
    const lastError = streams.map((s) => s.lastError).find((e) => e !== null) ?? null;
    // Appended before the 200 or not at all: nothing is queued, retried or dead-lettered here.
    sinks['redis-stream'] = {
      queuedRecords: 0,
      queuedBytes: 0,
      oldestUndeliveredAgeMs: 0,
      delivered: sum(streams.map((s) => s.appended)),
      retried: 0,
      deadLettered: 0,
      inFlight: sum(streams.map((s) => s.inFlight)),
      lastError,
      failures: sum(streams.map((s) => s.failures)),
    };
  }
  return {
    deliver: main.config.deliver,
    ...(d?.outbox !== undefined && { outbox: d.outbox }),
    rejectedForDurability: sum(readings.map((r) => r.intake.rejectedForDurability)),
    sinks,
  };
}
