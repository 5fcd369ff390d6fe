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

/** Builds filters of one implementation; obtained once, then used synchronously. */
export interface BloomFactory {
  readonly kind: BloomKind;
  create(capacity: number, errorRate: number): BloomFilterLike;
  /** Throws a clear Error (never crashes) on a truncated, corrupted or foreign image. */
  fromBuffer(image: Uint8Array): BloomFilterLike;
}
