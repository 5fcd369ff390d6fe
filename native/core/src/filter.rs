//! The filter: a bit array of `AtomicU64` words, wherever they live.
//!
//! # Why `Relaxed` is enough
//!
//! Each bit only ever goes from 0 to 1 (until [`BloomFilter::clear`]), and every
//! operation is a single atomic load or `fetch_or` on one word, so no update can be
//! lost or torn, whatever the interleaving. The filter publishes no other data whose
//! visibility would depend on these bits, so no happens-before edge is needed
//! between threads: a reader sees each bit either before or after it was set, and
//! both answers are correct for a concurrent add. Whoever needs "add on thread A,
//! then has on thread B must be true" gets that ordering from the synchronization
//! that told B that A finished (a join, a channel, `Atomics.wait`/`postMessage`),
//! which orders all of A's prior writes.
//!
//! Two threads adding the *same* key at the same time may both be told "was absent"
//! (each may win a different bit); every other key observes exact test-and-set
//! semantics.

use crate::error::BloomError;
use crate::hash::{key_hash, Positions};
use crate::params::Params;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Owned, heap-allocated storage.
pub type OwnedWords = Box<[AtomicU64]>;

/// A Bloom filter over storage `S` (anything that lends out `&[AtomicU64]`):
/// `Box<[AtomicU64]>` (owned, the default), `&[AtomicU64]`, `Arc<[AtomicU64]>`, or a
/// caller type that maps shared memory.
///
/// Invariant: `words.as_ref().len() * 64 == params.bit_count()`.
#[derive(Debug)]
pub struct BloomFilter<S = OwnedWords> {
    params: Params,
    words: S,
}

/// Allocates `count` zeroed words, reporting allocation failure instead of aborting.
pub fn zeroed_words(count: usize) -> Result<OwnedWords, BloomError> {
    let mut v: Vec<AtomicU64> = Vec::new();
    v.try_reserve_exact(count)
        .map_err(|_| BloomError::OutOfMemory { bytes: count as u64 * 8 })?;
    v.extend((0..count).map(|_| AtomicU64::new(0)));
    Ok(v.into_boxed_slice())
}

impl BloomFilter<OwnedWords> {
    /// An empty, owned filter sized for `capacity` keys at `error_rate`.
    pub fn new(capacity: u64, error_rate: f64) -> Result<Self, BloomError> {
        Self::with_params(Params::new(capacity, error_rate)?)
    }

    /// An empty, owned filter of the given shape.
    pub fn with_params(params: Params) -> Result<Self, BloomError> {
        let words = zeroed_words(params.word_count())?;
        Ok(BloomFilter { params, words })
    }
}

impl<S: AsRef<[AtomicU64]>> BloomFilter<S> {
    /// A filter over caller-provided words, which must number exactly `m / 64`. The words
    /// are used as they are (not cleared): that is how several filters share one bit array.
    pub fn from_storage(params: Params, words: S) -> Result<Self, BloomError> {
        let actual = words.as_ref().len();
        if actual != params.word_count() {
            return Err(BloomError::StorageLength {
                expected_words: params.word_count(),
                actual_words: actual,
            });
        }
        Ok(BloomFilter { params, words })
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The bit array, word `b >> 6` holding bit `b & 63`.
    pub fn words(&self) -> &[AtomicU64] {
        self.words.as_ref()
    }

    /// The storage itself.
    pub fn storage(&self) -> &S {
        &self.words
    }

    /// Gives the storage back.
    pub fn into_storage(self) -> S {
        self.words
    }

    #[inline]
    fn positions(&self, hash: u64) -> Positions {
        Positions::new(hash, self.params.bit_count(), self.params.hash_count())
    }

    /// Sets the key's bits; true when at least one was clear before (the key was
    /// certainly absent). One pass: each bit is tested and set by the same `fetch_or`.
    #[inline]
    pub fn add(&self, key: &[u8]) -> bool {
        self.add_hash(key_hash(key))
    }

    /// [`BloomFilter::add`] for a precomputed [`key_hash`].
    #[inline]
    pub fn add_hash(&self, hash: u64) -> bool {
        let words = self.words.as_ref();
        let mut was_absent = false;
        for pos in self.positions(hash) {
            // In bounds by the struct invariant: pos < m = 64 * words.len().
            let word = &words[(pos >> 6) as usize];
            let mask = 1u64 << (pos & 63);
            // A plain load first: a bit already set stays set, so the read-modify-write
            // (which takes the cache line exclusively) is only paid for clear bits.
            if word.load(Relaxed) & mask == 0 && word.fetch_or(mask, Relaxed) & mask == 0 {
                was_absent = true;
            }
        }
        was_absent
    }

    /// [`BloomFilter::add_hash`] for storage that no other thread writes meanwhile (an
    /// owned filter used from one thread): plain atomic loads and stores instead of
    /// read-modify-writes, which cost ~20 cycles each. Memory-safe in any case; under a
    /// concurrent writer it could lose that writer's bits, so shared storage must use
    /// [`BloomFilter::add_hash`].
    #[inline]
    pub fn add_hash_unshared(&self, hash: u64) -> bool {
        let words = self.words.as_ref();
        let mut was_absent = false;
        for pos in self.positions(hash) {
            let word = &words[(pos >> 6) as usize];
            let mask = 1u64 << (pos & 63);
            let v = word.load(Relaxed);
            if v & mask == 0 {
                // Re-read per bit: two positions of one key may share a word.
                word.store(v | mask, Relaxed);
                was_absent = true;
            }
        }
        was_absent
    }

    /// True when every one of the key's bits is set (the key may be present); stops at
    /// the first clear bit.
    #[inline]
    pub fn has(&self, key: &[u8]) -> bool {
        self.has_hash(key_hash(key))
    }

    /// [`BloomFilter::has`] for a precomputed [`key_hash`].
    #[inline]
    pub fn has_hash(&self, hash: u64) -> bool {
        let words = self.words.as_ref();
        self.positions(hash)
            .all(|pos| words[(pos >> 6) as usize].load(Relaxed) & (1u64 << (pos & 63)) != 0)
    }

    /// Zeroes every bit. Not atomic as a whole: a concurrent add may keep some of its bits.
    pub fn clear(&self) {
        for w in self.words.as_ref() {
            w.store(0, Relaxed);
        }
    }

    /// Number of set bits (popcount).
    pub fn set_bit_count(&self) -> u64 {
        self.words.as_ref().iter().map(|w| u64::from(w.load(Relaxed).count_ones())).sum()
    }

    /// set bits / m, in `[0, 1]`.
    pub fn fill_ratio(&self) -> f64 {
        self.set_bit_count() as f64 / self.params.bit_count() as f64
    }

    /// fill ^ k: the chance that an absent key is reported present, now.
    pub fn estimated_false_positive_rate(&self) -> f64 {
        self.fill_ratio().powf(f64::from(self.params.hash_count()))
    }

    /// `-(m / k) * ln(1 - fill)`, the number of distinct keys added, roughly
    /// (Swamidass & Baldi). `f64::INFINITY` when every bit is set.
    pub fn estimated_cardinality(&self) -> f64 {
        let fill = self.fill_ratio();
        if fill >= 1.0 {
            return f64::INFINITY;
        }
        if fill <= 0.0 {
            return 0.0; // not -0.0, which the formula gives
        }
        let m = self.params.bit_count() as f64;
        let k = self.params.hash_count() as f64;
        -(m / k) * (1.0 - fill).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::positions;
    use std::sync::Arc;

    fn key(i: u64) -> String {
        format!("key-{i:08}")
    }

    #[test]
    fn add_sets_exactly_the_spec_positions() {
        let f = BloomFilter::new(1000, 0.01).unwrap();
        let (m, k) = (f.params().bit_count(), f.params().hash_count());
        assert!(f.add(b"hello"));
        let expected: std::collections::BTreeSet<u64> = positions(b"hello", m, k).collect();
        let mut set = std::collections::BTreeSet::new();
        for (i, w) in f.words().iter().enumerate() {
            let v = w.load(Relaxed);
            for b in 0..64 {
                if v & (1 << b) != 0 {
                    set.insert(i as u64 * 64 + b);
                }
            }
        }
        assert_eq!(set, expected);
        assert_eq!(f.set_bit_count(), expected.len() as u64);
    }

    #[test]
    fn test_and_set() {
        let f = BloomFilter::new(1000, 0.01).unwrap();
        assert!(!f.has(b"a"));
        assert!(f.add(b"a"), "first add reports absent");
        assert!(!f.add(b"a"), "second add reports present");
        assert!(f.has(b"a"));
        assert!(f.add(b"b"));
        assert!(f.has(b"b"));
        // Strings and bytes are the same key.
        assert!(f.has("a".as_bytes()));
        // The empty key is a key.
        assert!(f.add(b""));
        assert!(f.has(b""));
    }

    #[test]
    fn unshared_add_sets_the_same_bits() {
        let a = BloomFilter::new(1000, 0.01).unwrap();
        let b = BloomFilter::new(1000, 0.01).unwrap();
        // k = 44 on 64 bits: positions of one key repeatedly share words.
        let c = BloomFilter::new(1, 0.5).unwrap();
        let d = BloomFilter::new(1, 0.5).unwrap();
        for i in 0..800 {
            let h = crate::hash::key_hash(key(i).as_bytes());
            assert_eq!(a.add_hash(h), b.add_hash_unshared(h), "key {i}");
            assert_eq!(c.add_hash(h), d.add_hash_unshared(h), "key {i}");
        }
        let same = |x: &BloomFilter, y: &BloomFilter| {
            x.words().iter().zip(y.words()).all(|(p, q)| p.load(Relaxed) == q.load(Relaxed))
        };
        assert!(same(&a, &b));
        assert!(same(&c, &d));
    }

    #[test]
    fn clear_empties() {
        let f = BloomFilter::new(1000, 0.01).unwrap();
        for i in 0..500 {
            f.add(key(i).as_bytes());
        }
        assert!(f.set_bit_count() > 0);
        f.clear();
        assert_eq!(f.set_bit_count(), 0);
        assert!(!f.has(key(1).as_bytes()));
        assert!(f.estimated_cardinality().to_bits() == 0, "+0.0, not -0.0");
    }

    #[test]
    fn no_false_negatives_and_fpr_sanity() {
        let n = 100_000u64;
        // p = 0.001 gives m = 1_437_760, a multiple of 5: the size where hash id 1 doubled
        // the false-positive rate; p = 0.0001 gives few enough false positives to be noisy.
        for p in [0.01, 0.001] {
            let f = BloomFilter::new(n, p).unwrap();
            for i in 0..n {
                f.add(key(i).as_bytes());
            }
            for i in 0..n {
                assert!(f.has(key(i).as_bytes()), "false negative for {}", key(i));
            }
            let fp = (n..2 * n).filter(|&i| f.has(key(i).as_bytes())).count();
            let rate = fp as f64 / n as f64;
            assert!(rate > p * 0.75 && rate < p * 1.25, "p={p}: measured {rate}");
            // Estimates: fill ~ 1/2 at capacity, cardinality ~ n.
            let fill = f.fill_ratio();
            assert!((fill - 0.5).abs() < 0.02, "fill {fill}");
            let est = f.estimated_cardinality();
            assert!((est - n as f64).abs() < n as f64 * 0.02, "cardinality {est}");
            let efpr = f.estimated_false_positive_rate();
            assert!(efpr > p * 0.7 && efpr < p * 1.3, "estimated fpr {efpr}");
        }
    }

    #[test]
    fn estimates_on_known_fill() {
        // 64 bits, k = 2; set 16 bits by hand -> fill 0.25
        let words: Vec<AtomicU64> = vec![AtomicU64::new(0xFFFF)];
        let f = BloomFilter::from_storage(Params::from_parts(10, 0.1, 64, 2).unwrap(), &words[..])
            .unwrap();
        assert_eq!(f.set_bit_count(), 16);
        assert_eq!(f.fill_ratio(), 0.25);
        assert_eq!(f.estimated_false_positive_rate(), 0.0625);
        let expected = -(64.0 / 2.0) * (0.75f64).ln();
        assert_eq!(f.estimated_cardinality(), expected);
        words[0].store(u64::MAX, Relaxed);
        assert_eq!(f.fill_ratio(), 1.0);
        assert_eq!(f.estimated_cardinality(), f64::INFINITY);
        assert_eq!(f.estimated_false_positive_rate(), 1.0);
    }

    #[test]
    fn borrowed_storage_is_used_as_is() {
        let params = Params::new(1000, 0.01).unwrap();
        let words: Vec<AtomicU64> = (0..params.word_count()).map(|_| AtomicU64::new(0)).collect();
        let a = BloomFilter::from_storage(params, &words[..]).unwrap();
        assert!(a.add(b"shared"));
        // A second view over the same words sees the key.
        let b = BloomFilter::from_storage(params, &words[..]).unwrap();
        assert!(b.has(b"shared"));
        assert!(!b.add(b"shared"));
        let short: Vec<AtomicU64> = (0..3).map(|_| AtomicU64::new(0)).collect();
        assert_eq!(
            BloomFilter::from_storage(params, &short[..]).unwrap_err(),
            BloomError::StorageLength { expected_words: params.word_count(), actual_words: 3 }
        );
    }

    #[test]
    fn concurrent_adds_from_threads() {
        const THREADS: u64 = 4;
        const PER: u64 = 50_000;
        let params = Params::new(THREADS * PER, 0.001).unwrap();
        let words: Arc<[AtomicU64]> = (0..params.word_count()).map(|_| AtomicU64::new(0)).collect();
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let words = Arc::clone(&words);
                std::thread::spawn(move || {
                    let f = BloomFilter::from_storage(params, words).unwrap();
                    let mut absent = 0u64;
                    for i in t * PER..(t + 1) * PER {
                        if f.add(key(i).as_bytes()) {
                            absent += 1;
                        }
                    }
                    absent
                })
            })
            .collect();
        let absent: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        // Disjoint keys: nearly all were new (a few collide as false positives).
        assert!(absent > THREADS * PER * 99 / 100, "{absent}");
        let f = BloomFilter::from_storage(params, words).unwrap();
        for i in 0..THREADS * PER {
            assert!(f.has(key(i).as_bytes()), "lost {}", key(i));
            assert!(!f.add(key(i).as_bytes()));
        }
        // Same bits as a single-threaded build of the same keys.
        let single = BloomFilter::with_params(params).unwrap();
        for i in 0..THREADS * PER {
            single.add(key(i).as_bytes());
        }
        let same = f.words().iter().zip(single.words()).all(|(a, b)| a.load(Relaxed) == b.load(Relaxed));
        assert!(same);
    }

    #[test]
    fn zeroed_words_reports_oom() {
        // Far beyond any address space: must be an error, not an abort.
        assert!(matches!(zeroed_words(usize::MAX / 8), Err(BloomError::OutOfMemory { .. })));
    }
}
