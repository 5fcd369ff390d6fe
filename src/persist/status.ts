/** Where persistence stands, as /stats and /metrics report it (the Snapshotter keeps it). */

export type SnapshotReason = 'interval' | 'shutdown' | 'manual';

/** One written snapshot, as reported in /stats. */
export interface SnapshotRecord {
  at: string;
  reason: SnapshotReason;
  bytes: number;
  interactions: number;
  /** Capture to rename and directory fsync, in ms. */
  durationMs: number;
  /** The synchronous part (captureState), in ms: the one unavoidable pause. */
  captureMs: number;
  /** Longest event-loop delay observed while this snapshot was taken, capture included, in ms (1 ms sampling, so ≥ ~1). */
  maxEventLoopDelayMs: number;
  /** The same, after the capture: while stringifying, hashing and writing. */
  writeMaxEventLoopDelayMs: number;
}

/** The `snapshot` section of GET /stats. */
export interface SnapshotStatus {
  enabled: boolean;
  path: string | null;
  intervalSeconds: number | null;
  inProgress: boolean;
  written: number;
  failed: number;
  /** Interval ticks with nothing new since the last snapshot (nothing written). */
  unchanged: number;
  /** Interval ticks that found the previous snapshot still being written. */
  skippedBusy: number;
  /** What was restored at start, if anything. */
  restored: { interactions: number; bytes: number; createdAt: string } | null;
  last: SnapshotRecord | null;
  lastError: { message: string; at: string } | null;
}

export const SNAPSHOTS_DISABLED: SnapshotStatus = Object.freeze({
  enabled: false,
  path: null,
  intervalSeconds: null,
  inProgress: false,
  written: 0,
  failed: 0,
  unchanged: 0,
  skippedBusy: 0,
  restored: null,
  last: null,
  lastError: null,
});
