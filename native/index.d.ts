/**
 * Types of the native addon `cxone-dedup.<platform>.node` (hand-written: the classes are
 * defined on raw N-API for speed, so napi-rs cannot generate them). Format, sizing and
 * hashing: docs/bloom-format.md. Use it through `src/bloom/native.ts`.
 */

/** A key: a string (hashed as UTF-8) or raw bytes (`Buffer` is a `Uint8Array`). */
export type BloomKey = string | Uint8Array;

/** Sizing of a filter, as `BloomFilter.params` derives it. */
export interface BloomFilterParams {
  capacity: number;
  errorRate: number;
  /** m, a multiple of 64. */
  bitCount: number;
  /** k. */
  hashCount: number;
  /** m / 8: bytes of bit storage (the size a shared filter's memory must have). */
  byteLength: number;
}

/**
 * A Bloom filter whose bits are `AtomicU64` words: owned by the addon, or in a
 * `SharedArrayBuffer` that several worker threads use at once.
 *
 * Errors: `TypeError` (code `ERR_INVALID_ARG_TYPE`) for arguments of the wrong type,
 * `RangeError` (`ERR_OUT_OF_RANGE`) for values out of range or beyond the limits
 * (m <= 2^34, k <= 64), `Error` (`ERR_BLOOM_SNAPSHOT`) for a rejected snapshot. A
 * failed call changes nothing.
 */
export declare class BloomFilter {
  /** `capacity`: integer 1..2^53-1; `errorRate`: 0 < p < 1. Zeroed, owned storage. */
  constructor(capacity: number, errorRate: number);

  /** Always `'native'` (on the prototype). */
  readonly kind: 'native';
  readonly capacity: number;
  readonly errorRate: number;
  readonly bitCount: number;
  readonly hashCount: number;
  /** bitCount / 8. */
  readonly byteLength: number;
  /**
   * The SharedArrayBuffer holding the bits of a shared filter (the whole buffer, even when the
   * filter was attached to a view over part of it); null when owned.
   */
  readonly sharedMemory: SharedArrayBuffer | null;

  /** Sets the key's bits; true when at least one was clear (the key was certainly absent). */
  add(key: BloomKey): boolean;
  /** True when all the key's bits are set (maybe present); false: certainly absent. */
  has(key: BloomKey): boolean;
  /** `add` for each key in order, in one native call. All keys are checked first: a bad one throws before any is added. */
  addMany(keys: readonly BloomKey[]): boolean[];
  /** `has` for each key, in one native call. */
  hasMany(keys: readonly BloomKey[]): boolean[];
  /** `addMany` with the answers as bytes (1 = true): the cheapest batch form. */
  addManyMask(keys: readonly BloomKey[]): Uint8Array;
  /** `hasMany` with the answers as bytes (1 = true): the cheapest batch form. */
  hasManyMask(keys: readonly BloomKey[]): Uint8Array;
  /** Zeroes every bit (of the shared memory too, for a shared filter). */
  clear(): void;
  /** Number of set bits. */
  setBitCount(): number;
  /** setBitCount / bitCount. */
  fillRatio(): number;
  /** fillRatio ^ hashCount. */
  estimatedFalsePositiveRate(): number;
  /** -(m / k) * ln(1 - fill); `Infinity` when every bit is set. */
  estimatedCardinality(): number;
  /** A snapshot, format version 1 (48-byte header + bits). */
  toBuffer(): Buffer;

  /** Loads a snapshot into a new owned filter; Error on a truncated, corrupted or foreign one. */
  static fromBuffer(snapshot: Uint8Array): BloomFilter;
  /**
   * A filter over `memory` used as is (not cleared): a SharedArrayBuffer, or a typed
   * array over one, of exactly `params(capacity, errorRate).byteLength` bytes starting
   * on an 8-byte boundary. A plain ArrayBuffer is refused (TypeError): it could be
   * detached under the filter. The filter keeps the memory alive.
   */
  static fromShared(memory: SharedArrayBuffer | ArrayBufferView, capacity: number, errorRate: number): BloomFilter;
  /** A new zeroed SharedArrayBuffer of the right size, wrapped: pass `sharedMemory` to workers. */
  static createShared(capacity: number, errorRate: number): BloomFilter;
  /** Sizing for (capacity, errorRate), with the same checks as the constructor. */
  static params(capacity: number, errorRate: number): BloomFilterParams;
}

/** Sizing of a dedup window, as `DedupWindow.params` derives it (docs/bloom-format.md, "Fingerprint table"). */
export interface DedupWindowParams {
  capacity: number;
  errorRate: number;
  /** m of each generation's filter. */
  bitCount: number;
  /** k of each generation's filter. */
  hashCount: number;
  /** Slots of each generation's fingerprint table: ceil(4 · capacity / 3). */
  tableSlots: number;
  /** Most fingerprints a table accepts: floor(7 · tableSlots / 8). */
  tableLimit: number;
  /** bitCount / 8 + 8 · (tableSlots + 1). */
  generationByteLength: number;
  /** 2 · generationByteLength. */
  byteLength: number;
}

/** One generation's figures (`DedupWindow.stats`). */
export interface DedupWindowGenerationStats {
  insertions: number;
  exact: boolean;
  tableLength: number;
  tableSlots: number;
  fillRatio: number;
  estimatedFalsePositiveRate: number;
}

export interface DedupWindowStats {
  active: DedupWindowGenerationStats;
  previous: DedupWindowGenerationStats;
  /** Checks where a filter said "maybe" and the exact tables said no (answered 0). */
  falsePositives: number;
  /** Checks answered 2. */
  unconfirmed: number;
  /** Records refused by a full table. */
  overflows: number;
}

/** One generation, as exported. */
export interface DedupWindowGeneration {
  /** Bloom filter snapshot (format version 1). */
  bloom: Buffer;
  /** Fingerprint table snapshot (format version 1). */
  table: Buffer;
  insertions: number;
  exact: boolean;
}

/**
 * The exact dedup window: two generations, each a Bloom filter plus a fingerprint table of the
 * keys' XXH64. Rules and formats: docs/bloom-format.md ("Dedup window").
 *
 * Answers are small integers: `check` → 0 new, 1 duplicate, 2 unconfirmed; `record` → bits
 * 4 inserted (new to the active generation), 8 overflow (its table was full; it is now inexact),
 * 16 at capacity (rotate); `observe` → the verdict | the record bits.
 *
 * Errors: `TypeError` (`ERR_INVALID_ARG_TYPE`) and `RangeError` (`ERR_OUT_OF_RANGE`) for bad
 * arguments (capacity at most 3 · 2^30); on restore, `Error` with code `ERR_BLOOM_SNAPSHOT` (a bad
 * filter snapshot), `ERR_FINGERPRINT_SNAPSHOT` (a bad table snapshot) or `ERR_WINDOW_SNAPSHOT` (parts
 * that do not fit together). A failed call changes nothing.
 */
export declare class DedupWindow {
  /** `capacity`: keys per generation, integer 1..3·2^30; `errorRate`: 0 < p < 1. */
  constructor(capacity: number, errorRate: number);

  /** Always `'native'` (on the prototype). */
  readonly kind: 'native';
  readonly capacity: number;
  readonly errorRate: number;
  readonly bitCount: number;
  readonly hashCount: number;
  readonly tableSlots: number;
  readonly tableLimit: number;
  /** Bytes of both generations. */
  readonly byteLength: number;

  /** 0 new, 1 duplicate, 2 unconfirmed; records nothing. */
  check(key: BloomKey): 0 | 1 | 2;
  /** Writes the key into the active generation (duplicates too); the record bits. */
  record(key: BloomKey): number;
  /** check then record: verdict | record bits. */
  observe(key: BloomKey): number;
  /** previous ← active; active ← the old previous, cleared in place. */
  rotate(): void;
  activeInsertions(): number;
  stats(): DedupWindowStats;
  exportGeneration(which: 'active' | 'previous'): DedupWindowGeneration;

  /**
   * A window from two exported generations. `table: null` (with `exact: false`) restores a
   * generation saved before tables existed: its keys answer 2 until it is rotated out.
   */
  static fromGenerations(
    active: { bloom: Uint8Array; table: Uint8Array | null; insertions: number; exact: boolean },
    previous: { bloom: Uint8Array; table: Uint8Array | null; insertions: number; exact: boolean },
  ): DedupWindow;
  /** Sizing for (capacity, errorRate), with the constructor's checks. */
  static params(capacity: number, errorRate: number): DedupWindowParams;
}

/**
 * Webhook signature check: true when `signatureHex` is exactly 64 hex digits (either case)
 * equal, in constant time, to HMAC-SHA256(key, prefix ‖ message). `prefix` (a string, as
 * UTF-8, or bytes; at most 64 bytes, else RangeError) is `"<timestamp>."` for signed
 * timestamps. TypeError for any argument of the wrong type.
 */
export declare function hmacSha256Verify(key: Uint8Array, message: Uint8Array, signatureHex: string, prefix?: string | Uint8Array): boolean;
/** Lowercase hex HMAC-SHA256(key, prefix ‖ message). */
export declare function hmacSha256Hex(key: Uint8Array, message: Uint8Array, prefix?: string | Uint8Array): string;
