/**
 * Monotonic counters since process start. Request counters are bumped on the hot path (plain
 * number increments, no allocation); exporter counters are owned by the InfluxDB exporter.
 */
import { REJECT_REASONS, type RejectReason } from '../http/reject-reason.js';

export type RejectedByReason = Record<RejectReason, number>;

export interface RequestCountersReading {
  /** Every request to the webhook path. */
  received: number;
  /** Sum over `rejectedByReason`. */
  rejected: number;
  rejectedByReason: RejectedByReason;
}

function zeroByReason(): RejectedByReason {
  const out = {} as RejectedByReason;
  for (const reason of REJECT_REASONS) out[reason] = 0;
  return out;
}

export class RequestCounters {
  private receivedCount = 0;
  private rejectedCount = 0;
  private readonly byReason: RejectedByReason = zeroByReason();

  /** One more request to the webhook path. */
  countReceived(): void {
    this.receivedCount++;
  }

  /** One more rejected request. A reason outside REJECT_REASONS (only possible from untyped code) is ignored. */
  countRejected(reason: RejectReason): void {
    const current = this.byReason[reason];
    if (current === undefined) return;
    this.byReason[reason] = current + 1;
    this.rejectedCount++;
  }

  get received(): number {
    return this.receivedCount;
  }

  get rejected(): number {
    return this.rejectedCount;
  }

  rejectedFor(reason: RejectReason): number {
    return this.byReason[reason] ?? 0;
  }

  reading(): RequestCountersReading {
    return { received: this.receivedCount, rejected: this.rejectedCount, rejectedByReason: { ...this.byReason } };
  }
}

/** Where the InfluxDB exporter stands; safe to show anywhere (no token, no credentials in URLs). */
export interface ExporterStatus {
  enabled: boolean;
  /** Write target without credentials, e.g. `http://influx:8086 bucket=metrics`; null when disabled. */
  target: string | null;
  /** Lines the server acknowledged. */
  pointsWritten: number;
  /** Lines thrown away because the buffer was full (oldest first) or left over at close. */
  pointsDropped: number;
  /** Lines the server refused for good (400/413/422: malformed or schema conflict); not retried. */
  pointsRejected: number;
  /** Lines waiting for delivery now (queued and in flight). */
  pointsBuffered: number;
  /** Capacity of the buffer in lines. */
  maxBufferLines: number;
  /** Failed write attempts (each failed HTTP request counts once). */
  writeFailures: number;
  /** Failed attempts since the last success; 0 when healthy. */
  consecutiveFailures: number;
  lastError: { message: string; statusCode?: number; at: string } | null;
  lastSuccessAt: string | null;
}

/** Counter fields of ExporterStatus, kept by the exporter. */
export class ExporterCounters {
  pointsWritten = 0;
  pointsDropped = 0;
  pointsRejected = 0;
  writeFailures = 0;
  consecutiveFailures = 0;
  lastError: ExporterStatus['lastError'] = null;
  lastSuccessAt: string | null = null;

  recordSuccess(lines: number, at: Date): void {
    this.pointsWritten += lines;
    this.consecutiveFailures = 0;
    this.lastSuccessAt = at.toISOString();
  }

  /** `message` must already be free of secrets. */
  recordFailure(message: string, statusCode: number | undefined, at: Date): void {
    this.writeFailures++;
    this.consecutiveFailures++;
    this.lastError = statusCode === undefined ? { message, at: at.toISOString() } : { message, statusCode, at: at.toISOString() };
  }
}

export function disabledExporterStatus(): ExporterStatus {
  return {
    enabled: false,
    target: null,
    pointsWritten: 0,
    pointsDropped: 0,
    pointsRejected: 0,
    pointsBuffered: 0,
    maxBufferLines: 0,
    writeFailures: 0,
    consecutiveFailures: 0,
    lastError: null,
    lastSuccessAt: null,
  };
}
