/**
 * The dedup engine: decides for each validated event whether it is new ("processed") or a
 * duplicate ("deduplicated"), keeps the latest state per interaction, and compacts the Bloom
 * window on a timer or when the active generation is full.
 *
 * Decision for an event with dedup key K (see key.ts):
 *   1. K is written into the active Bloom generation (always: this is what slides the window).
 *   2. Bloom "certainly not seen in the window" → processed.
 *   3. Bloom "maybe" → the exact check: the interaction's cache entry remembers the keys it was
 *      recorded under and their generation (seen.ts). Recorded within the window → a duplicate
 *      for sure. Otherwise (a false positive, or the interaction was evicted from the cache, or
 *      K spans interactions, e.g. keyFields = ['dataActionId']) the event is *unconfirmed*:
 *      counted in eventsUnconfirmed and resolved by `unconfirmedPolicy` ('duplicate': drop it,
 *      'new': process it).
 *   4. The cache is updated for duplicates too: the newest updatedTimestamp wins, ties go to the
 *      later arrival, an older event arriving late never replaces a newer state.
 *
 * The engine keeps the caller's event object as the state (no copy): do not mutate it afterwards.
 * Counters are cumulative for the life of the engine (never reset by compaction).
 */
import { performance } from 'node:perf_hooks';
import type { BloomFactory } from '../bloom/types.js';
import { silentLogger, type Logger } from '../log.js';
import type { DataActionEvent, RequestFacts } from './event.js';
import { GenerationalFilter } from './generations.js';
import { DEFAULT_KEY_FIELDS, keyBuilder, keyNeedsDeliveryId, validateKeyFields, type KeyField, type KeyOf } from './key.js';
import { StateCache } from './state-cache.js';
import { SeenKeys } from './seen.js';
import { CapturedInteractions, checkEngineState, type CapturedState, type EngineState } from './state.js';
import type { CompactionRecord, EngineStats, GenerationStats } from './stats.js';
import { parseTimestamp, timestampFault, TIMESTAMP_FORMAT_HINT, type ParsedTimestamp } from './timestamp.js';

export type { DataActionEvent, RequestFacts } from './event.js';
export type { KeyField } from './key.js';
export type { CapturedState, EngineState, InteractionRecord } from './state.js';
export type { ParsedTimestamp } from './timestamp.js';

export type UnconfirmedPolicy = 'duplicate' | 'new';

export const UNCONFIRMED_POLICIES: readonly UnconfirmedPolicy[] = ['duplicate', 'new'];

export type CompactionReason = CompactionRecord['reason'];

export interface DedupEngineOptions {
  factory: BloomFactory;
  /** Keys per Bloom generation before it is compacted early. */
  capacity: number;
  /** Target false-positive rate of each generation at capacity. */
  errorRate: number;
  /** Lifetime of a generation; a key is remembered while its events are closer than this. */
  compactionIntervalSeconds: number;
  /** Interactions kept in the latest-state cache. */
  stateCacheSize: number;
  /** Bound on the summed weights (see `process`) of the cached states; default unbounded. */
  stateCacheMaxBytes?: number;
  keyFields?: readonly KeyField[];
  unconfirmedPolicy?: UnconfirmedPolicy;
  /** Dedup keys remembered per interaction for the exact check with multi-field keys (default 16). */
  maxKeysPerInteraction?: number;
  /** Wall clock in ms (tests inject one); default Date.now. */
  now?: () => number;
  /** Called after each compaction; exceptions are caught and logged. */
  onCompaction?: (record: CompactionRecord) => void;
  logger?: Logger;
}

export interface ProcessResult {
  status: 'processed' | 'deduplicated';
  /** The dedup key the decision was made on. */
  key: string;
  /** The interaction's latest state after this event (a newer event's, when this one was stale). */
  state: DataActionEvent;
  /** Bloom said "maybe" and the exact cache could not confirm; `status` came from the policy. */
  unconfirmed: boolean;
  /** This event was older than the cached state, so it did not replace it. */
  stale: boolean;
}

/** Thrown by `process` for an event that does not have the shape it requires; nothing changes. */
export class InvalidEventError extends TypeError {
  override name = 'InvalidEventError';
}

// setTimeout's limit: longer delays fire immediately.
const MAX_INTERVAL_SECONDS = 2_147_483.647;
const DEFAULT_MAX_KEYS_PER_INTERACTION = 16;

export class DedupEngine {
  readonly keyFields: readonly KeyField[];
  readonly unconfirmedPolicy: UnconfirmedPolicy;
  readonly compactionIntervalSeconds: number;
  readonly #filter: GenerationalFilter;
  readonly #cache: StateCache<DataActionEvent, SeenKeys>;
  readonly #keyOf: KeyOf;
  readonly #keyIsInteractionId: boolean;
  readonly #keyNeedsDeliveryId: boolean;
  readonly #maxKeys: number;
  readonly #dropUnconfirmed: boolean;
  readonly #now: () => number;
  readonly #onCompaction: ((record: CompactionRecord) => void) | undefined;
  readonly #log: Logger;

  #processed = 0;
  #deduplicated = 0;
  #unconfirmed = 0;
  #compactions = 0;
  #epoch = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #started = false;

  constructor(options: DedupEngineOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('DedupEngine options are required');
    const { factory, capacity, errorRate, compactionIntervalSeconds, stateCacheSize } = options;
    if (typeof factory?.create !== 'function') throw new TypeError('DedupEngine: options.factory must be a BloomFactory');
    if (
      typeof compactionIntervalSeconds !== 'number' ||
      !(compactionIntervalSeconds > 0 && compactionIntervalSeconds <= MAX_INTERVAL_SECONDS)
    ) {
      throw new RangeError(
        `compactionIntervalSeconds must be a number in (0, ${MAX_INTERVAL_SECONDS}], got ${String(compactionIntervalSeconds)}`,
      );
    }
    const policy = options.unconfirmedPolicy ?? 'duplicate';
    if (!UNCONFIRMED_POLICIES.includes(policy)) {
      throw new TypeError(`unconfirmedPolicy must be one of ${UNCONFIRMED_POLICIES.join(', ')}, got ${String(policy)}`);
    }
    const maxKeys = options.maxKeysPerInteraction ?? DEFAULT_MAX_KEYS_PER_INTERACTION;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`maxKeysPerInteraction must be an integer >= 1, got ${String(maxKeys)}`);
    }
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('now must be a function');
    if (options.onCompaction !== undefined && typeof options.onCompaction !== 'function') {
      throw new TypeError('onCompaction must be a function');
    }

    this.keyFields = validateKeyFields(options.keyFields ?? DEFAULT_KEY_FIELDS);
    this.#keyOf = keyBuilder(this.keyFields);
    this.#keyIsInteractionId = this.keyFields.length === 1 && this.keyFields[0] === 'interactionId';
    this.#keyNeedsDeliveryId = keyNeedsDeliveryId(this.keyFields);
    this.unconfirmedPolicy = policy;
    this.#dropUnconfirmed = policy === 'duplicate';
    this.compactionIntervalSeconds = compactionIntervalSeconds;
    this.#maxKeys = maxKeys;
    this.#now = options.now ?? (() => Date.now());
    this.#onCompaction = options.onCompaction;
    this.#log = options.logger ?? silentLogger;
    this.#cache = new StateCache<DataActionEvent, SeenKeys>(stateCacheSize, () => new SeenKeys(), {
      ...(options.stateCacheMaxBytes !== undefined && { maxBytes: options.stateCacheMaxBytes }),
      // Restored states come without their body length: measure them once.
      weigh: (event) => JSON.stringify(event).length,
    });
    // Last: the factory validates capacity and errorRate and allocates the two filters.
    this.#filter = new GenerationalFilter(factory, capacity, errorRate, this.#now());
  }

  /**
   * Decides whether `event` is new or a duplicate and records it (see the module comment).
   * `timestamp` is `parseTimestamp(event.updatedTimestamp)` when the caller already has it;
   * `weight` is what the state counts against `stateCacheMaxBytes` (the HTTP layer passes the
   * body length). `request` carries what the key may read besides the body (a deliveryId when
   * keyFields names it). Throws InvalidEventError, changing nothing, if the event or the request
   * lacks what the engine needs.
   */
  process(event: DataActionEvent, timestamp?: ParsedTimestamp, weight = 0, request?: RequestFacts): ProcessResult {
    const ts = timestamp ?? this.#parseTimestamp(event);
    const id = event.interactionId;
    if (typeof id !== 'string' || id.length === 0) throw new InvalidEventError('interactionId must be a non-empty string');
    if (!this.#keyIsInteractionId && typeof event.dataActionId !== 'string') {
      throw new InvalidEventError('dataActionId must be a string');
    }
    if (this.#keyNeedsDeliveryId && !(typeof request?.deliveryId === 'string' && request.deliveryId.length > 0)) {
      throw new InvalidEventError('the dedup key uses deliveryId, so the request must carry a non-empty one');
    }
    const key = this.#keyIsInteractionId ? id : this.#keyOf(event, ts, request);

    const maybeSeen = this.#filter.observe(key);
    const entry = this.#cache.offer(id, ts, event, weight);
    const seen = entry.meta;
    const epoch = this.#epoch;
    let duplicate = false;
    let unconfirmed = false;
    if (maybeSeen) {
      if (seen.seenSince(key, epoch - 1)) {
        duplicate = true;
      } else {
        unconfirmed = true;
        duplicate = this.#dropUnconfirmed;
        this.#unconfirmed++;
      }
    }
    seen.mark(key, epoch, epoch - 1, this.#maxKeys);
    if (duplicate) this.#deduplicated++;
    else this.#processed++;

    const state = entry.value;
    if (this.#filter.activeFull) this.#compactSafely('capacity');
    return { status: duplicate ? 'deduplicated' : 'processed', key, state, unconfirmed, stale: state !== event };
  }

  /** The latest state of an interaction, without touching its recency. */
  getState(interactionId: string): DataActionEvent | undefined {
    return this.#cache.peek(interactionId)?.value;
  }

  /** Arms the compaction timer (unref'd: it never keeps the process alive). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    // A generation lives one interval from its activation, also across restarts (importState).
    const intervalMs = this.compactionIntervalSeconds * 1000;
    const age = this.#now() - this.#filter.activeSinceMs;
    this.#arm(Math.min(intervalMs, Math.max(0, intervalMs - age)));
  }

  /** Stops the timer. Idempotent; `start()` may be called again. */
  stop(): void {
    this.#started = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  get running(): boolean {
    return this.#started;
  }

  /**
   * Retires the active generation now and notifies `onCompaction`. While started, the timer is
   * re-armed so the new generation gets a full interval (early compactions never shorten the next).
   */
  compact(reason: CompactionReason = 'manual'): CompactionRecord {
    const retired = this.#filter.measureActive();
    const nowMs = this.#now();
    const t0 = performance.now();
    this.#filter.rotate(nowMs);
    const durationUs = (performance.now() - t0) * 1000;
    this.#epoch++;
    this.#compactions++;
    if (this.#started) this.#arm(this.compactionIntervalSeconds * 1000);
    const record: CompactionRecord = {
      timestamp: new Date(nowMs),
      reason,
      compactionCount: this.#compactions,
      eventsProcessed: this.#processed,
      eventsDeduplicated: this.#deduplicated,
      eventsUnconfirmed: this.#unconfirmed,
      stateCacheSize: this.#cache.size,
      stateEvictions: this.#cache.evictions,
      retiredInsertions: retired.insertions,
      retiredFillRatio: retired.fillRatio,
      retiredEstimatedFalsePositiveRate: retired.estimatedFalsePositiveRate,
      durationUs,
    };
    if (this.#onCompaction !== undefined) {
      try {
        this.#onCompaction(record);
      } catch (err) {
        this.#log.warn('compaction observer threw; ignored', { err });
      }
    }
    return record;
  }

  stats(): EngineStats {
    const f = this.#filter;
    const nowMs = this.#now();
    return {
      eventsProcessed: this.#processed,
      eventsDeduplicated: this.#deduplicated,
      eventsUnconfirmed: this.#unconfirmed,
      compactions: this.#compactions,
      filter: {
        kind: f.kind,
        capacity: f.capacity,
        errorRate: f.errorRate,
        bitCount: f.active.bitCount,
        hashCount: f.active.hashCount,
        activeInsertions: f.activeInsertions,
        active: generationStats(f.active, f.activeSinceMs, nowMs),
        previous: generationStats(f.previous, f.previousSinceMs, nowMs),
      },
      stateCache: {
        size: this.#cache.size,
        capacity: this.#cache.capacity,
        evictions: this.#cache.evictions,
        bytes: this.#cache.bytes,
        maxBytes: Number.isFinite(this.#cache.maxBytes) ? this.#cache.maxBytes : null,
      },
    };
  }

  /** A copy of everything the engine remembers (filters as images), for persistence. */
  exportState(): EngineState {
    const { interactions, ...rest } = this.captureState();
    return { ...rest, interactions: Array.from({ length: interactions.length }, (_, i) => interactions.at(i)!) };
  }

  /**
   * `exportState` for a snapshot writer: one consistent picture, taken synchronously (so as
   * cheaply as possible: copies of the two filters and of references into columns), with the
   * records built later, while the snapshot is written, by `interactions.at(i)`.
   */
  captureState(): CapturedState {
    const minEpoch = this.#epoch - 1;
    const interactions = new CapturedInteractions(this.#cache.size, minEpoch);
    const { states, newestKeys, newestEpochs, older } = interactions;
    let i = 0;
    this.#cache.forEachEntry((_id, entry) => {
      const seen = entry.meta;
      states[i] = entry.value;
      newestKeys[i] = seen.newestKey;
      newestEpochs[i] = seen.newestEpoch;
      const rest = seen.olderSince(minEpoch);
      if (rest !== undefined) older.set(i, rest);
      i++;
    });
    return {
      version: 1,
      keyFields: [...this.keyFields],
      epoch: this.#epoch,
      generations: this.#filter.exportState(),
      interactions,
    };
  }

  /**
   * Restores what `exportState` produced, after checking all of it (format, key fields, filter
   * sizing and checksums, every state's fields and timestamp). Throws a clear error and changes
   * nothing on any problem. Counters are not restored: they count this process's events.
   * More interactions than `stateCacheSize` → the least recent are dropped (counted as evictions).
   */
  importState(state: EngineState): void {
    const { epoch, records } = checkEngineState(state, {
      keyFields: this.keyFields,
      keyIsInteractionId: this.#keyIsInteractionId,
      maxKeysPerInteraction: this.#maxKeys,
    });

    // Validates the filter images before replacing anything; throws without change.
    this.#filter.importState(state.generations);
    this.#cache.load(records);
    this.#epoch = epoch;
    if (this.#started) {
      this.stop();
      this.start();
    }
  }

  #parseTimestamp(event: DataActionEvent): ParsedTimestamp {
    if (typeof event !== 'object' || event === null) throw new InvalidEventError('event must be an object');
    const ts = parseTimestamp(event.updatedTimestamp);
    if (ts === null) {
      throw new InvalidEventError(
        `updatedTimestamp: ${timestampFault(event.updatedTimestamp)}; expected ${TIMESTAMP_FORMAT_HINT}`,
      );
    }
    return ts;
  }

  #arm(delayMs: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const timer = setTimeout(this.#onTimer, delayMs);
    (timer as { unref?: () => unknown }).unref?.();
    this.#timer = timer;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (!this.#started) return;
    this.#compactSafely('interval');
  };

  // Timer and hot path: a failing compaction (e.g. a filter error) must not escape into the
  // event loop or the request; the timer is re-armed so compaction is retried.
  #compactSafely(reason: CompactionReason): void {
    try {
      this.compact(reason);
    } catch (err) {
      this.#log.error('compaction failed', { reason, err });
      if (this.#started && this.#timer === undefined) this.#arm(this.compactionIntervalSeconds * 1000);
    }
  }
}

function generationStats(
  filter: { fillRatio(): number; estimatedFalsePositiveRate(): number; estimatedCardinality(): number },
  sinceMs: number,
  nowMs: number,
): GenerationStats {
  return {
    fillRatio: filter.fillRatio(),
    estimatedFalsePositiveRate: filter.estimatedFalsePositiveRate(),
    estimatedCardinality: filter.estimatedCardinality(),
    ageSeconds: Math.max(0, (nowMs - sinceMs) / 1000),
  };
}
