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
    Snapshot(SnapshotError),
}

/// Why a snapshot (docs/bloom-format.md, format version 1) was rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotError {
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
            BloomError::Snapshot(e) => write!(f, "invalid Bloom filter snapshot: {e}"),
        }
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Truncated { len } => {
                write!(f, "truncated: {len} bytes, shorter than the 48-byte header")
            }
            SnapshotError::BadMagic => write!(f, "bad magic (expected \"CXBLOOM\\0\")"),
            SnapshotError::UnsupportedVersion(v) => {
                write!(f, "unsupported format version {v} (expected 1)")
            }
            SnapshotError::UnsupportedHashId(h) => {
                write!(f, "unsupported hash id {h} (expected 2)")
            }
            SnapshotError::InvalidBitCount(m) => write!(
                f,
                "bit count {m} is not a non-zero multiple of 64 up to 2^34"
            ),
            SnapshotError::InvalidHashCount(k) => {
                write!(f, "hash count {k} is outside 1..=64")
            }
            SnapshotError::InvalidCapacity(n) => {
                write!(f, "capacity {n} is outside 1..=2^53-1")
            }
            SnapshotError::InvalidErrorRate(p) => {
                write!(f, "error rate {p} is not a finite number in (0, 1)")
            }
            SnapshotError::LengthMismatch { expected, actual } => write!(
                f,
                "length mismatch: {actual} bytes, expected 48 + m/8 = {expected}"
            ),
            SnapshotError::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#018x}, computed {computed:#018x}): the data is corrupted"
            ),
        }
    }
}

impl std::error::Error for BloomError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BloomError::Snapshot(e) => Some(e),
            _ => None,
        }
    }
}

impl std::error::Error for SnapshotError {}

impl From<SnapshotError> for BloomError {
    fn from(e: SnapshotError) -> Self {
        BloomError::Snapshot(e)
    }
}
