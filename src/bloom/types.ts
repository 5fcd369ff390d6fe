/** A key: a string (hashed as its UTF-8 bytes) or raw bytes (`Buffer` is a `Uint8Array`). */
export type BloomKey = string | Uint8Array;

/** Which implementation backs a filter. */
export type BloomKind = 'native' | 'fallback';

/** Derived sizing of a filter; see docs/bloom-format.md. */
export interface BloomParams {
  /** Capacity n the filter was sized for. */
  readonly capacity: number;
  /** Target false-positive rate p at capacity. */
  readonly errorRate: number;
  /** m, a multiple of 64. */
  readonly bitCount: number;
  /** k. */
  readonly hashCount: number;
  /** Bytes of bit storage, m / 8. */
  readonly byteLength: number;
}

/**
 * What the rest of the daemon needs from a Bloom filter. Implemented by the
 * native addon's wrapper and by the xxhash-wasm fallback, bit for bit alike.
 */
export interface BloomFilterLike {
  readonly kind: BloomKind;
  readonly capacity: number;
  readonly errorRate: number;
  readonly bitCount: number;
  readonly hashCount: number;
  /** Sets the key's bits; true when the key was certainly absent before. */
  add(key: BloomKey): boolean;
  /** True when the key may be present; false when it certainly is not. */
  has(key: BloomKey): boolean;
  addMany(keys: readonly BloomKey[]): boolean[];
  hasMany(keys: readonly BloomKey[]): boolean[];
  /** Zeroes every bit, keeping the memory. */
  clear(): void;
  /** Number of bits set (popcount). */
  setBitCount(): number;
  /** setBitCount / bitCount. */
  fillRatio(): number;
  /** fillRatio ^ hashCount. */
  estimatedFalsePositiveRate(): number;
  /** -(m / k) * ln(1 - fill): how many distinct keys have been added, roughly. */
  estimatedCardinality(): number;
  /** The filter's image: its bytes in the format of docs/bloom-format.md. */
  toBuffer(): Buffer;
}

/**
 * A dedup window's answer for a key (bits 0–1 of `check` / `observe`; constants in window-codes.ts):
 * 0 new (not recorded within the window), 1 duplicate (recorded within it), 2 unconfirmed (a Bloom
 * "maybe" from a generation whose fingerprint table is incomplete: nobody knows).
 */
export type WindowVerdict = 0 | 1 | 2;

/** One of a window's two generations. */
export type WindowWhich = 'active' | 'previous';

/** Derived sizing of a dedup window; see docs/bloom-format.md, "Fingerprint table". */
export interface WindowParams {
  /** Keys per generation. */
  readonly capacity: number;
  /** Each generation's Bloom false-positive rate at capacity. */
  readonly errorRate: number;
  /** m of each generation's filter. */
  readonly bitCount: number;
  /** k of each generation's filter. */
  readonly hashCount: number;
  /** Slots of each generation's fingerprint table: ceil(4 · capacity / 3). */
  readonly tableSlots: number;
  /** Most fingerprints a table accepts: floor(7 · tableSlots / 8), at least the capacity. */
  readonly tableLimit: number;
  /** Bytes of one generation: bitCount / 8 + 8 · (tableSlots + 1). */
  readonly generationByteLength: number;
  /** Bytes of both generations. */
  readonly byteLength: number;
}

/** One generation's figures. */
export interface WindowGenerationStats {
  /** Distinct keys recorded (once inexact: the table's, plus the filter's "certainly absent" answers after). */
  readonly insertions: number;
  /** True while the table holds every key recorded in this generation. */
  readonly exact: boolean;
  /** Fingerprints in the table. */
  readonly tableLength: number;
  readonly tableSlots: number;
  /** Of the Bloom filter (a popcount). */
  readonly fillRatio: number;
  /** fillRatio ^ hashCount. */
  readonly estimatedFalsePositiveRate: number;
}

/** A window's figures; the counters run since the window was built (snapshots do not carry them). */
export interface WindowStats {
  readonly active: WindowGenerationStats;
  readonly previous: WindowGenerationStats;
  /** Checks where a filter said "maybe" and the exact tables said no: answered new. */
  readonly falsePositives: number;
  /** Checks answered unconfirmed. */
  readonly unconfirmed: number;
  /** Records refused by a full table (the generation became, or stayed, inexact). */
  readonly overflows: number;
}

/** One generation as `exportGeneration` gives it (and `windowFromGenerations` takes it back). */
export interface WindowGeneration {
  /** Bloom filter snapshot (docs/bloom-format.md, "Snapshot format"). */
  readonly bloom: Buffer;
  /** Fingerprint table snapshot (docs/bloom-format.md, "Fingerprint table snapshot"). */
  readonly table: Buffer;
  readonly insertions: number;
  readonly exact: boolean;
}

/**
 * A generation to restore: as exported, or from a snapshot written before the tables existed,
 * with `table: null` and `exact: false` (its keys then answer unconfirmed until it is rotated out).
 */
export interface WindowGenerationInput {
  readonly bloom: Uint8Array;
  readonly table: Uint8Array | null;
  /** An exact generation counts exactly its table's fingerprints, an inexact one at least as many. */
  readonly insertions: number;
  readonly exact: boolean;
}

/**
 * The exact dedup window (docs/bloom-format.md, "Dedup window"): two generations, each a Bloom
 * filter plus a table of the keys' 64-bit fingerprints. The filter answers "certainly new" fast;
 * a "maybe" is settled by the tables. Implemented natively and by the xxhash-wasm fallback, byte
 * for byte alike.
 */
export interface WindowLike {
  readonly kind: BloomKind;
  readonly capacity: number;
  readonly errorRate: number;
  readonly bitCount: number;
  readonly hashCount: number;
  readonly tableSlots: number;
  readonly tableLimit: number;
  /** WindowParams.byteLength. */
  readonly byteLength: number;
  /** The verdict for `key` (VERDICT_*); records nothing. */
  check(key: BloomKey): WindowVerdict;
  /**
   * Writes `key` into the active generation, duplicates included (that slides the window).
   * Returns RECORD_* bits: INSERTED (new to the active generation), OVERFLOW (its table was full:
   * the generation is now inexact), AT_CAPACITY (it holds `capacity` keys: rotate).
   */
  record(key: BloomKey): number;
  /** `check` then `record` in one call: the verdict (bits 0–1, `& VERDICT_MASK`) | the RECORD_* bits. */
  observe(key: BloomKey): number;
  /** previous ← active; active ← the old previous, cleared in place (exact again). */
  rotate(): void;
  /** Insertions into the active generation. */
  activeInsertions(): number;
  stats(): WindowStats;
  exportGeneration(which: WindowWhich): WindowGeneration;
}

/** Builds filters and windows of one implementation; obtained once, then used synchronously. */
export interface BloomFactory {
  readonly kind: BloomKind;
  create(capacity: number, errorRate: number): BloomFilterLike;
  /** Throws a clear Error (never crashes) on a truncated, corrupted or foreign image. */
  fromBuffer(image: Uint8Array): BloomFilterLike;
  /** An empty dedup window: `capacity` keys per generation at `errorRate`. */
  createWindow(capacity: number, errorRate: number): WindowLike;
  /** A window restored from two exported generations; throws a clear Error, changing nothing, on any inconsistency. */
  windowFromGenerations(active: WindowGenerationInput, previous: WindowGenerationInput): WindowLike;
  /** Sizing of a window, with `createWindow`'s checks. */
  windowParams(capacity: number, errorRate: number): WindowParams;
}
