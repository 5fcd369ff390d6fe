/**
 * The small integers a dedup window answers with (WindowLike.check / record / observe), the same
 * from the native addon and the fallback. A verdict sits in bits 0–1, record flags above it, so
 * `observe` returns both in one number.
 */

/** Not recorded within the window. */
export const VERDICT_NEW = 0;
/** Recorded within the window. */
export const VERDICT_DUPLICATE = 1;
/** A Bloom "maybe" from an inexact generation (its table overflowed, or it was restored without one). */
export const VERDICT_UNCONFIRMED = 2;
/** `observe(key) & VERDICT_MASK` is the verdict. */
export const VERDICT_MASK = 3;

/** The key was not in the active generation before this record. */
export const RECORD_INSERTED = 4;
/** The active table was full: the key is in its Bloom filter only, and the generation is now inexact. */
export const RECORD_OVERFLOW = 8;
/** The active generation now counts at least `capacity` insertions: time to rotate. */
export const RECORD_AT_CAPACITY = 16;
