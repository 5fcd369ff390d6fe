/**
 * The dedup window in TypeScript, for when the native addon cannot load: two generations of
 * FallbackBloomFilter + FallbackFingerprintTable, answering exactly like the Rust window
 * (native/core/src/window.rs) and exporting the same bytes. See docs/bloom-format.md,
 * "Dedup window", for the rules.
 */
import { endianness } from 'node:os';
import { WindowSnapshotError } from './errors.js';
import { FallbackBloomFilter, keyTypeError, type FallbackHasher } from './fallback.js';
import { ALREADY_PRESENT, FallbackFingerprintTable, FULL, INSERTED, ZERO_FINGERPRINT_HI, ZERO_FINGERPRINT_LO } from './fingerprint.js';
import { computeWindowParams, MAX_CAPACITY, MAX_WINDOW_CAPACITY, tableLimitFor, tableSlotsFor } from './params.js';
import type {
  BloomKey,
  DedupWindowClass,
  WindowGeneration,
  WindowGenerationInput,
  WindowGenerationStats,
  WindowLike,
  WindowParams,
  WindowStats,
  WindowVerdict,
  WindowWhich,
} from './types.js';
import { RECORD_AT_CAPACITY, RECORD_INSERTED, RECORD_OVERFLOW, VERDICT_DUPLICATE, VERDICT_NEW, VERDICT_UNCONFIRMED } from './window-codes.js';

interface Generation {
  readonly bloom: FallbackBloomFilter;
  readonly table: FallbackFingerprintTable;
  insertions: number;
  exact: boolean;
}

// XXH64 arrives as a bigint; its uint32 halves are read through this scratch word.
const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);
const LO = endianness() === 'LE' ? 0 : 1;
const HI = 1 - LO;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return `the number ${String(v)}`;
  if (typeof v === 'object') return v instanceof Uint8Array ? 'a Uint8Array' : 'an object';
  return typeof v === 'string' ? 'a string' : typeof v === 'boolean' ? 'a boolean' : String(typeof v);
}

/** `fromGenerations`' argument checks, with the native face's messages (src/dedup_window.rs). */
function generationArg(v: unknown, name: string): { bloom: unknown; table: unknown; insertions: number; exact: boolean } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new TypeError(`${name} must be an object { bloom, table, insertions, exact } (from exportGeneration), got ${describe(v)}`);
  }
  const g = v as Record<string, unknown>;
  const { bloom, table, insertions, exact } = g;
  if (typeof insertions !== 'number') throw new TypeError(`${name}.insertions must be a number, got ${describe(insertions)}`);
  if (!(Number.isInteger(insertions) && insertions >= 0 && insertions <= MAX_CAPACITY)) {
    throw new RangeError(`${name}.insertions must be an integer from 0 to 2^53-1, got ${String(insertions)}`);
  }
  if (typeof exact !== 'boolean') throw new TypeError(`${name}.exact must be a boolean, got ${describe(exact)}`);
  return { bloom, table, insertions, exact };
}

/** Prefixes a restore error with the generation it concerns, keeping its class and code. */
function inGeneration<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error && !(err instanceof TypeError)) err.message = `${name} generation: ${err.message}`;
    throw err;
  }
}

export class FallbackDedupWindow implements WindowLike {
  readonly kind = 'fallback' as const;
  readonly capacity: number;
  readonly errorRate: number;
  readonly bitCount: number;
  readonly hashCount: number;
  readonly tableSlots: number;
  readonly tableLimit: number;
  readonly byteLength: number;

  readonly #hasher: FallbackHasher;
  readonly #generations: [Generation, Generation];
  #active = 0;
  #falsePositives = 0;
  #unconfirmed = 0;
  #overflows = 0;
  // Halves of the last hashed key's XXH64 (set by #hash: no tuple per call).
  #hi = 0;
  #lo = 0;

  /** An empty window: `capacity` keys per generation at `errorRate` (TypeError / RangeError on bad values). */
  constructor(hasher: FallbackHasher, capacity: number, errorRate: number) {
    let params: Shape;
    const restored = pending;
    pending = undefined;
    if (restored !== undefined) {
      params = restored.shape;
      this.#generations = [restored.active, restored.previous];
    } else {
      params = computeWindowParams(capacity, errorRate);
      const empty = (): Generation => ({
        bloom: new FallbackBloomFilter(hasher, capacity, errorRate),
        table: new FallbackFingerprintTable(params.tableSlots),
        insertions: 0,
        exact: true,
      });
      this.#generations = [empty(), empty()];
    }
    this.#hasher = hasher;
    this.capacity = params.capacity;
    this.errorRate = params.errorRate;
    this.bitCount = params.bitCount;
    this.hashCount = params.hashCount;
    this.tableSlots = params.tableSlots;
    this.tableLimit = tableLimitFor(params.tableSlots);
    this.byteLength = 2 * (params.bitCount / 8 + 8 * (params.tableSlots + 1));
  }

  /**
   * A window from two exported generations, every part checked like the native window does
   * (BloomSnapshotError, FingerprintSnapshotError, WindowSnapshotError, TypeError, RangeError).
   */
  static fromGenerations(hasher: FallbackHasher, active: WindowGenerationInput, previous: WindowGenerationInput): FallbackDedupWindow {
    return restoreWindow(hasher, active, previous, (shape) => new FallbackDedupWindow(hasher, shape.capacity, shape.errorRate));
  }

  /** Sets #hi / #lo from the key's XXH64; TypeError for anything but a string or bytes. */
  #hash(key: unknown): void {
    let h: bigint;
    if (typeof key === 'string') h = this.#hasher.h64(key);
    else if (key instanceof Uint8Array) h = this.#hasher.h64Raw(key);
    else throw keyTypeError(key);
    scratch64[0] = h;
    this.#hi = scratch32[HI]!;
    this.#lo = scratch32[LO]!;
  }

  check(key: BloomKey): WindowVerdict {
    this.#hash(key);
    const a = this.#generations[this.#active]!;
    const aMaybe = a.bloom.hasHash(this.#hi, this.#lo);
    if (aMaybe && a.table.contains(this.#hi, this.#lo)) return VERDICT_DUPLICATE;
    return this.#settle(aMaybe, a.exact);
  }

  /** The verdict once the active table is known not to hold the key (native: DedupWindow::settle). */
  #settle(aMaybe: boolean, aExact: boolean): WindowVerdict {
    const p = this.#generations[this.#active ^ 1]!;
    const pMaybe = p.bloom.hasHash(this.#hi, this.#lo);
    if (pMaybe && p.table.contains(this.#hi, this.#lo)) return VERDICT_DUPLICATE;
    if (!aMaybe && !pMaybe) return VERDICT_NEW;
    if ((aMaybe && !aExact) || (pMaybe && !p.exact)) {
      this.#unconfirmed++;
      return VERDICT_UNCONFIRMED;
    }
    this.#falsePositives++;
    return VERDICT_NEW;
  }

  record(key: BloomKey): number {
    this.#hash(key);
    return this.#record(this.#generations[this.#active]!);
  }

  #record(a: Generation): number {
    const bloomNew = a.bloom.addHash(this.#hi, this.#lo);
    let bits = 0;
    switch (a.table.insert(this.#hi, this.#lo)) {
      case INSERTED:
        a.insertions++;
        bits = RECORD_INSERTED;
        break;
      case ALREADY_PRESENT:
        break;
      case FULL:
        a.exact = false;
        this.#overflows++;
        bits = RECORD_OVERFLOW;
        if (bloomNew) {
          a.insertions++;
          bits |= RECORD_INSERTED;
        }
        break;
    }
    return a.insertions >= this.capacity ? bits | RECORD_AT_CAPACITY : bits;
  }

  observe(key: BloomKey): number {
    this.#hash(key);
    const a = this.#generations[this.#active]!;
    const aMaybe = a.bloom.hasHash(this.#hi, this.#lo);
    const aExact = a.exact;
    if (aMaybe && a.table.contains(this.#hi, this.#lo)) {
      return VERDICT_DUPLICATE | (a.insertions >= this.capacity ? RECORD_AT_CAPACITY : 0);
    }
    const bits = this.#record(a);
    return this.#settle(aMaybe, aExact) | bits;
  }

  rotate(): void {
    const next = this.#active ^ 1;
    const g = this.#generations[next]!;
    g.bloom.clear();
    if (g.table.length > 0) g.table.clear(); // an empty table has only empty slots (see window.rs)
    g.insertions = 0;
    g.exact = true;
    this.#active = next;
  }

  activeInsertions(): number {
    return this.#generations[this.#active]!.insertions;
  }

  stats(): WindowStats {
    return {
      active: generationStats(this.#generations[this.#active]!),
      previous: generationStats(this.#generations[this.#active ^ 1]!),
      falsePositives: this.#falsePositives,
      unconfirmed: this.#unconfirmed,
      overflows: this.#overflows,
    };
  }

  exportGeneration(which: WindowWhich): WindowGeneration {
    if (typeof which !== 'string') throw new TypeError(`which must be 'active' or 'previous', got ${describe(which)}`);
    if (which !== 'active' && which !== 'previous') throw new RangeError("which must be 'active' or 'previous'");
    const g = this.#generations[which === 'active' ? this.#active : this.#active ^ 1]!;
    return { bloom: g.bloom.toBuffer(), table: g.table.toBuffer(this.#hasher), insertions: g.insertions, exact: g.exact };
  }
}

function generationStats(g: Generation): WindowGenerationStats {
  const fillRatio = g.bloom.fillRatio();
  return {
    insertions: g.insertions,
    exact: g.exact,
    tableLength: g.table.length,
    tableSlots: g.table.slots,
    fillRatio,
    estimatedFalsePositiveRate: fillRatio ** g.bloom.hashCount,
  };
}

/**
 * Checks two exported generations like the native window does, then builds the window with
 * `make`, whose constructor call takes the restored generations (`pending`).
 */
function restoreWindow<W>(hasher: FallbackHasher, active: unknown, previous: unknown, make: (shape: Shape) => W): W {
  const a = generationArg(active, 'active');
  const p = generationArg(previous, 'previous');
  const ga = inGeneration('active', () => loadGeneration(hasher, a, 'active'));
  const gp = inGeneration('previous', () => loadGeneration(hasher, p, 'previous'));
  const sa = shapeOf(ga.bloom);
  const sp = shapeOf(gp.bloom);
  if (sa.capacity !== sp.capacity || sa.errorRate !== sp.errorRate || sa.bitCount !== sp.bitCount || sa.hashCount !== sp.hashCount) {
    throw new WindowSnapshotError(
      'generation_mismatch',
      `the two generations are sized differently (active: ${describeShape(sa)}; previous: ${describeShape(sp)})`,
    );
  }
  pending = { shape: sa, active: ga, previous: gp };
  try {
    return make(sa);
  } finally {
    pending = undefined;
  }
}

/**
 * The fallback window as a class of its own, for the package's synchronous `DedupWindow` export
 * when the addon does not load: `new DedupWindow(capacity, errorRate)`,
 * `DedupWindow.fromGenerations(active, previous)`, `DedupWindow.params(…)`, as the native class.
 */
export function fallbackDedupWindowClass(hasher: FallbackHasher): DedupWindowClass<FallbackDedupWindow> {
  // The base's statics take the hasher first; this class binds it (so its statics differ).
  const Base = FallbackDedupWindow as unknown as new (hasher: FallbackHasher, capacity: number, errorRate: number) => FallbackDedupWindow;
  return class DedupWindow extends Base {
    constructor(capacity: number, errorRate: number) {
      super(hasher, capacity, errorRate);
    }

    static fromGenerations(active: WindowGenerationInput, previous: WindowGenerationInput): DedupWindow {
      return restoreWindow(hasher, active, previous, (shape) => new DedupWindow(shape.capacity, shape.errorRate));
    }

    static params(capacity: number, errorRate: number): WindowParams {
      return computeWindowParams(capacity, errorRate);
    }
  };
}

/** A window's shape. */
type Shape = Pick<WindowParams, 'capacity' | 'errorRate' | 'bitCount' | 'hashCount' | 'tableSlots'>;

/** Restored generations, handed from fromGenerations to the constructor it calls. */
let pending: { shape: Shape; active: Generation; previous: Generation } | undefined;

/** The shape of the window a restored filter belongs to: its own m and k (snapshots store them), the table from its capacity. */
function shapeOf(bloom: FallbackBloomFilter): Shape {
  if (bloom.capacity > MAX_WINDOW_CAPACITY) {
    throw new RangeError(
      `capacity ${bloom.capacity} is above the dedup window's maximum of ${MAX_WINDOW_CAPACITY} (3 * 2^30) keys per generation`,
    );
  }
  return {
    capacity: bloom.capacity,
    errorRate: bloom.errorRate,
    bitCount: bloom.bitCount,
    hashCount: bloom.hashCount,
    tableSlots: tableSlotsFor(bloom.capacity),
  };
}

function describeShape(p: Shape): string {
  return `capacity ${p.capacity}, error rate ${p.errorRate}, ${p.bitCount} bits, k = ${p.hashCount}, ${p.tableSlots} table slots`;
}

/** One generation from checked arguments, in the native order (window.rs: Generation::from_images, from_parts). */
function loadGeneration(
  hasher: FallbackHasher,
  g: { bloom: unknown; table: unknown; insertions: number; exact: boolean },
  name: string,
): Generation {
  if (!(g.bloom instanceof Uint8Array)) throw new TypeError(`${name}.bloom must be a Buffer or Uint8Array, got ${describe(g.bloom)}`);
  const tableBytes = g.table ?? null;
  if (tableBytes !== null && !(tableBytes instanceof Uint8Array)) {
    throw new TypeError(`${name}.table must be a Buffer, a Uint8Array or null, got ${describe(g.table)}`);
  }
  const bloom = FallbackBloomFilter.fromBuffer(hasher, g.bloom);
  const params = shapeOf(bloom); // RangeError above MAX_WINDOW_CAPACITY
  let table: FallbackFingerprintTable;
  if (tableBytes !== null) table = FallbackFingerprintTable.fromBuffer(hasher, tableBytes);
  else if (g.exact) throw new WindowSnapshotError('exact_without_table', 'a generation restored without a fingerprint table cannot be exact');
  else table = new FallbackFingerprintTable(params.tableSlots);
  if (table.slots !== params.tableSlots) {
    throw new WindowSnapshotError(
      'table_size_mismatch',
      `the fingerprint table has ${table.slots} slots, but the filter's capacity calls for ${params.tableSlots}: table and filter do not belong together`,
    );
  }
  const len = table.length;
  const { insertions, exact } = g;
  if (exact ? insertions !== len : insertions < len) {
    throw new WindowSnapshotError(
      'insertion_count',
      exact
        ? `an exact generation must count as many insertions as its table holds fingerprints (${len}), got ${insertions}`
        : `insertions must be from ${len} (the fingerprints in the table) to 2^53-1, got ${insertions}`,
    );
  }
  if (len > 0) {
    table.forEach((hi, lo, slot) => {
      // A key hashing to 0 is stored as the zero fingerprint but set the bits of 0.
      const isZero = hi === ZERO_FINGERPRINT_HI && lo === ZERO_FINGERPRINT_LO;
      if (!bloom.hasHash(hi, lo) && !(isZero && bloom.hasHash(0, 0))) {
        throw new WindowSnapshotError(
          'table_not_in_filter',
          `the fingerprint in table slot ${slot} is not in the Bloom filter: table and filter are not from the same generation`,
        );
      }
    });
  }
  return { bloom, table, insertions, exact };
}
