/**
 * Sizing of a Bloom filter from (capacity, errorRate), exactly as docs/bloom-format.md says, so
 * the native and the fallback filters derive the same m and k; the dedup window's table sizing.
 * Also the validators the image reader and the filters share for explicit (m, k).
 */
import type { BloomParams, WindowParams } from './types.js';

/** Largest bit count m: 2^34 bits, 2 GiB of storage. */
export const MAX_BITS = 2 ** 34;
/** Largest hash count k. */
export const MAX_HASHES = 64;
/** Largest capacity: a JS safe integer. */
export const MAX_CAPACITY = Number.MAX_SAFE_INTEGER;
/** The hashing scheme of docs/bloom-format.md (XXH64 seed 0, double hashing, step from the high half). */
export const HASH_ID = 2;

// Evaluation order matters for bit-exact agreement with the Rust side: (-n * ln p) / (ln2 * ln2).
const LN2_SQUARED = Math.LN2 * Math.LN2;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** Throws TypeError/RangeError unless `capacity` is an integer in 1..=2^53-1. */
export function validateCapacity(capacity: unknown, name = 'capacity'): asserts capacity is number {
  if (typeof capacity !== 'number') {
    throw new TypeError(`${name} must be a number, got ${typeof capacity} ${describe(capacity)}`);
  }
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`${name} must be an integer between 1 and 2^53-1, got ${describe(capacity)}`);
  }
}

/** Throws TypeError/RangeError unless `errorRate` is a finite number with 0 < p < 1. */
export function validateErrorRate(errorRate: unknown, name = 'errorRate'): asserts errorRate is number {
  if (typeof errorRate !== 'number') {
    throw new TypeError(`${name} must be a number, got ${typeof errorRate} ${describe(errorRate)}`);
  }
  if (!Number.isFinite(errorRate) || errorRate <= 0 || errorRate >= 1) {
    throw new RangeError(`${name} must be a finite number strictly between 0 and 1, got ${describe(errorRate)}`);
  }
}

/** Throws TypeError/RangeError unless `bitCount` is a multiple of 64 in 64..=2^34. */
export function validateBitCount(bitCount: unknown, name = 'bitCount'): asserts bitCount is number {
  if (typeof bitCount !== 'number') {
    throw new TypeError(`${name} must be a number, got ${typeof bitCount} ${describe(bitCount)}`);
  }
  if (!Number.isSafeInteger(bitCount) || bitCount < 64 || bitCount > MAX_BITS || bitCount % 64 !== 0) {
    throw new RangeError(`${name} must be a multiple of 64 between 64 and 2^34, got ${describe(bitCount)}`);
  }
}

/** Throws TypeError/RangeError unless `hashCount` is an integer in 1..=64. */
export function validateHashCount(hashCount: unknown, name = 'hashCount'): asserts hashCount is number {
  if (typeof hashCount !== 'number') {
    throw new TypeError(`${name} must be a number, got ${typeof hashCount} ${describe(hashCount)}`);
  }
  if (!Number.isInteger(hashCount) || hashCount < 1 || hashCount > MAX_HASHES) {
    throw new RangeError(`${name} must be an integer between 1 and ${MAX_HASHES}, got ${describe(hashCount)}`);
  }
}

/**
 * m and k for capacity n and false-positive rate p (docs/bloom-format.md, "Sizing").
 * TypeError for a non-number, RangeError for a bad value or a filter beyond MAX_BITS / MAX_HASHES.
 */
export function computeBloomParams(capacity: unknown, errorRate: unknown): BloomParams {
  validateCapacity(capacity);
  validateErrorRate(errorRate);
  const mRaw = Math.ceil((-capacity * Math.log(errorRate)) / LN2_SQUARED);
  const bitCount = Math.ceil(mRaw / 64) * 64;
  if (!(bitCount <= MAX_BITS)) {
    throw new RangeError(
      `capacity ${capacity} with errorRate ${errorRate} needs ${bitCount} bits, above the maximum of 2^34 (${MAX_BITS}) bits; ` +
        'lower the capacity or raise the errorRate',
    );
  }
  // Math.round is half-up, Rust's f64::round half away from zero: the same for positive values.
  const hashCount = Math.max(1, Math.round((bitCount / capacity) * Math.LN2));
  if (hashCount > MAX_HASHES) {
    throw new RangeError(
      `errorRate ${errorRate} needs ${hashCount} hash functions, above the maximum of ${MAX_HASHES}; raise the errorRate`,
    );
  }
  return { capacity, errorRate, bitCount, hashCount, byteLength: bitCount / 8 };
}

/** Largest fingerprint table: 2^32 slots (keeps the home-slot arithmetic exact in doubles). */
export const MAX_TABLE_SLOTS = 2 ** 32;
/** Largest dedup window capacity per generation: its table takes 4/3 slots per key, at most 2^32. */
export const MAX_WINDOW_CAPACITY = 3 * 2 ** 30;

/** Fingerprint table slots for `capacity` keys at load 3/4: ceil(4n / 3) (docs/bloom-format.md, "Fingerprint table"). */
export function tableSlotsFor(capacity: number): number {
  const x = 4 * capacity + 2; // exact: capacity <= 3 * 2^30
  return (x - (x % 3)) / 3;
}

/** The most fingerprints a table of `slots` slots accepts: floor(7 * slots / 8). */
export function tableLimitFor(slots: number): number {
  return Math.floor((7 * slots) / 8);
}

/**
 * Sizing of a dedup window (two generations of filter + fingerprint table) for capacity n and
 * false-positive rate p; the filter's checks, plus n <= MAX_WINDOW_CAPACITY (RangeError).
 */
export function computeWindowParams(capacity: unknown, errorRate: unknown): WindowParams {
  const bloom = computeBloomParams(capacity, errorRate);
  if (bloom.capacity > MAX_WINDOW_CAPACITY) {
    throw new RangeError(
      `capacity ${bloom.capacity} is above the dedup window's maximum of ${MAX_WINDOW_CAPACITY} (3 * 2^30) keys per generation`,
    );
  }
  const tableSlots = tableSlotsFor(bloom.capacity);
  const generationByteLength = bloom.byteLength + 8 * (tableSlots + 1);
  return {
    capacity: bloom.capacity,
    errorRate: bloom.errorRate,
    bitCount: bloom.bitCount,
    hashCount: bloom.hashCount,
    tableSlots,
    tableLimit: tableLimitFor(tableSlots),
    generationByteLength,
    byteLength: 2 * generationByteLength,
  };
}
