/**
 * The errors for rejected images, one class each, thrown alike by the native addon (which the
 * loader hands these classes, loader.ts) and by the fallback: `err instanceof BloomSnapshotError`
 * and `err.code` do not depend on which implementation read the bytes. `code` is the Node-style
 * code of the class; `reason` says which check failed, the same names from both.
 */

/** Why a filter image was rejected (docs/bloom-format.md, "Snapshot format"). */
export type BloomImageReason =
  | 'truncated'
  | 'bad_magic'
  | 'bad_version'
  | 'bad_hash_id'
  | 'bad_bit_count'
  | 'bad_hash_count'
  | 'bad_capacity'
  | 'bad_error_rate'
  | 'bad_length'
  | 'bad_checksum';

/** Why a fingerprint table image was rejected (docs/bloom-format.md, "Fingerprint table snapshot"). */
export type TableImageReason =
  | 'truncated'
  | 'bad_magic'
  | 'bad_version'
  | 'bad_hash_id'
  | 'bad_reserved'
  | 'bad_slot_count'
  | 'too_many_entries'
  | 'bad_length'
  | 'bad_checksum'
  | 'bad_count'
  | 'misplaced';

/** Why two generations do not make a window (docs/bloom-format.md, "Dedup window"). */
export type WindowRestoreReason =
  | 'table_size_mismatch'
  | 'generation_mismatch'
  | 'exact_without_table'
  | 'insertion_count'
  | 'table_not_in_filter';

/** A filter image was rejected: truncated, corrupted or foreign. Nothing was built. */
export class BloomSnapshotError extends Error {
  override readonly name = 'BloomSnapshotError';
  readonly code = 'ERR_BLOOM_SNAPSHOT';
  constructor(
    readonly reason: BloomImageReason,
    message: string,
  ) {
    super(message);
  }
}

/** A fingerprint table image was rejected. Nothing was built. */
export class FingerprintSnapshotError extends Error {
  override readonly name = 'FingerprintSnapshotError';
  readonly code = 'ERR_FINGERPRINT_SNAPSHOT';
  constructor(
    readonly reason: TableImageReason,
    message: string,
  ) {
    super(message);
  }
}

/** Two restored generations do not fit together (or one contradicts itself). Nothing was built. */
export class WindowSnapshotError extends Error {
  override readonly name = 'WindowSnapshotError';
  readonly code = 'ERR_WINDOW_SNAPSHOT';
  constructor(
    readonly reason: WindowRestoreReason,
    message: string,
  ) {
    super(message);
  }
}
