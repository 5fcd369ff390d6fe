import type { BloomKind } from '../bloom/types.js';

/**
 * Why a webhook request was rejected. Every request to the webhook path ends as exactly one of
 * processed, deduplicated or rejected(reason), so received = processed + deduplicated + rejected.
 */
export type RejectReason =
  | 'missing_signature' // 403
  | 'bad_signature' // 401
  | 'replayed' // 401, timestamp header outside the replay window
  | 'body_too_large' // 413
  | 'malformed_json' // 400
  | 'invalid_event' // 400, JSON parsed but a field is missing or wrong
  | 'aborted' // the client went away before the body was complete
  | 'internal_error'; // 500: a bug, logged

export const REJECT_REASONS: readonly RejectReason[] = [
  'missing_signature',
  'bad_signature',
  'replayed',
  'body_too_large',
  'malformed_json',
  'invalid_event',
  'aborted',
  'internal_error',
];

/** One Bloom generation as seen from outside. */
export interface GenerationStats {
  fillRatio: number;
  estimatedFalsePositiveRate: number;
  estimatedCardinality: number;
  /** Seconds since this generation became active (was last cleared). */
  ageSeconds: number;
}

/** What the dedup engine knows about itself (src/dedup/). */
export interface EngineStats {
  eventsProcessed: number;
  eventsDeduplicated: number;
  /** Bloom said "maybe" but the exact cache did not know the key; resolved by UNCONFIRMED_POLICY. Counted inside processed or deduplicated. */
  eventsUnconfirmed: number;
  compactions: number;
  filter: {
    kind: BloomKind;
    capacity: number;
    errorRate: number;
    bitCount: number;
    hashCount: number;
    /** Keys added to the active generation since it was cleared (drives early compaction). */
    activeInsertions: number;
    active: GenerationStats;
    previous: GenerationStats;
  };
  stateCache: {
    size: number;
    capacity: number;
    evictions: number;
    /** Summed weights (body bytes) of the cached states. */
    bytes: number;
    /** Bound on `bytes`; null when unbounded. */
    maxBytes: number | null;
  };
}

/** Request latency in microseconds, from first byte handled to response written. */
export interface LatencySummary {
  count: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/** Emitted by the engine at each compaction, observed by the metrics layer. */
export interface CompactionRecord {
  timestamp: Date;
  reason: 'interval' | 'capacity' | 'manual';
  compactionCount: number;
  eventsProcessed: number;
  eventsDeduplicated: number;
  eventsUnconfirmed: number;
  stateCacheSize: number;
  stateEvictions: number;
  /** The generation being retired (it becomes "previous"), measured just before the swap. */
  retiredInsertions: number;
  retiredFillRatio: number;
  retiredEstimatedFalsePositiveRate: number;
  /** How long the swap took, in microseconds. */
  durationUs: number;
}
