/**
 * Types of the native addon `cxone-dedup.<platform>.node` (hand-written: the class is
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

/**
 * Webhook signature check: true when `signatureHex` is exactly 64 hex digits (either case)
 * equal, in constant time, to HMAC-SHA256(key, prefix ‖ message). `prefix` (a string, as
 * UTF-8, or bytes; at most 64 bytes, else RangeError) is `"<timestamp>."` for signed
 * timestamps. TypeError for any argument of the wrong type.
 */
export declare function hmacSha256Verify(key: Uint8Array, message: Uint8Array, signatureHex: string, prefix?: string | Uint8Array): boolean;
/** Lowercase hex HMAC-SHA256(key, prefix ‖ message). */
export declare function hmacSha256Hex(key: Uint8Array, message: Uint8Array, prefix?: string | Uint8Array): string;
