/** What the dedup engine reports about itself: its counters and the state of its window and cache. */
import type { BloomKind } from '@cxone-dedup/bloom/factory';

/** One generation of the window (Bloom filter + fingerprint table) as seen from outside. */
export interface GenerationStats {
  fillRatio: number;
  estimatedFalsePositiveRate: number;
  estimatedCardinality: number;
  /** Seconds since this generation became active (was last cleared). */
  ageSeconds: number;
  /** Distinct keys recorded in it. */
  insertions: number;
  /** Fingerprints in its table. */
  tableLength: number;
  /** Its table holds every key recorded in it (false after an overflow, or restored from format 1). */
  exact: boolean;
}

/** What the dedup engine knows about itself. */
export interface EngineStats {
  eventsProcessed: number;
  eventsDeduplicated: number;
  /** A Bloom "maybe" from an inexact generation (table overflow, or restored from format 1); resolved by UNCONFIRMED_POLICY. Counted inside processed or deduplicated. */
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
    /** Slots of each generation's fingerprint table. */
    tableSlots: number;
    /** Bloom "maybe" answers the fingerprint tables settled as new: fresh keys no longer dropped. */
    falsePositivesCaught: number;
    /** Keys a full table could not take (the generation became inexact). */
    tableOverflows: number;
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
