//! Hash id 2: XXH64 (seed 0) plus Kirsch–Mitzenmacher double hashing (docs/bloom-format.md).
//!
//! The step comes from the high 32 bits of the hash alone. (Hash id 1, never released,
//! took it from `rotl64(h, 32) mod m`, which ties it to `h1 = h mod m` modulo every
//! factor `m` shares with `2^64 - 1`, e.g. 5 for `n = 10^6, p = 0.001`, and nearly
//! doubled the false-positive rate there.)

use xxhash_rust::xxh64::xxh64;

/// The hash id written into snapshots for this scheme.
pub const HASH_ID: u16 = 2;

/// XXH64 of the key's bytes with seed 0.
#[inline]
pub fn key_hash(key: &[u8]) -> u64 {
    xxh64(key, 0)
}

/// The k bit positions of one key hash in a filter of `m` bits:
/// `position_i = (h1 + i * h2) mod m`, computed incrementally (no value reaches 2m).
#[derive(Debug, Clone)]
pub struct Positions {
    next: u64,
    step: u64,
    m: u64,
    left: u32,
}

impl Positions {
    /// `m` must be a non-zero even number (the filter guarantees a multiple of 64).
    #[inline]
    pub fn new(hash: u64, m: u64, k: u32) -> Self {
        debug_assert!(m != 0 && m % 2 == 0);
        let h1 = hash % m;
        // Odd, hence never 0, and still < m because m is even.
        let h2 = ((hash >> 32) % m) | 1;
        Positions { next: h1, step: h2, m, left: k }
    }
}

impl Iterator for Positions {
    type Item = u64;

    #[inline]
    fn next(&mut self) -> Option<u64> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let pos = self.next;
        // pos < m and step < m, so one subtraction is a full reduction.
        let sum = pos + self.step;
        self.next = if sum >= self.m { sum - self.m } else { sum };
        Some(pos)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for Positions {}

/// The k positions of `key` in a filter of `m` bits (a convenience for tests and vectors).
pub fn positions(key: &[u8], m: u64, k: u32) -> Positions {
    Positions::new(key_hash(key), m, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_reference_values() {
        // Reference values of XXH64 with seed 0 (from the xxHash project).
        assert_eq!(key_hash(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(key_hash(b"abc"), 0x44BC_2CF5_AD77_0999);
        assert_eq!(
            key_hash("Nobody inspects the spammish repetition".as_bytes()),
            0xFBCE_A83C_8A37_8BF1
        );
    }

    /// The closed form with 128-bit arithmetic, independent of the incremental loop.
    fn closed_form(hash: u64, m: u64, k: u32) -> Vec<u64> {
        let h1 = (hash % m) as u128;
        let h2 = (((hash >> 32) % m) | 1) as u128;
        (0..k as u128).map(|i| ((h1 + i * h2) % m as u128) as u64).collect()
    }

    #[test]
    fn positions_match_closed_form() {
        let ms = [64u64, 128, 9_585_088, 14_377_600, 1 << 34];
        let mut seed = 0x1234_5678_9abc_def0u64;
        for &m in &ms {
            for k in [1u32, 2, 7, 10, 44, 64] {
                for _ in 0..50 {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let got: Vec<u64> = Positions::new(seed, m, k).collect();
                    assert_eq!(got, closed_form(seed, m, k), "m={m} k={k} h={seed:#x}");
                    assert!(got.iter().all(|&p| p < m));
                }
            }
        }
    }

    #[test]
    fn known_positions() {
        // "abc": h = 0x44BC2CF5AD770999, m = 1024, k = 3
        //   h1 = h mod 1024 = 0x199 = 409
        //   h >> 32 = 0x44BC2CF5, mod 1024 = 0x0F5 = 245, | 1 = 245
        //   positions: 409, 654, 899
        let got: Vec<u64> = positions(b"abc", 1024, 3).collect();
        assert_eq!(got, vec![409, 654, 899]);
        // Wrap-around: m = 64: h1 = 0x19 = 25, h2 = 0x35 | 1 = 53 -> 25, 14, 3, 56
        let got: Vec<u64> = positions(b"abc", 64, 4).collect();
        assert_eq!(got, vec![25, 14, 3, 56]);
        // A size with odd factors: m = 9_585_088 (n = 10^6, p = 0.01).
        //   h1 = 0x44BC2CF5AD770999 mod m = 8_177_177
        //   h2 = (0x44BC2CF5 mod m) | 1 = 2_972_405
        //   positions: 8_177_177, (8_177_177 + 2_972_405) - m = 1_564_494, 4_536_899
        let got: Vec<u64> = positions(b"abc", 9_585_088, 3).collect();
        assert_eq!(got, vec![8_177_177, 1_564_494, 4_536_899]);
    }

    #[test]
    fn step_is_odd_and_below_m() {
        for h in [0u64, 1, u64::MAX, 0xFFFF_FFFF, 0xFFFF_FFFF_0000_0000] {
            let p = Positions::new(h, 64, 2);
            assert_eq!(p.step % 2, 1);
            assert!(p.step < 64);
        }
    }
}
