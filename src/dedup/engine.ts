/**
 * The dedup engine: decides for each validated event whether it is new ("processed") or a
 * duplicate ("deduplicated"), keeps the latest state per interaction, and compacts the window on
 * a timer or when the active generation is full.
 *
 * Decision for an event with dedup key K (see key.ts), in one call into the window (window.ts):
 *   1. The Bloom filters of both generations: "certainly not seen in the window" → processed.
 *   2. A "maybe" is settled by the generations' fingerprint tables, which hold every key recorded
 *      in the window: found → a duplicate; not found → processed (a Bloom false positive,
 *      counted). The state cache plays no part: it only holds states.
 *   3. Only a generation whose table overflowed (or one restored from a format-1 snapshot, which
 *      had no tables) cannot settle a "maybe": such an event is *unconfirmed*, counted in
 *      eventsUnconfirmed and resolved by `unconfirmedPolicy` ('duplicate': drop it, 'new':
 *      process it).
 *   4. K is (re)written into the active generation, duplicates included: that slides the window.
 *   5. The cache is updated for duplicates too: the newest updatedTimestamp wins, ties go to the
 *      later arrival, an older event arriving late never replaces a newer state.
 *
 * `process` does it all at once. `decide` + `commit` split it for callers that must first make the
 * event durable (delivery): `decide` records nothing, `commit` applies what it decided. The caller
 * keeps other events of the same interaction and key out of the gap between the two.
 *
 * The engine keeps the caller's event object as the state (no copy): do not mutate it afterwards.
 * Counters are cumulative for the life of the engine (never reset by compaction).
 */
import { performance } from 'node:perf_hooks';
import type { BloomFactory, WindowGenerationStats, WindowLike } from '@cxone-dedup/bloom/factory';
import { silentLogger, type Logger } from '../log.js';
import type { DataActionEvent, RequestFacts } from './event.js';
import { DEFAULT_KEY_FIELDS, keyBuilder, keyNeedsDeliveryId, validateKeyFields, type KeyField, type KeyOf } from './key.js';
import { RawState, stateEvent, stateJson, type StateValue } from './raw-state.js';
import { StateCache } from './state-cache.js';
import { checkEngineState, type CapturedState, type EngineState, type EngineStateV1 } from './state.js';
import type { CompactionRecord, EngineStats, GenerationStats } from './stats.js';
import { compareTimestamps, parseTimestamp, timestampFault, TIMESTAMP_FORMAT_HINT, type ParsedTimestamp } from './timestamp.js';
import { GenerationalWindow, RECORD_AT_CAPACITY, VERDICT_DUPLICATE, VERDICT_MASK, VERDICT_UNCONFIRMED } from './window.js';

export type { DataActionEvent, RequestFacts } from './event.js';
export type { KeyField } from './key.js';
export type { CapturedState, EngineState, EngineStateV1 } from './state.js';
export type { ParsedTimestamp } from './timestamp.js';

export type UnconfirmedPolicy = 'duplicate' | 'new';

export const UNCONFIRMED_POLICIES: readonly UnconfirmedPolicy[] = ['duplicate', 'new'];

export type CompactionReason = CompactionRecord['reason'];

export interface DedupEngineOptions {
  factory: BloomFactory;
  /** Keys per generation before it is compacted early. */
  capacity: number;
  /** Target Bloom false-positive rate of each generation at capacity. */
  errorRate: number;
  /** Lifetime of a generation; a key is remembered while its events are closer than this. */
  compactionIntervalSeconds: number;
  /** Interactions kept in the latest-state cache. */
  stateCacheSize: number;
  /** Bound on the summed weights (see `process`) of the cached states; default unbounded. */
  stateCacheMaxBytes?: number;
  keyFields?: readonly KeyField[];
  /** What an unconfirmed "maybe" counts as (only an inexact generation gives one). */
  unconfirmedPolicy?: UnconfirmedPolicy;
  /** Wall clock in ms (tests inject one); default Date.now. */
  now?: () => number;
  /** Called after each compaction; exceptions are caught and logged. */
  onCompaction?: (record: CompactionRecord) => void;
  logger?: Logger;
}

/** What `applyObserved` concluded; `state` is the interaction's latest, as the cache keeps it. */
export interface ObservedResult {
  status: 'processed' | 'deduplicated';
  state: StateValue;
  unconfirmed: boolean;
  stale: boolean;
}

export interface ProcessResult {
  status: 'processed' | 'deduplicated';
  /** The dedup key the decision was made on. */
  key: string;
  /** The interaction's latest state after this event (a newer event's, when this one was stale). */
  state: DataActionEvent;
  /** The window could not settle a Bloom "maybe" (an inexact generation); `status` came from the policy. */
  unconfirmed: boolean;
  /** This event was older than the cached state, so it did not replace it. */
  stale: boolean;
}

/** What `decide` concluded about an event, for `commit` to apply. */
export interface Decision {
  readonly event: DataActionEvent;
  readonly timestamp: ParsedTimestamp;
  readonly key: string;
  readonly status: 'processed' | 'deduplicated';
  readonly unconfirmed: boolean;
  /**
   * The event would change the interaction's cached state: there is none, or it is older, or it
   * is as old with other content. False for a stale or repeated event (as far as the cache knows).
   */
  readonly advances: boolean;
}

/** Thrown by `process` for an event that does not have the shape it requires; nothing changes. */
export class InvalidEventError extends TypeError {
  override name = 'InvalidEventError';
}

// setTimeout's limit: longer delays fire immediately.
const MAX_INTERVAL_SECONDS = 2_147_483.647;

export class DedupEngine {
  readonly keyFields: readonly KeyField[];
  readonly unconfirmedPolicy: UnconfirmedPolicy;
  readonly compactionIntervalSeconds: number;
  readonly #window: GenerationalWindow;
  readonly #cache: StateCache<StateValue, undefined>;
  readonly #keyOf: KeyOf;
  readonly #keyIsInteractionId: boolean;
  readonly #keyNeedsDeliveryId: boolean;
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
    if (typeof factory?.createWindow !== 'function') throw new TypeError('DedupEngine: options.factory must be a BloomFactory');
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
    this.#now = options.now ?? (() => Date.now());
    this.#onCompaction = options.onCompaction;
    this.#log = options.logger ?? silentLogger;
    this.#cache = new StateCache<StateValue, undefined>(stateCacheSize, () => undefined, {
      ...(options.stateCacheMaxBytes !== undefined && { maxBytes: options.stateCacheMaxBytes }),
      // Restored states come without their body length: measure them once.
      weigh: (v) => (v instanceof RawState ? v.json.length : JSON.stringify(v).length),
    });
    // Last: the factory validates capacity and errorRate and allocates the two generations.
    this.#window = new GenerationalWindow(factory, capacity, errorRate, this.#now());
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
    const key = this.#key(event, ts, request);
    const code = this.#window.observe(key);
    return this.#apply(event, ts, key, code & VERDICT_MASK, code, weight);
  }

  /**
   * What `process` would decide for `event`, recording nothing: the window is only read (its
   * false-positive counter aside) and the cache not touched. `commit` applies it.
   */
  decide(event: DataActionEvent, timestamp?: ParsedTimestamp, request?: RequestFacts): Decision {
    const ts = timestamp ?? this.#parseTimestamp(event);
    const key = this.#key(event, ts, request);
    const verdict = this.#window.check(key);
    const unconfirmed = verdict === VERDICT_UNCONFIRMED;
    const duplicate = verdict === VERDICT_DUPLICATE || (unconfirmed && this.#dropUnconfirmed);
    const cached = this.#cache.peek(event.interactionId);
    let advances = true;
    if (cached !== undefined) {
      const order = compareTimestamps(ts, cached.timestamp);
      // A tie replaces the state (the later arrival wins): it changes it only if the content differs.
      advances = order > 0 || (order === 0 && cached.value !== event && JSON.stringify(stateEvent(cached.value)) !== JSON.stringify(event));
    }
    return { event, timestamp: ts, key, status: duplicate ? 'deduplicated' : 'processed', unconfirmed, advances };
  }

  /**
   * Applies a decision of `decide`: records the key and offers the state, as `process` would
   * have. The decision stands even if another event of the key was committed since (the caller
   * is meant to prevent that).
   */
  commit(decision: Decision, weight = 0): ProcessResult {
    const code = this.#window.record(decision.key);
    const verdict = decision.unconfirmed ? VERDICT_UNCONFIRMED : decision.status === 'deduplicated' ? VERDICT_DUPLICATE : 0;
    return this.#apply(decision.event, decision.timestamp, decision.key, verdict, code, weight);
  }

  /** The dedup key of `event` (InvalidEventError when the event or request lacks what it needs). */
  keyOf(event: DataActionEvent, timestamp: ParsedTimestamp, request?: RequestFacts): string {
    return this.#key(event, timestamp, request);
  }

  #key(event: DataActionEvent, ts: ParsedTimestamp, request: RequestFacts | undefined): string {
    const id = event.interactionId;
    if (typeof id !== 'string' || id.length === 0) throw new InvalidEventError('interactionId must be a non-empty string');
    if (this.#keyIsInteractionId) return id;
    if (typeof event.dataActionId !== 'string') throw new InvalidEventError('dataActionId must be a string');
    if (this.#keyNeedsDeliveryId && !(typeof request?.deliveryId === 'string' && request.deliveryId.length > 0)) {
      throw new InvalidEventError('the dedup key uses deliveryId, so the request must carry a non-empty one');
    }
    return this.#keyOf(event, ts, request);
  }

  #apply(event: DataActionEvent, ts: ParsedTimestamp, key: string, verdict: number, recordBits: number, weight: number): ProcessResult {
    const r = this.applyObserved(event.interactionId, ts, event, verdict | (recordBits & ~VERDICT_MASK), weight);
    return { status: r.status, key, state: stateEvent(r.state), unconfirmed: r.unconfirmed, stale: r.stale };
  }

  /**
   * For a caller whose window call already decided and recorded (the native per-webhook call,
   * in observe mode): counts the verdict, offers the state, compacts at capacity. `code` is what
   * the window answered (verdict | RECORD_* bits); `state` is kept as given (no copy).
   */
  applyObserved(interactionId: string, timestamp: ParsedTimestamp, state: StateValue, code: number, weight: number): ObservedResult {
    const verdict = code & VERDICT_MASK;
    let duplicate = verdict === VERDICT_DUPLICATE;
    const unconfirmed = verdict === VERDICT_UNCONFIRMED;
    if (unconfirmed) {
      duplicate = this.#dropUnconfirmed;
      this.#unconfirmed++;
    }
    if (duplicate) this.#deduplicated++;
    else this.#processed++;
    const latest = this.#cache.offer(interactionId, timestamp, state, weight).value;
    if ((code & RECORD_AT_CAPACITY) !== 0) this.#compactSafely('capacity');
    return { status: duplicate ? 'deduplicated' : 'processed', state: latest, unconfirmed, stale: latest !== state };
  }

  /** The window as its implementation exposes it (the native per-webhook call needs the native one). */
  get window(): WindowLike {
    return this.#window.window;
  }

  /** The latest state of an interaction, without touching its recency. */
  getState(interactionId: string): DataActionEvent | undefined {
    const v = this.#cache.peek(interactionId)?.value;
    return v === undefined ? undefined : stateEvent(v);
  }

  /** The latest state's JSON text (the received bytes when kept as such), without touching its recency. */
  getStateJson(interactionId: string): string | undefined {
    const v = this.#cache.peek(interactionId)?.value;
    return v === undefined ? undefined : stateJson(v);
  }

  /** Arms the compaction timer (unref'd: it never keeps the process alive). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    // A generation lives one interval from its activation, also across restarts (importState).
    const intervalMs = this.compactionIntervalSeconds * 1000;
    const age = this.#now() - this.#window.activeSinceMs;
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
    const retired = this.#window.measureActive();
    const nowMs = this.#now();
    const t0 = performance.now();
    this.#window.rotate(nowMs);
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
    const w = this.#window;
    const ws = w.stats();
    const nowMs = this.#now();
    const window = w.window;
    return {
      eventsProcessed: this.#processed,
      eventsDeduplicated: this.#deduplicated,
      eventsUnconfirmed: this.#unconfirmed,
      compactions: this.#compactions,
      filter: {
        kind: w.kind,
        capacity: w.capacity,
        errorRate: w.errorRate,
        bitCount: window.bitCount,
        hashCount: window.hashCount,
        activeInsertions: ws.active.insertions,
        tableSlots: window.tableSlots,
        falsePositivesCaught: ws.falsePositives,
        tableOverflows: ws.overflows,
        active: generationStats(ws.active, window.bitCount, window.hashCount, w.activeSinceMs, nowMs),
        previous: generationStats(ws.previous, window.bitCount, window.hashCount, w.previousSinceMs, nowMs),
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

  /** A copy of everything the engine remembers (the window as images), for persistence. */
  exportState(): EngineState {
    return this.captureState();
  }

  /**
   * `exportState` for a snapshot writer: one consistent picture, taken synchronously and as
   * cheaply as possible (copies of the window's images, references to the states).
   */
  captureState(): CapturedState {
    const states = new Array<StateValue>(this.#cache.size);
    let i = 0;
    this.#cache.forEachEntry((_id, entry) => {
      states[i++] = entry.value;
    });
    return { version: 2, keyFields: [...this.keyFields], epoch: this.#epoch, generations: this.#window.exportState(), states };
  }

  /**
   * Restores what `exportState` produced (or a format-1 state of an older snapshot), after
   * checking all of it (format, key fields, window images and tables, every state's fields and
   * timestamp). Throws a clear error and changes nothing on any problem. Counters are not
   * restored: they count this process's events. More interactions than `stateCacheSize` → the
   * least recent are dropped (counted as evictions).
   */
  importState(state: EngineState | EngineStateV1): void {
    const checked = checkEngineState(state, { keyFields: this.keyFields, keyIsInteractionId: this.#keyIsInteractionId });
    // Validates the window before replacing anything; throws without change.
    this.#window.importState(checked.generations);
    this.#cache.load(checked.records);
    this.#epoch = checked.epoch;
    // Format 1 had no tables: what its cache knew was seen goes into the active table.
    for (const key of checked.knownKeys) this.#window.record(key);
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


function generationStats(g: WindowGenerationStats, bitCount: number, hashCount: number, sinceMs: number, nowMs: number): GenerationStats {
  return {
    fillRatio: g.fillRatio,
    estimatedFalsePositiveRate: g.estimatedFalsePositiveRate,
    // -(m / k) · ln(1 − fill): distinct keys behind a fill ratio.
    estimatedCardinality: g.fillRatio >= 1 ? Infinity : (-bitCount / hashCount) * Math.log(1 - g.fillRatio),
    ageSeconds: Math.max(0, (nowMs - sinceMs) / 1000),
    insertions: g.insertions,
    tableLength: g.tableLength,
    exact: g.exact,
  };
}
