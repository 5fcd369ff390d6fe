//! Everything that can go wrong when sizing, building or loading a filter.

use std::fmt;

/// Why a filter could not be sized or built.
#[derive(Debug, Clone, PartialEq)]
pub enum BloomError {
    /// Capacity outside `1..=2^53-1`.
    InvalidCapacity(u64),
    /// Error rate not finite or outside `(0, 1)`.
    InvalidErrorRate(f64),
    /// The bit array would exceed [`crate::MAX_BITS`]. `bits` is the requested size
    /// (as a float: it can exceed `u64`'s range only in theory, never with valid inputs).
    TooManyBits { bits: f64, max: u64 },
    /// The rule for k gives more than [`crate::MAX_HASHES`] hash functions.
    TooManyHashes { hashes: u64, max: u32 },
    /// Caller-provided storage does not have exactly `m / 64` words.
    StorageLength { expected_words: usize, actual_words: usize },
    /// The allocator refused the bit array.
    OutOfMemory { bytes: u64 },
    /// A snapshot was rejected; the filter it would have replaced is untouched.
    Image(ImageError),
}

/// Why a snapshot (docs/bloom-format.md, format version 1) was rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageError {
    /// Shorter than the 48-byte header.
    Truncated { len: usize },
    /// The first 8 bytes are not `CXBLOOM\0`.
    BadMagic,
    UnsupportedVersion(u16),
    UnsupportedHashId(u16),
    /// m is 0, not a multiple of 64, or above `MAX_BITS`.
    InvalidBitCount(u64),
    /// k outside `1..=64`.
    InvalidHashCount(u32),
    InvalidCapacity(u64),
    InvalidErrorRate(f64),
    /// Total length is not `48 + m / 8`.
    LengthMismatch { expected: u64, actual: usize },
    ChecksumMismatch { stored: u64, computed: u64 },
}

impl fmt::Display for BloomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BloomError::InvalidCapacity(n) => write!(
                f,
                "capacity must be an integer from 1 to 2^53-1, got {n}"
            ),
            BloomError::InvalidErrorRate(p) => write!(
                f,
                "error rate must be a finite number with 0 < p < 1, got {p}"
            ),
            BloomError::TooManyBits { bits, max } => write!(
                f,
                "filter would need {bits} bits, above the maximum of {max} (2^34); lower the capacity or raise the error rate"
            ),
            BloomError::TooManyHashes { hashes, max } => write!(
                f,
                "filter would need {hashes} hash functions, above the maximum of {max}; raise the error rate"
            ),
            BloomError::StorageLength { expected_words, actual_words } => write!(
                f,
                "storage has {actual_words} 64-bit words ({} bytes) but the filter needs exactly {expected_words} ({} bytes)",
                *actual_words as u64 * 8,
                *expected_words as u64 * 8
            ),
            BloomError::OutOfMemory { bytes } => {
                write!(f, "could not allocate {bytes} bytes for the filter's bits")
            }
            BloomError::Image(e) => write!(f, "invalid Bloom filter snapshot: {e}"),
        }
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Truncated { len } => {
                write!(f, "truncated: {len} bytes, shorter than the 48-byte header")
            }
            ImageError::BadMagic => write!(f, "bad magic (expected \"CXBLOOM\\0\")"),
            ImageError::UnsupportedVersion(v) => {
                write!(f, "unsupported format version {v} (expected 1)")
            }
            ImageError::UnsupportedHashId(h) => {
                write!(f, "unsupported hash id {h} (expected 2)")
            }
            ImageError::InvalidBitCount(m) => write!(
                f,
                "bit count {m} is not a non-zero multiple of 64 up to 2^34"
            ),
            ImageError::InvalidHashCount(k) => {
                write!(f, "hash count {k} is outside 1..=64")
            }
            ImageError::InvalidCapacity(n) => {
                write!(f, "capacity {n} is outside 1..=2^53-1")
            }
            ImageError::InvalidErrorRate(p) => {
                write!(f, "error rate {p} is not a finite number in (0, 1)")
            }
            ImageError::LengthMismatch { expected, actual } => write!(
                f,
                "length mismatch: {actual} bytes, expected 48 + m/8 = {expected}"
            ),
            ImageError::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#018x}, computed {computed:#018x}): the data is corrupted"
            ),
        }
    }
}

impl std::error::Error for BloomError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BloomError::Image(e) => Some(e),
            _ => None,
        }
    }
}

impl std::error::Error for ImageError {}

impl ImageError {
    /// The rejection's name, the same from the TypeScript reader (`BloomSnapshotError.reason`).
    pub fn reason(&self) -> &'static str {
        match self {
            ImageError::Truncated { .. } => "truncated",
            ImageError::BadMagic => "bad_magic",
            ImageError::UnsupportedVersion(_) => "bad_version",
            ImageError::UnsupportedHashId(_) => "bad_hash_id",
            ImageError::InvalidBitCount(_) => "bad_bit_count",
            ImageError::InvalidHashCount(_) => "bad_hash_count",
            ImageError::InvalidCapacity(_) => "bad_capacity",
            ImageError::InvalidErrorRate(_) => "bad_error_rate",
            ImageError::LengthMismatch { .. } => "bad_length",
            ImageError::ChecksumMismatch { .. } => "bad_checksum",
        }
    }
}

impl From<ImageError> for BloomError {
    fn from(e: ImageError) -> Self {
        BloomError::Image(e)
    }
}

/// Why a fingerprint table could not be sized or built.
#[derive(Debug, Clone, PartialEq)]
pub enum TableError {
    /// Capacity outside `1..=`[`crate::MAX_TABLE_CAPACITY`].
    InvalidCapacity(u64),
    /// Slot count outside `1..=`[`crate::MAX_SLOTS`].
    InvalidSlotCount(u64),
    /// Caller-provided storage does not have exactly `slots + 1` words.
    StorageLength { expected_words: u64, actual_words: usize },
    /// The allocator refused the slots.
    OutOfMemory { bytes: u64 },
    /// A snapshot was rejected; nothing was built.
    Image(TableImageError),
}

/// Why a fingerprint table snapshot (docs/bloom-format.md, "Fingerprint table snapshot") was
/// rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum TableImageError {
    /// Shorter than the 40-byte header.
    Truncated { len: usize },
    /// The first 8 bytes are not `CXFPTBL\0`.
    BadMagic,
    UnsupportedVersion(u16),
    UnsupportedHashId(u16),
    /// The reserved header field is not 0.
    NonZeroReserved(u32),
    /// Slot count 0 or above `MAX_SLOTS`.
    InvalidSlotCount(u64),
    /// The stored count exceeds what a table of this many slots may hold.
    TooManyEntries { count: u64, limit: u64 },
    /// Total length is not `40 + 8 * slots`.
    LengthMismatch { expected: u64, actual: usize },
    ChecksumMismatch { stored: u64, computed: u64 },
    /// The number of non-empty slots differs from the stored count.
    CountMismatch { stored: u64, counted: u64 },
    /// A fingerprint sits where linear probing from its home slot could not have put it
    /// (an empty slot lies between them), so lookups would miss it.
    Misplaced { slot: u64, home: u64 },
}

/// Why a dedup window (or one of its generations) could not be built or restored.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowError {
    /// Sizing, or a Bloom filter snapshot, was rejected.
    Bloom(BloomError),
    /// A fingerprint table, or its snapshot, was rejected.
    Table(TableError),
    /// Capacity above what a fingerprint table can index ([`crate::MAX_TABLE_CAPACITY`]).
    CapacityTooLarge { capacity: u64, max: u64 },
    /// The table's slot count is not the one the filter's capacity calls for.
    TableSizeMismatch { slots: u64, expected: u64 },
    /// The two generations were sized differently.
    GenerationMismatch { active: String, previous: String },
    /// A generation restored without a table cannot be exact.
    ExactWithoutTable,
    /// The insertion count contradicts the table: an exact generation has exactly as many
    /// insertions as fingerprints, an inexact one at least as many; at most 2^53 - 1.
    InsertionCount { insertions: u64, fingerprints: u64, exact: bool },
    /// A stored fingerprint whose Bloom bits are not all set: table and filter are not from
    /// the same generation.
    TableNotInFilter { slot: u64 },
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::InvalidCapacity(n) => write!(
                f,
                "fingerprint table capacity must be an integer from 1 to {} (3 * 2^30), got {n}",
                crate::MAX_TABLE_CAPACITY
            ),
            TableError::InvalidSlotCount(s) => write!(
                f,
                "fingerprint table slot count must be from 1 to 2^32, got {s}"
            ),
            TableError::StorageLength { expected_words, actual_words } => write!(
                f,
                "storage has {actual_words} 64-bit words but the table needs exactly {expected_words} (slots + 1)"
            ),
            TableError::OutOfMemory { bytes } => {
                write!(f, "could not allocate {bytes} bytes for the fingerprint table")
            }
            TableError::Image(e) => write!(f, "invalid fingerprint table snapshot: {e}"),
        }
    }
}

impl fmt::Display for TableImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableImageError::Truncated { len } => {
                write!(f, "truncated: {len} bytes, shorter than the 40-byte header")
            }
            TableImageError::BadMagic => write!(f, "bad magic (expected \"CXFPTBL\\0\")"),
            TableImageError::UnsupportedVersion(v) => {
                write!(f, "unsupported format version {v} (expected 1)")
            }
            TableImageError::UnsupportedHashId(h) => {
                write!(f, "unsupported hash id {h} (expected 2)")
            }
            TableImageError::NonZeroReserved(r) => {
                write!(f, "reserved field is {r:#x}, expected 0")
            }
            TableImageError::InvalidSlotCount(s) => {
                write!(f, "slot count {s} is outside 1..=2^32")
            }
            TableImageError::TooManyEntries { count, limit } => write!(
                f,
                "count {count} is above the {limit} fingerprints a table of this size may hold"
            ),
            TableImageError::LengthMismatch { expected, actual } => write!(
                f,
                "length mismatch: {actual} bytes, expected 40 + 8 * slots = {expected}"
            ),
            TableImageError::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#018x}, computed {computed:#018x}): the data is corrupted"
            ),
            TableImageError::CountMismatch { stored, counted } => write!(
                f,
                "header says {stored} fingerprints but {counted} slots are occupied"
            ),
            TableImageError::Misplaced { slot, home } => write!(
                f,
                "the fingerprint in slot {slot} cannot be reached from its home slot {home} (an empty slot lies between)"
            ),
        }
    }
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::Bloom(e) => e.fmt(f),
            WindowError::Table(e) => e.fmt(f),
            WindowError::CapacityTooLarge { capacity, max } => write!(
                f,
                "capacity {capacity} is above the dedup window's maximum of {max} (3 * 2^30) keys per generation"
            ),
            WindowError::TableSizeMismatch { slots, expected } => write!(
                f,
                "the fingerprint table has {slots} slots, but the filter's capacity calls for {expected}: table and filter do not belong together"
            ),
            WindowError::GenerationMismatch { active, previous } => write!(
                f,
                "the two generations are sized differently (active: {active}; previous: {previous})"
            ),
            WindowError::ExactWithoutTable => {
                write!(f, "a generation restored without a fingerprint table cannot be exact")
            }
            WindowError::InsertionCount { insertions, fingerprints, exact } => {
                if *exact {
                    write!(f, "an exact generation must count as many insertions as its table holds fingerprints ({fingerprints}), got {insertions}")
                } else {
                    write!(f, "insertions must be from {fingerprints} (the fingerprints in the table) to 2^53-1, got {insertions}")
                }
            }
            WindowError::TableNotInFilter { slot } => write!(
                f,
                "the fingerprint in table slot {slot} is not in the Bloom filter: table and filter are not from the same generation"
            ),
        }
    }
}

impl std::error::Error for TableError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TableError::Image(e) => Some(e),
            _ => None,
        }
    }
}

impl std::error::Error for TableImageError {}

impl TableImageError {
    /// The rejection's name, the same from the TypeScript reader (`FingerprintSnapshotError.reason`).
    pub fn reason(&self) -> &'static str {
        match self {
            TableImageError::Truncated { .. } => "truncated",
            TableImageError::BadMagic => "bad_magic",
            TableImageError::UnsupportedVersion(_) => "bad_version",
            TableImageError::UnsupportedHashId(_) => "bad_hash_id",
            TableImageError::NonZeroReserved(_) => "bad_reserved",
            TableImageError::InvalidSlotCount(_) => "bad_slot_count",
            TableImageError::TooManyEntries { .. } => "too_many_entries",
            TableImageError::LengthMismatch { .. } => "bad_length",
            TableImageError::ChecksumMismatch { .. } => "bad_checksum",
            TableImageError::CountMismatch { .. } => "bad_count",
            TableImageError::Misplaced { .. } => "misplaced",
        }
    }
}

impl WindowError {
    /// For generations that do not fit together, the rejection's name, the same from the
    /// TypeScript window (`WindowSnapshotError.reason`); None for the other errors.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            WindowError::TableSizeMismatch { .. } => Some("table_size_mismatch"),
            WindowError::GenerationMismatch { .. } => Some("generation_mismatch"),
            WindowError::ExactWithoutTable => Some("exact_without_table"),
            WindowError::InsertionCount { .. } => Some("insertion_count"),
            WindowError::TableNotInFilter { .. } => Some("table_not_in_filter"),
            WindowError::Bloom(_) | WindowError::Table(_) | WindowError::CapacityTooLarge { .. } => None,
        }
    }
}

impl std::error::Error for WindowError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WindowError::Bloom(e) => Some(e),
            WindowError::Table(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TableImageError> for TableError {
    fn from(e: TableImageError) -> Self {
        TableError::Image(e)
    }
}

impl From<BloomError> for WindowError {
    fn from(e: BloomError) -> Self {
        WindowError::Bloom(e)
    }
}

impl From<TableError> for WindowError {
    fn from(e: TableError) -> Self {
        WindowError::Table(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_rejection_has_its_own_reason() {
        let bloom = [
            ImageError::Truncated { len: 0 },
            ImageError::BadMagic,
            ImageError::UnsupportedVersion(2),
            ImageError::UnsupportedHashId(1),
            ImageError::InvalidBitCount(0),
            ImageError::InvalidHashCount(0),
            ImageError::InvalidCapacity(0),
            ImageError::InvalidErrorRate(1.0),
            ImageError::LengthMismatch { expected: 1, actual: 0 },
            ImageError::ChecksumMismatch { stored: 0, computed: 1 },
        ];
        assert_eq!(bloom.iter().map(|e| e.reason()).collect::<HashSet<_>>().len(), bloom.len());
        let table = [
            TableImageError::Truncated { len: 0 },
            TableImageError::BadMagic,
            TableImageError::UnsupportedVersion(2),
            TableImageError::UnsupportedHashId(1),
            TableImageError::NonZeroReserved(1),
            TableImageError::InvalidSlotCount(0),
            TableImageError::TooManyEntries { count: 2, limit: 1 },
            TableImageError::LengthMismatch { expected: 1, actual: 0 },
            TableImageError::ChecksumMismatch { stored: 0, computed: 1 },
            TableImageError::CountMismatch { stored: 1, counted: 0 },
            TableImageError::Misplaced { slot: 1, home: 0 },
        ];
        assert_eq!(table.iter().map(|e| e.reason()).collect::<HashSet<_>>().len(), table.len());
        let window = [
            WindowError::TableSizeMismatch { slots: 1, expected: 2 },
            WindowError::GenerationMismatch { active: String::new(), previous: String::new() },
            WindowError::ExactWithoutTable,
            WindowError::InsertionCount { insertions: 0, fingerprints: 1, exact: true },
            WindowError::TableNotInFilter { slot: 0 },
        ];
        let reasons = window.iter().map(|e| e.reason()).collect::<Option<HashSet<_>>>().expect("every fit error has a reason");
        assert_eq!(reasons.len(), window.len());
        assert_eq!(WindowError::CapacityTooLarge { capacity: 1, max: 0 }.reason(), None);
        assert_eq!(WindowError::Bloom(BloomError::Image(ImageError::BadMagic)).reason(), None);
    }
}
