/**
 * The messages between the main thread and its worker threads (WORKERS > 1), over each Worker's
 * own port. Plain data only (structured clone); an event's bytes travel as a transferred
 * ArrayBuffer, so they are not copied again on the way.
 *
 *   worker → main                              main → worker
 *   listening {port} | failed {message}        (nothing: the port is in WorkerData)
 *   append {id, record, body}                  appended {id, error?}   (the outbox's commit, or why not)
 *   report-request {id, reading}               report {id, report, readiness}   (GET /stats, /metrics, /readyz)
 *   reading {id?, reading}                     read {id}   (another worker's request; without id: a periodic push)
 *   compaction {record}                        (for the InfluxDB exporter)
 *   log {line}                                 (one JSON log line, written by the main thread's logger)
 *                                              stop {timeoutMs} | halt
 *   stopped {drained, reading}                 (then the thread ends by itself)
 */
import type { Config } from '../config.js';
import type { CompactionRecord, EngineStats } from '../dedup/stats.js';
import type { NewDeliveryRecord } from '../delivery/types.js';
import type { Readiness } from '../http/server.js';
import type { IntakeStats } from '../intake/intake.js';
import type { RequestCountersReading } from '../metrics/counters.js';
import type { CumulativeLatency, RecentLatency } from '../metrics/latency.js';
import type { MetricsReport, StoreStats } from '../metrics/reading.js';
import type { StreamStats } from '../store/redis/stream-stats.js';

/** What a worker is started with. */
export interface WorkerData {
  /** 1 … WORKERS: its log lines' `worker` field. */
  worker: number;
  config: Config;
  /** CXONE_WEBHOOK_SECRET, or the main thread's ephemeral one: every thread must verify alike. */
  secret: string;
  /** The port every worker listens on (SO_REUSEPORT: the kernel spreads connections over them). */
  port: number;
  /** The main thread has an outbox (a buffered sink): events to deliver are appended there before their 200. */
  outbox: boolean;
  /** How often the worker sends its numbers unasked (for the InfluxDB exporter), ms. */
  pushIntervalMs: number;
}

/** One worker's numbers, summed by the main thread into the process's. */
export interface WorkerReading {
  worker: number;
  counters: RequestCountersReading;
  engine: EngineStats;
  store: StoreStats;
  latency: RecentLatency;
  latencyHistogram: CumulativeLatency;
  intake: IntakeStats;
  /** With DELIVERY_REDIS_STREAM: what this worker's scripts appended. */
  stream?: StreamStats;
  inFlight: number;
}

/** An event to deliver, without its bytes (they travel as the message's transferred `body`). */
export type AppendRecord = Omit<NewDeliveryRecord, 'body'>;

export type WorkerMessage =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'append'; id: number; record: AppendRecord; body: ArrayBuffer }
  | { type: 'report-request'; id: number; reading: WorkerReading }
  | { type: 'reading'; id?: number; reading: WorkerReading }
  | { type: 'compaction'; record: CompactionRecord }
  | { type: 'log'; line: string }
  | { type: 'stopped'; drained: boolean; reading: WorkerReading };

export type MainMessage =
  | { type: 'appended'; id: number; error?: string }
  | { type: 'report'; id: number; report: MetricsReport; readiness: Readiness }
  | { type: 'read'; id: number }
  /** Stop accepting, answer what is in flight within `timeoutMs`, close, report, end. */
  | { type: 'stop'; timeoutMs: number }
  /** A second signal: close the listen socket and every connection now, then end. */
  | { type: 'halt' };
