/**
 * What bench:e2e reads from the daemon's GET /stats around a measured run: the event counts, and
 * with a delivery sink the outbox's group commits and the delivery lag. /stats figures are totals
 * since the daemon started (the warm-up included), so a run's share is the difference of two
 * readings; a figure the build does not report reads as NaN ("n/a" in the tables).
 */
import { getJson, type ServerProcess } from './server.js';

export type StatsDoc = Record<string, unknown>;

export function readStats(server: ServerProcess): Promise<StatsDoc> {
  return getJson(`${server.url}/stats`) as Promise<StatsDoc>;
}

/** The number at a dotted path (`delivery.outbox.commits`), or NaN when absent or not a number. */
export function num(doc: StatsDoc | undefined, dotted: string): number {
  let at: unknown = doc;
  for (const key of dotted.split('.')) {
    if (at === null || typeof at !== 'object') return Number.NaN;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === 'number' ? at : Number.NaN;
}

export interface DaemonCounts {
  processed: number;
  deduplicated: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
}

/** The events the daemon counted between two readings. */
export function countsBetween(before: StatsDoc, after: StatsDoc): DaemonCounts {
  const byReason: Record<string, number> = {};
  const reasonsAfter = (after.rejectedByReason ?? {}) as Record<string, number>;
  const reasonsBefore = (before.rejectedByReason ?? {}) as Record<string, number>;
  for (const [k, v] of Object.entries(reasonsAfter)) {
    const d = v - (reasonsBefore[k] ?? 0);
    if (d > 0) byReason[k] = d;
  }
  return {
    processed: num(after, 'eventsProcessed') - num(before, 'eventsProcessed'),
    deduplicated: num(after, 'eventsDeduplicated') - num(before, 'eventsDeduplicated'),
    rejected: num(after, 'eventsRejected') - num(before, 'eventsRejected'),
    rejectedByReason: byReason,
  };
}

/** Delivery during one measured run (issue 10's figures). */
export interface DeliveryFigures {
  /** delivery.sinks.<sink> read: 'http' or 'redis-stream'. */
  sink: string;
  /** Events written to the outbox during the run (NaN: no outbox, e.g. the stream sink). */
  appended: number;
  /** Group commits (one write + one fdatasync each) during the run. */
  commits: number;
  /** appended / commits: events per group commit during the run. */
  recordsPerCommit: number;
  /** Mean time of this run's group commits, write start to fdatasync end (from the cumulative mean and counts). */
  commitLatencyMeanMs: number;
  /** Worst group commit since the daemon started (warm-up included: /stats keeps only a running max). */
  commitLatencyMaxMs: number;
  /** Events the sink delivered during the run. */
  delivered: number;
  /** Age of the oldest undelivered event when the load stopped: the delivery lag. */
  lagAtEndMs: number;
  /** Events accepted and not yet delivered when the load stopped. */
  queuedAtEnd: number;
  /** Webhooks answered 503 because their event could not be made durable. */
  rejectedForDurability: number;
}

export function deliveryBetween(before: StatsDoc, after: StatsDoc, sink: string): DeliveryFigures {
  const d = (path: string) => num(after, path) - num(before, path);
  const commits = d('delivery.outbox.commits');
  const appended = d('delivery.outbox.appends');
  // mean × count is the running sum: the difference of two sums over the difference of counts.
  const sum = (doc: StatsDoc) => num(doc, 'delivery.outbox.commitLatencyMs.mean') * num(doc, 'delivery.outbox.commits');
  const s = `delivery.sinks.${sink}`;
  return {
    sink,
    appended,
    commits,
    recordsPerCommit: commits > 0 ? appended / commits : Number.NaN,
    commitLatencyMeanMs: commits > 0 ? (sum(after) - sum(before)) / commits : Number.NaN,
    commitLatencyMaxMs: num(after, 'delivery.outbox.commitLatencyMs.max'),
    delivered: d(`${s}.delivered`),
    lagAtEndMs: num(after, `${s}.oldestUndeliveredAgeMs`),
    queuedAtEnd: num(after, `${s}.queuedRecords`),
    rejectedForDurability: d('delivery.rejectedForDurability'),
  };
}
