/** The outbox's options, their defaults and checks, and the shape of its stats. */
import type { Logger } from '../log.js';
import type { RejectReason } from './errors.js';

export interface OutboxOptions {
  /** Directory of the segments, the cursors and the lock; created if missing. */
  dir: string;
  /** Sink names, each with its own cursor (1–64 characters of [A-Za-z0-9_.-]). */
  sinks: readonly string[];
  /** Bound on the segment bytes on disk (OUTBOX_MAX_BYTES); an append beyond it is rejected as 'full'. */
  maxBytes: number;
  /** A segment is closed and a new one started once it reaches this size (default maxBytes / 8, at most 32 MiB). */
  segmentBytes?: number;
  /** Longest wait of an append for companions before its batch is written (default 1 ms; 0 = until the I/O events of this event-loop turn are handled). */
  commitDelayMs?: number;
  /** Committed records kept in memory for sinks that keep up (default 16 MiB). */
  memoryBytes?: number;
  /** Longest time an ack waits before the cursors are written (default 1000 ms). */
  cursorSyncMs?: number;
  logger: Logger;
  /** Wall clock in ms (for ages); default Date.now. */
  now?: () => number;
}

export interface Summary {
  last: number;
  max: number;
  mean: number;
}

export interface SinkStats {
  /** Records not yet acked by this sink (handed or not). */
  queuedRecords: number;
  queuedBytes: number;
  /** Handed and not yet acked. */
  inFlight: number;
  /** Age of the oldest record not acked by this sink (delivery lag); 0 when none is queued. */
  oldestUnackedAgeMs: number;
  /** Every seq up to this one is finished (in memory), and on disk. */
  ackedSeq: number;
  persistedSeq: number;
}

export interface OutboxStats {
  dir: string;
  /** Appends are being refused for lack of room (for /readyz). */
  full: boolean;
  maxBytes: number;
  bytesOnDisk: number;
  segments: number;
  /** Records in the segments on disk (delivered ones included until their segment goes). */
  recordsOnDisk: number;
  /** The seq the next committed record gets. */
  nextSeq: number;
  /** Records committed since open. */
  appends: number;
  /** Group commits (one write + one fdatasync each) since open. */
  commits: number;
  /** Appends waiting for their commit. */
  pending: number;
  batchRecords: Summary;
  /** From the start of a commit's write to the end of its fdatasync. */
  commitLatencyMs: Summary;
  rejected: Record<RejectReason, number>;
  memory: { records: number; bytes: number };
  cursorWrites: number;
  cursorWriteFailures: number;
  segmentsDeleted: number;
  recovery: { tornTailsCut: number; damagedSegments: number; removedSegments: number };
  sinks: Record<string, SinkStats>;
}

export interface CloseOptions {
  /** Bound on flushing pending appends and writing cursors (default 10 s). */
  timeoutMs?: number;
}

const SINK_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CURSOR_SYNC_MS = 1000;
export const DEFAULT_COMMIT_DELAY_MS = 1;

/** Validates the options; returns the segment size to use. */
export function checkOptions(o: OutboxOptions): number {
  if (typeof o.dir !== 'string' || o.dir.length === 0) throw new TypeError('outbox: dir must be a non-empty path');
  if (!Array.isArray(o.sinks) || o.sinks.length === 0) throw new TypeError('outbox: at least one sink name is needed');
  for (const n of o.sinks) if (typeof n !== 'string' || !SINK_NAME.test(n)) throw new TypeError(`outbox: bad sink name ${JSON.stringify(n)} (1–64 of A-Z a-z 0-9 _ . -)`);
  if (new Set(o.sinks).size !== o.sinks.length) throw new TypeError('outbox: sink names must be unique');
  if (!Number.isSafeInteger(o.maxBytes) || o.maxBytes < 64 * 1024) throw new TypeError('outbox: maxBytes must be an integer of at least 65536');
  const segmentBytes = o.segmentBytes ?? Math.max(16 * 1024, Math.min(32 * 1024 * 1024, Math.floor(o.maxBytes / 8)));
  // Finished records are freed a whole segment at a time: several must fit under maxBytes.
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 4096 || segmentBytes > o.maxBytes / 4) {
    throw new TypeError(`outbox: segmentBytes must be an integer from 4096 to maxBytes / 4 (${Math.floor(o.maxBytes / 4)})`);
  }
  const delay = o.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS;
  if (typeof delay !== 'number' || !(delay >= 0 && delay <= 100)) throw new TypeError('outbox: commitDelayMs must be from 0 to 100');
  const memory = o.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  if (!Number.isSafeInteger(memory) || memory < 0) throw new TypeError('outbox: memoryBytes must be a non-negative integer');
  const sync = o.cursorSyncMs ?? DEFAULT_CURSOR_SYNC_MS;
  if (typeof sync !== 'number' || !(sync >= 0 && sync <= 60_000)) throw new TypeError('outbox: cursorSyncMs must be from 0 to 60000');
  return segmentBytes;
}
