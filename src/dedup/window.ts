/**
 * The sliding dedup window: a `WindowLike` (@cxone-dedup/bloom, lib/types.ts: two generations, each a Bloom filter
 * plus an exact table of 64-bit key fingerprints) and the wall-clock time each generation became
 * active. Compaction retires `active` to `previous` and reuses the old `previous`, cleared.
 *
 * Every observed key is (re)written into `active`, duplicates included, so a key is remembered as
 * long as its events arrive less than one generation lifetime apart: right after a compaction it
 * is still in `previous`, and its next event copies it forward. A key idle for two generation
 * lifetimes has been cleared with both generations and is forgotten.
 *
 * The tables make every answer exact: a Bloom "maybe" is settled against them, so a fresh key is
 * answered new (a caught false positive) and a repeat duplicate, whatever the state cache holds.
 * Only a generation whose table overflowed, or one restored from a format-1 snapshot that had no
 * table, is inexact; its "maybe" answers come back unconfirmed (VERDICT_UNCONFIRMED).
 */
import type { BloomFactory, BloomKey, BloomKind, WindowGenerationInput, WindowGenerationStats, WindowLike, WindowStats } from '@cxone-dedup/bloom/factory';

export { RECORD_AT_CAPACITY, RECORD_INSERTED, RECORD_OVERFLOW, VERDICT_DUPLICATE, VERDICT_MASK, VERDICT_NEW, VERDICT_UNCONFIRMED } from '@cxone-dedup/bloom/factory';

/** What compaction retired, measured just before the swap. */
export interface RetiredGeneration {
  insertions: number;
  fillRatio: number;
  estimatedFalsePositiveRate: number;
  exact: boolean;
}

/** One generation, exported for persistence. */
export interface GenerationState {
  /** The Bloom filter's image (docs/bloom-format.md). */
  bloom: Uint8Array;
  /** The fingerprint table's image; null for a generation saved before tables existed (inexact). */
  table: Uint8Array | null;
  /** Distinct keys recorded while it was active. */
  insertions: number;
  /** The table holds every key recorded in it. */
  exact: boolean;
  /** Wall-clock ms (the window's clock) when this generation became active. */
  activatedAtMs: number;
}

export interface GenerationsState {
  active: GenerationState;
  previous: GenerationState;
}

export class GenerationalWindow {
  readonly kind: BloomKind;
  readonly capacity: number;
  readonly errorRate: number;
  readonly #factory: BloomFactory;
  #window: WindowLike;
  #activeSince: number;
  #previousSince: number;

  /** `nowMs` is the time the two (empty) generations start from. */
  constructor(factory: BloomFactory, capacity: number, errorRate: number, nowMs: number) {
    this.#factory = factory;
    this.#window = factory.createWindow(capacity, errorRate);
    this.kind = this.#window.kind;
    this.capacity = this.#window.capacity;
    this.errorRate = this.#window.errorRate;
    this.#activeSince = nowMs;
    this.#previousSince = nowMs;
  }

  /** The window itself (read-only use: stats, tests). */
  get window(): WindowLike {
    return this.#window;
  }

  get activeSinceMs(): number {
    return this.#activeSince;
  }

  get previousSinceMs(): number {
    return this.#previousSince;
  }

  /** Check then record, in one call: the verdict in `& VERDICT_MASK`, plus the RECORD_* bits. */
  observe(key: BloomKey): number {
    return this.#window.observe(key);
  }

  /** The verdict for `key` (VERDICT_*), recording nothing. */
  check(key: BloomKey): number {
    return this.#window.check(key);
  }

  /** Records `key` in the active generation: the RECORD_* bits. */
  record(key: BloomKey): number {
    return this.#window.record(key);
  }

  get activeInsertions(): number {
    return this.#window.activeInsertions();
  }

  stats(): WindowStats {
    return this.#window.stats();
  }

  /** Measures `active` as compaction would retire it (a popcount: O(bitCount / 64)). */
  measureActive(): RetiredGeneration {
    const a: WindowGenerationStats = this.#window.stats().active;
    return { insertions: a.insertions, fillRatio: a.fillRatio, estimatedFalsePositiveRate: a.estimatedFalsePositiveRate, exact: a.exact };
  }

  /** previous ← active; active ← old previous, cleared in place (no reallocation). */
  rotate(nowMs: number): void {
    this.#window.rotate();
    this.#previousSince = this.#activeSince;
    this.#activeSince = nowMs;
  }

  exportState(): GenerationsState {
    const part = (which: 'active' | 'previous', activatedAtMs: number): GenerationState => {
      const g = this.#window.exportGeneration(which);
      return { bloom: g.bloom, table: g.table, insertions: g.insertions, exact: g.exact, activatedAtMs };
    };
    return { active: part('active', this.#activeSince), previous: part('previous', this.#previousSince) };
  }

  /**
   * Replaces both generations with `state` after checking all of it (the factory checks images,
   * tables, counts and that they fit together and this window's sizing; the times are checked
   * here). On any problem it throws and changes nothing.
   */
  importState(state: GenerationsState): void {
    if (typeof state !== 'object' || state === null) throw new TypeError('generations state must be an object');
    const active = this.#input(state.active, 'active');
    const previous = this.#input(state.previous, 'previous');
    if (state.previous.activatedAtMs > state.active.activatedAtMs) {
      throw new RangeError('generations state: previous generation activated after the active one');
    }
    let window: WindowLike;
    try {
      window = this.#factory.windowFromGenerations(active, previous);
    } catch (err) {
      throw new Error(`generations state rejected: ${(err as Error).message}`, { cause: err });
    }
    if (window.capacity !== this.capacity || window.errorRate !== this.errorRate || window.bitCount !== this.#window.bitCount || window.hashCount !== this.#window.hashCount) {
      throw new RangeError(
        `generations state: sized for capacity ${window.capacity}, error rate ${window.errorRate} (${window.bitCount} bits, k=${window.hashCount}); ` +
          `this window uses capacity ${this.capacity}, error rate ${this.errorRate} (${this.#window.bitCount} bits, k=${this.#window.hashCount})`,
      );
    }
    this.#window = window;
    this.#activeSince = state.active.activatedAtMs;
    this.#previousSince = state.previous.activatedAtMs;
  }

  #input(g: GenerationState, name: string): WindowGenerationInput {
    if (typeof g !== 'object' || g === null) throw new TypeError(`generations state: ${name} must be an object`);
    if (!(g.bloom instanceof Uint8Array)) throw new TypeError(`generations state: ${name}.bloom must be bytes`);
    if (g.table !== null && !(g.table instanceof Uint8Array)) throw new TypeError(`generations state: ${name}.table must be bytes or null`);
    if (typeof g.exact !== 'boolean') throw new TypeError(`generations state: ${name}.exact must be a boolean`);
    if (!Number.isSafeInteger(g.insertions) || g.insertions < 0) throw new RangeError(`generations state: ${name}.insertions must be an integer >= 0`);
    if (typeof g.activatedAtMs !== 'number' || !Number.isFinite(g.activatedAtMs)) {
      throw new RangeError(`generations state: ${name}.activatedAtMs must be a finite number`);
    }
    return { bloom: g.bloom, table: g.table, insertions: g.insertions, exact: g.exact };
  }
}
