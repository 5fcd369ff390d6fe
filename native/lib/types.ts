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
 * A Bloom filter, native or fallback: both implement this bit for bit alike (the package's
 * `BloomFilter` class makes either).
 *
 * Errors: `TypeError` (code `ERR_INVALID_ARG_TYPE` from the native filter) for arguments of the
 * wrong type, `RangeError` (`ERR_OUT_OF_RANGE`) for values out of range or beyond the limits
 * (m <= 2^34, k <= 64), `BloomSnapshotError` (`ERR_BLOOM_SNAPSHOT`) for a rejected image. A failed
 * call changes nothing.
 */
export interface BloomFilterLike {
  readonly kind: BloomKind;
  readonly capacity: number;
  readonly errorRate: number;
  readonly bitCount: number;
  readonly hashCount: number;
  /** bitCount / 8: bytes of bit storage (the size a shared filter's memory must have). */
  readonly byteLength: number;
  /** The SharedArrayBuffer holding the bits of a shared filter (post it to workers); null when not shared. */
  readonly sharedMemory: SharedArrayBuffer | null;
  /** Sets the key's bits; true when the key was certainly absent before. */
  add(key: BloomKey): boolean;
  /** True when the key may be present; false when it certainly is not. */
  has(key: BloomKey): boolean;
  /** `add` for each key, in order. Every key is checked first: a bad one throws before any is added. */
  addMany(keys: readonly BloomKey[]): boolean[];
  /** `has` for each key. */
  hasMany(keys: readonly BloomKey[]): boolean[];
  /** `addMany` with the answers as bytes (1 = true): the cheapest batch form. */
  addManyMask(keys: readonly BloomKey[]): Uint8Array;
  /** `hasMany` with the answers as bytes (1 = true). */
  hasManyMask(keys: readonly BloomKey[]): Uint8Array;
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
  /** The filter's image: its bytes in the format of docs/bloom-format.md (`fromBuffer` reads it back). */
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
  /** The Bloom filter's image (docs/bloom-format.md, "Snapshot format"). */
  readonly bloom: Buffer;
  /** The fingerprint table's image (docs/bloom-format.md, "Fingerprint table snapshot"). */
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

/** The `BloomFilter` class of one implementation (the package exports the best one available). */
export interface BloomFilterClass<F extends BloomFilterLike = BloomFilterLike> {
  /** `capacity`: integer 1..2^53-1; `errorRate`: 0 < p < 1. A zeroed filter. */
  new (capacity: number, errorRate: number): F;
  readonly prototype: F;
  /** A filter from an image (`toBuffer()`); `BloomSnapshotError` when it is truncated, corrupted or foreign. */
  fromBuffer(image: Uint8Array): F;
  /** A zeroed filter in a new SharedArrayBuffer (its `sharedMemory`): post that, with capacity and errorRate, to workers. */
  createShared(capacity: number, errorRate: number): F;
  /**
   * A filter over shared memory, used as is (not cleared): a SharedArrayBuffer, or a typed array
   * over one, of exactly `params(capacity, errorRate).byteLength` bytes (the native filter also
   * takes a view over part of a buffer, 8-byte aligned). A plain ArrayBuffer is refused
   * (TypeError). The filter keeps the memory alive.
   */
  fromShared(memory: SharedArrayBuffer | ArrayBufferView, capacity: number, errorRate: number): F;
  /** Sizing for (capacity, errorRate), with the constructor's checks. */
  params(capacity: number, errorRate: number): BloomParams;
}

/** The `DedupWindow` class of one implementation. */
export interface DedupWindowClass<W extends WindowLike = WindowLike> {
  /** `capacity`: keys per generation, integer 1..3·2^30; `errorRate`: 0 < p < 1. */
  new (capacity: number, errorRate: number): W;
  readonly prototype: W;
  /**
   * A window from two exported generations. `table: null` (with `exact: false`) restores a
   * generation saved before tables existed: its keys answer unconfirmed until it is rotated out.
   * Errors: TypeError / RangeError for malformed arguments; BloomSnapshotError,
   * FingerprintSnapshotError or WindowSnapshotError (parts that do not fit together).
   */
  fromGenerations(active: WindowGenerationInput, previous: WindowGenerationInput): W;
  /** Sizing for (capacity, errorRate), with the constructor's checks. */
  params(capacity: number, errorRate: number): WindowParams;
}

/** Builds filters and windows of one implementation; obtained once, then used synchronously. */
export interface BloomFactory {
  readonly kind: BloomKind;
  /** The implementation's filter class. */
  readonly BloomFilter: BloomFilterClass;
  /** The implementation's window class. */
  readonly DedupWindow: DedupWindowClass;
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
