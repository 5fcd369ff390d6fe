//! Sizing: capacity n and error rate p to bit count m and hash count k (docs/bloom-format.md).

use crate::error::BloomError;
use std::f64::consts::LN_2;

/// Largest bit count, 2^34 bits (2 GiB of storage).
pub const MAX_BITS: u64 = 1 << 34;
/// Largest hash count.
pub const MAX_HASHES: u32 = 64;
/// Largest capacity, 2^53 - 1 (the largest JS safe integer).
pub const MAX_CAPACITY: u64 = (1 << 53) - 1;

/// The derived shape of a filter. Construct with [`Params::new`] (sizing rules) or
/// [`Params::from_parts`] (explicit m and k, as stored in a snapshot).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    capacity: u64,
    error_rate: f64,
    bit_count: u64,
    hash_count: u32,
}

/// True for a finite `p` with `0 < p < 1` (NaN fails every comparison).
pub(crate) fn valid_error_rate(p: f64) -> bool {
    p > 0.0 && p < 1.0
}

pub(crate) fn valid_capacity(n: u64) -> bool {
    (1..=MAX_CAPACITY).contains(&n)
}

pub(crate) fn valid_bit_count(m: u64) -> bool {
    m != 0 && m % 64 == 0 && m <= MAX_BITS
}

pub(crate) fn valid_hash_count(k: u32) -> bool {
    (1..=MAX_HASHES).contains(&k)
}

impl Params {
    /// Sizes a filter for `capacity` keys at false-positive rate `error_rate`:
    /// `m = ceil(ceil(-n ln p / ln²2) / 64) * 64`, `k = max(1, round(m/n · ln 2))`.
    pub fn new(capacity: u64, error_rate: f64) -> Result<Self, BloomError> {
        if !valid_capacity(capacity) {
            return Err(BloomError::InvalidCapacity(capacity));
        }
        if !valid_error_rate(error_rate) {
            return Err(BloomError::InvalidErrorRate(error_rate));
        }
        let n = capacity as f64; // exact: capacity <= 2^53 - 1
        // Same operation order as the TS fallback: (-n * ln p) / (ln2 * ln2).
        let m_raw = (-n * error_rate.ln() / (LN_2 * LN_2)).ceil();
        // Checked as a float first so the cast below can neither saturate nor wrap.
        if !(m_raw <= MAX_BITS as f64) {
            return Err(BloomError::TooManyBits { bits: m_raw, max: MAX_BITS });
        }
        // m_raw >= 1 here: n >= 1 and ln p < 0, so the quotient is positive.
        let m_raw = m_raw as u64;
        let bit_count = m_raw.div_ceil(64) * 64;
        if bit_count > MAX_BITS {
            return Err(BloomError::TooManyBits { bits: bit_count as f64, max: MAX_BITS });
        }
        // f64::round rounds half away from zero, as the spec asks.
        let k = ((bit_count as f64 / n) * LN_2).round().max(1.0);
        if k > MAX_HASHES as f64 {
            return Err(BloomError::TooManyHashes { hashes: k as u64, max: MAX_HASHES });
        }
        Ok(Params { capacity, error_rate, bit_count, hash_count: k as u32 })
    }

    /// Params with explicit m and k (snapshots store them; they are never re-derived).
    pub fn from_parts(
        capacity: u64,
        error_rate: f64,
        bit_count: u64,
        hash_count: u32,
    ) -> Result<Self, BloomError> {
        if !valid_capacity(capacity) {
            return Err(BloomError::InvalidCapacity(capacity));
        }
        if !valid_error_rate(error_rate) {
            return Err(BloomError::InvalidErrorRate(error_rate));
        }
        if !valid_bit_count(bit_count) {
            return Err(BloomError::TooManyBits { bits: bit_count as f64, max: MAX_BITS });
        }
        if !valid_hash_count(hash_count) {
            return Err(BloomError::TooManyHashes { hashes: hash_count as u64, max: MAX_HASHES });
        }
        Ok(Params { capacity, error_rate, bit_count, hash_count })
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }
    pub fn error_rate(&self) -> f64 {
        self.error_rate
    }
    /// m, a non-zero multiple of 64, at most [`MAX_BITS`].
    pub fn bit_count(&self) -> u64 {
        self.bit_count
    }
    /// k, in `1..=64`.
    pub fn hash_count(&self) -> u32 {
        self.hash_count
    }
    /// m / 64.
    pub fn word_count(&self) -> usize {
        (self.bit_count / 64) as usize
    }
    /// m / 8.
    pub fn byte_length(&self) -> u64 {
        self.bit_count / 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_million_at_one_in_a_thousand() {
        // m_raw = ceil(1e6 * 6.907755 / 0.480453) = 14_377_588 -> 14_377_600 (224_650 words)
        let p = Params::new(1_000_000, 0.001).unwrap();
        assert_eq!(p.bit_count(), 14_377_600);
        assert_eq!(p.hash_count(), 10);
        assert_eq!(p.word_count(), 224_650);
        assert_eq!(p.byte_length(), 1_797_200);
    }

    #[test]
    fn one_million_at_one_in_a_hundred() {
        let p = Params::new(1_000_000, 0.01).unwrap();
        // m_raw = ceil(9_585_058.37...) = 9_585_059 -> 9_585_088
        assert_eq!(p.bit_count(), 9_585_088);
        assert_eq!(p.hash_count(), 7);
    }

    #[test]
    fn rounds_up_to_whole_words() {
        // n = 1, p = 0.5: m_raw = ceil(1.44) = 2 -> 64 bits; k = round(64 ln 2) = 44
        let p = Params::new(1, 0.5).unwrap();
        assert_eq!(p.bit_count(), 64);
        assert_eq!(p.hash_count(), 44);
        for (n, e) in [(7u64, 0.1), (1000, 0.02), (12345, 0.0001), (3, 0.9)] {
            let p = Params::new(n, e).unwrap();
            let m_raw = (-(n as f64) * e.ln() / (LN_2 * LN_2)).ceil() as u64;
            assert_eq!(p.bit_count() % 64, 0);
            assert!(p.bit_count() >= m_raw && p.bit_count() < m_raw + 64, "n={n} p={e}");
        }
    }

    #[test]
    fn k_rule_and_minimum_of_one() {
        // p close to 1: m = 64 for n = 1000, m/n ln2 = 0.044 rounds to 0 -> clamped to 1
        let p = Params::new(1000, 0.999).unwrap();
        assert_eq!(p.bit_count(), 64);
        assert_eq!(p.hash_count(), 1);
        for (n, e) in [(100u64, 0.01), (5000, 0.05), (77, 0.3)] {
            let p = Params::new(n, e).unwrap();
            let k = ((p.bit_count() as f64 / n as f64) * LN_2).round().max(1.0) as u32;
            assert_eq!(p.hash_count(), k);
        }
    }

    #[test]
    fn rejects_bad_capacity_and_error_rate() {
        assert_eq!(Params::new(0, 0.01), Err(BloomError::InvalidCapacity(0)));
        assert_eq!(
            Params::new(MAX_CAPACITY + 1, 0.01),
            Err(BloomError::InvalidCapacity(MAX_CAPACITY + 1))
        );
        for p in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(
                matches!(Params::new(10, p), Err(BloomError::InvalidErrorRate(_))),
                "p = {p}"
            );
        }
    }

    #[test]
    fn limits() {
        // Largest n at p = 0.5 that fits 2^34 bits: m_raw = ceil(n * 1.4427), exactly at the edge.
        assert!(matches!(
            Params::new(MAX_CAPACITY, 0.01),
            Err(BloomError::TooManyBits { .. })
        ));
        assert!(matches!(
            Params::new(1_000_000_000_000, 0.01),
            Err(BloomError::TooManyBits { .. })
        ));
        let big = Params::new(1_000_000_000, 0.01).unwrap();
        assert!(big.bit_count() <= MAX_BITS);
        // k > 64 needs p below ~5e-20 (for small n the word rounding inflates m/n and k).
        assert!(matches!(
            Params::new(1_000_000, 1e-20),
            Err(BloomError::TooManyHashes { hashes: 66, max: 64 })
        ));
        assert!(matches!(Params::new(10, 1e-25), Err(BloomError::TooManyHashes { .. })));
        assert_eq!(Params::new(1_000_000, 1e-19).unwrap().hash_count(), 63);
        // A tiny subnormal p: still a clear error, never a wrap.
        assert!(Params::new(1, 5e-324).is_err());
    }

    #[test]
    fn edge_of_max_bits() {
        // n such that m lands exactly on 2^34 at p = 0.5: m_raw = ceil(n / ln 2) must be <= 2^34.
        let n = (MAX_BITS as f64 * LN_2).floor() as u64;
        let p = Params::new(n, 0.5).unwrap();
        assert!(p.bit_count() <= MAX_BITS);
        assert!(matches!(
            Params::new(n + 64, 0.5),
            Err(BloomError::TooManyBits { .. })
        ));
    }

    #[test]
    fn from_parts_validates() {
        assert!(Params::from_parts(10, 0.01, 128, 3).is_ok());
        assert!(Params::from_parts(10, 0.01, 0, 3).is_err());
        assert!(Params::from_parts(10, 0.01, 100, 3).is_err());
        assert!(Params::from_parts(10, 0.01, MAX_BITS + 64, 3).is_err());
        assert!(Params::from_parts(10, 0.01, 128, 0).is_err());
        assert!(Params::from_parts(10, 0.01, 128, 65).is_err());
        assert!(Params::from_parts(0, 0.01, 128, 3).is_err());
        assert!(Params::from_parts(10, 1.0, 128, 3).is_err());
    }
}
