/**
 * A sliding "seen recently" window made of two Bloom filters of equal size: `active` receives
 * every key, `previous` holds the generation before it. Compaction retires `active` to
 * `previous` and reuses the old `previous`'s memory (cleared) as the new `active`.
 *
 * Every observed key is (re)written into `active`, duplicates included, so a key is remembered
 * as long as its events arrive less than one generation lifetime apart: right after a
 * compaction it is still in `previous`, and its next event copies it forward. A key idle for two
 * generation lifetimes has been cleared with both generations and is forgotten.
 */
import type { BloomFactory, BloomFilterLike, BloomKind } from '../bloom/types.js';

/** What compaction retired, measured just before the swap. */
export interface RetiredGeneration {
  insertions: number;
  fillRatio: number;
  estimatedFalsePositiveRate: number;
}

/** One generation, exported for persistence. */
export interface GenerationState {
  /** The filter's image, `BloomFilterLike.toBuffer()` (docs/bloom-format.md). */
  image: Buffer;
  /** Wall-clock ms (the filter's clock) when this generation became active. */
  activatedAtMs: number;
  /** Distinct keys added while it was active. */
  insertions: number;
}

export interface GenerationsState {
  active: GenerationState;
  previous: GenerationState;
}

export class GenerationalFilter {
  readonly kind: BloomKind;
  readonly capacity: number;
  readonly errorRate: number;
  readonly #factory: BloomFactory;
  #active: BloomFilterLike;
  #previous: BloomFilterLike;
  #activeInsertions = 0;
  #previousInsertions = 0;
  #activeSince: number;
  #previousSince: number;

  /** `nowMs` is the time the two (empty) generations start from. */
  constructor(factory: BloomFactory, capacity: number, errorRate: number, nowMs: number) {
    this.#factory = factory;
    this.#active = factory.create(capacity, errorRate);
    this.#previous = factory.create(capacity, errorRate);
    this.kind = this.#active.kind;
    this.capacity = this.#active.capacity;
    this.errorRate = this.#active.errorRate;
    this.#activeSince = nowMs;
    this.#previousSince = nowMs;
  }

  /** The filter receiving keys now (exposed read-only for stats and tests). */
  get active(): BloomFilterLike {
    return this.#active;
  }

  get previous(): BloomFilterLike {
    return this.#previous;
  }

  /** Distinct keys added to `active` since it was cleared (a key refreshed from `previous` counts). */
  get activeInsertions(): number {
    return this.#activeInsertions;
  }

  get previousInsertions(): number {
    return this.#previousInsertions;
  }

  /** True once `active` holds `capacity` distinct keys: time to compact early. */
  get activeFull(): boolean {
    return this.#activeInsertions >= this.capacity;
  }

  get activeSinceMs(): number {
    return this.#activeSince;
  }

  get previousSinceMs(): number {
    return this.#previousSince;
  }

  /**
   * The hot path: records `key` in `active` and tells whether it may have been seen within the
   * window before this call. One `add` answers for `active`; `previous` is consulted only when
   * the key was certainly absent from `active`.
   */
  observe(key: string): boolean {
    if (!this.#active.add(key)) return true;
    this.#activeInsertions++;
    return this.#previous.has(key);
  }

  /** Whether either generation may contain `key`; records nothing. */
  mightContain(key: string): boolean {
    return this.#active.has(key) || this.#previous.has(key);
  }

  /** Adds `key` to `active` without asking; true when it was certainly absent from `active`. */
  record(key: string): boolean {
    const absent = this.#active.add(key);
    if (absent) this.#activeInsertions++;
    return absent;
  }

  /** Measures `active` as compaction would retire it (a popcount: O(bitCount / 64)). */
  measureActive(): RetiredGeneration {
    const fillRatio = this.#active.fillRatio();
    return {
      insertions: this.#activeInsertions,
      fillRatio,
      estimatedFalsePositiveRate: Math.pow(fillRatio, this.#active.hashCount),
    };
  }

  /** previous ← active; active ← old previous, cleared in place (no reallocation). */
  rotate(nowMs: number): void {
    const recycled = this.#previous;
    recycled.clear();
    this.#previous = this.#active;
    this.#previousInsertions = this.#activeInsertions;
    this.#previousSince = this.#activeSince;
    this.#active = recycled;
    this.#activeInsertions = 0;
    this.#activeSince = nowMs;
  }

  exportState(): GenerationsState {
    return {
      active: { image: this.#active.toBuffer(), activatedAtMs: this.#activeSince, insertions: this.#activeInsertions },
      previous: {
        image: this.#previous.toBuffer(),
        activatedAtMs: this.#previousSince,
        insertions: this.#previousInsertions,
      },
    };
  }

  /**
   * Replaces both generations with `state` after checking all of it: each snapshot must load
   * (`factory.fromBuffer` validates format and checksum) and match this filter's capacity and
   * error rate, insertion counts must be integers within 0..capacity, and times finite with
   * previous not after active. On any problem it throws and changes nothing.
   */
  importState(state: GenerationsState): void {
    if (typeof state !== 'object' || state === null) throw new TypeError('generations state must be an object');
    const active = this.#loadGeneration(state.active, 'active');
    const previous = this.#loadGeneration(state.previous, 'previous');
    if (state.previous.activatedAtMs > state.active.activatedAtMs) {
      throw new RangeError('generations state: previous generation activated after the active one');
    }
    this.#active = active;
    this.#previous = previous;
    this.#activeInsertions = state.active.insertions;
    this.#previousInsertions = state.previous.insertions;
    this.#activeSince = state.active.activatedAtMs;
    this.#previousSince = state.previous.activatedAtMs;
  }

  #loadGeneration(g: GenerationState, name: string): BloomFilterLike {
    if (typeof g !== 'object' || g === null) throw new TypeError(`generations state: ${name} must be an object`);
    if (!(g.image instanceof Uint8Array)) throw new TypeError(`generations state: ${name}.image must be bytes`);
    if (!Number.isSafeInteger(g.insertions) || g.insertions < 0 || g.insertions > this.capacity) {
      throw new RangeError(`generations state: ${name}.insertions must be an integer in 0..${this.capacity}`);
    }
    if (typeof g.activatedAtMs !== 'number' || !Number.isFinite(g.activatedAtMs)) {
      throw new RangeError(`generations state: ${name}.activatedAtMs must be a finite number`);
    }
    let filter: BloomFilterLike;
    try {
      filter = this.#factory.fromBuffer(g.image);
    } catch (err) {
      throw new Error(`generations state: ${name} snapshot rejected: ${(err as Error).message}`, { cause: err });
    }
    const a = this.#active;
    if (
      filter.capacity !== this.capacity ||
      filter.errorRate !== this.errorRate ||
      filter.bitCount !== a.bitCount ||
      filter.hashCount !== a.hashCount
    ) {
      throw new RangeError(
        `generations state: ${name} snapshot was sized for capacity ${filter.capacity}, error rate ${filter.errorRate} ` +
          `(${filter.bitCount} bits, k=${filter.hashCount}); this filter uses capacity ${this.capacity}, ` +
          `error rate ${this.errorRate} (${a.bitCount} bits, k=${a.hashCount})`,
      );
    }
    return filter;
  }
}
