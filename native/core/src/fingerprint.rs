//! An exact set of 64-bit key fingerprints: open addressing with linear probing over
//! `AtomicU64` slots, wherever they live (docs/bloom-format.md, "Fingerprint table").
//!
//! A key's fingerprint is the XXH64 the Bloom filter already computes ([`key_hash`]), so a
//! table answers "was this key recorded?" exactly, up to a full 64-bit collision.
//!
//! * **Empty slots** hold 0. A key whose hash is 0 is stored as [`ZERO_FINGERPRINT`]
//!   instead, so it shares that fingerprint with the keys hashing to `ZERO_FINGERPRINT`
//!   (one more value to collide with, out of 2^64).
//! * **Home slot**: `(fp * slots) >> 64` (the high half of the 128-bit product, which maps
//!   the 64-bit fingerprint uniformly onto `0..slots` without a division); then slots
//!   `home + 1, home + 2, …` modulo `slots` until the fingerprint or an empty slot.
//! * **Sizing**: [`slots_for`]`(n) = ceil(4n / 3)`, a load factor of 3/4 with `n` keys:
//!   8 / 0.75 = 10.67 bytes per key. Linear probing then inspects on average
//!   ½(1 + 1/(1−α)) = 2.5 slots for a key that is present and ½(1 + 1/(1−α)²) = 8.5 for one
//!   that is absent (about two cache lines of 8 slots); averaged over filling a generation
//!   from empty, an insert inspects 2.5. The table refuses keys beyond
//!   [`limit_for`]`(slots) = floor(7 · slots / 8)` (about 7n/6, load 7/8: 4.5 and 32.5
//!   slots), so a probe always meets an empty slot soon and never loops.
//! * **Storage**: `slots + 1` words: the slots, then the number of fingerprints stored
//!   (kept in the storage so that views of shared memory agree on it).
//!
//! # Why `Relaxed` is enough
//!
//! A slot only ever goes from 0 to a fingerprint (until [`FingerprintTable::clear`]), by a
//! single compare-exchange, so no write is lost or torn and two threads inserting the
//! same key can never both succeed: the loser's compare-exchange fails *with that
//! fingerprint*, or it passes the winner's slot while probing on. The count is reserved
//! (a compare-exchange below the limit) before a slot is claimed, so it never exceeds the
//! limit. Nothing else is published through these words, so no happens-before edge is
//! needed: a reader sees a concurrent insert either before or after it happened, and both
//! answers are right. "Inserted on thread A, then contains on thread B" is ordered by the
//! synchronisation that told B that A finished, as for the Bloom filter.

use crate::error::TableError;
use crate::filter::OwnedWords;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What a key hashing to 0 is stored as (0 marks an empty slot). Any non-zero constant
/// would do; this one is 2^64 / φ, which no short ASCII key is known to hash to.
pub const ZERO_FINGERPRINT: u64 = 0x9E37_79B9_7F4A_7C15;

/// Largest slot count, 2^32 (32 GiB of slots). It keeps the home-slot arithmetic exact in
/// the TypeScript fallback's doubles.
pub const MAX_SLOTS: u64 = 1 << 32;

/// Largest capacity a table can be sized for: `slots_for(3 · 2^30) = 2^32`.
pub const MAX_TABLE_CAPACITY: u64 = MAX_SLOTS / 4 * 3;

/// The fingerprint of a key hash: the hash itself, except that 0 becomes [`ZERO_FINGERPRINT`].
#[inline]
pub fn fingerprint(hash: u64) -> u64 {
    if hash == 0 {
        ZERO_FINGERPRINT
    } else {
        hash
    }
}

/// Slots for `capacity` keys at load 3/4: `ceil(4 · capacity / 3)`.
pub fn slots_for(capacity: u64) -> Result<u64, TableError> {
    if !(1..=MAX_TABLE_CAPACITY).contains(&capacity) {
        return Err(TableError::InvalidCapacity(capacity));
    }
    // No overflow: capacity <= 3 * 2^30.
    Ok((4 * capacity).div_ceil(3))
}

/// The most fingerprints a table of `slots` slots accepts: `floor(7 · slots / 8)`, always
/// at least the capacity it was sized for and always below `slots`.
#[inline]
pub fn limit_for(slots: u64) -> u64 {
    // slots <= 2^32, so 7 * slots cannot overflow.
    7 * slots / 8
}

/// The first slot probed for `fp` in a table of `slots` slots: `(fp · slots) >> 64`.
#[inline]
pub fn home_slot(fp: u64, slots: u64) -> u64 {
    ((u128::from(fp) * u128::from(slots)) >> 64) as u64
}

pub(crate) fn valid_slot_count(slots: u64) -> bool {
    (1..=MAX_SLOTS).contains(&slots)
}

/// What [`FingerprintTable::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// The fingerprint was absent and is now stored.
    Inserted,
    /// The fingerprint was already stored (nothing changed).
    AlreadyPresent,
    /// The fingerprint is absent and the table holds its limit: nothing changed.
    Full,
}

/// A fingerprint table over storage `S` (anything that lends out `&[AtomicU64]`), like
/// [`crate::BloomFilter`].
///
/// Invariant: `words.as_ref().len() == slots + 1`, `1 <= slots <= MAX_SLOTS`.
#[derive(Debug)]
pub struct FingerprintTable<S = OwnedWords> {
    slots: u64,
    limit: u64,
    words: S,
}

/// `count` zeroed words, reporting allocation failure instead of aborting.
fn zeroed(count: u64) -> Result<OwnedWords, TableError> {
    let oom = || TableError::OutOfMemory { bytes: count.saturating_mul(8) };
    let n = usize::try_from(count).map_err(|_| oom())?;
    crate::filter::zeroed_words(n).map_err(|_| oom())
}

impl FingerprintTable<OwnedWords> {
    /// An empty, owned table sized for `capacity` keys ([`slots_for`]).
    pub fn new(capacity: u64) -> Result<Self, TableError> {
        Self::with_slots(slots_for(capacity)?)
    }

    /// An empty, owned table of exactly `slots` slots.
    pub fn with_slots(slots: u64) -> Result<Self, TableError> {
        if !valid_slot_count(slots) {
            return Err(TableError::InvalidSlotCount(slots));
        }
        let words = zeroed(slots + 1)?;
        Ok(FingerprintTable { slots, limit: limit_for(slots), words })
    }
}

impl<S: AsRef<[AtomicU64]>> FingerprintTable<S> {
    /// A table over caller-provided words, which must number exactly `slots + 1`. They are
    /// used as they are (not cleared): that is how several views share one table.
    pub fn from_storage(slots: u64, words: S) -> Result<Self, TableError> {
        if !valid_slot_count(slots) {
            return Err(TableError::InvalidSlotCount(slots));
        }
        let actual = words.as_ref().len();
        if actual as u64 != slots + 1 {
            return Err(TableError::StorageLength { expected_words: slots + 1, actual_words: actual });
        }
        Ok(FingerprintTable { slots, limit: limit_for(slots), words })
    }

    pub fn slots(&self) -> u64 {
        self.slots
    }

    /// The most fingerprints this table accepts ([`limit_for`]).
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// All words: the slots, then the count.
    pub fn words(&self) -> &[AtomicU64] {
        self.words.as_ref()
    }

    pub fn storage(&self) -> &S {
        &self.words
    }

    pub fn into_storage(self) -> S {
        self.words
    }

    /// Bytes of storage: `8 · (slots + 1)`.
    pub fn byte_length(&self) -> u64 {
        8 * (self.slots + 1)
    }

    #[inline]
    fn count_word(&self) -> &AtomicU64 {
        // In bounds by the struct invariant.
        &self.words.as_ref()[self.slots as usize]
    }

    /// Fingerprints stored.
    #[inline]
    pub fn len(&self) -> u64 {
        self.count_word().load(Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// len / slots.
    pub fn load_factor(&self) -> f64 {
        self.len() as f64 / self.slots as f64
    }

    /// The probe sequence of `fp`: every slot once, starting at its home slot.
    #[inline]
    fn probe(&self, fp: u64) -> impl Iterator<Item = &AtomicU64> {
        let slots = self.slots as usize;
        let home = home_slot(fp, self.slots) as usize;
        let words = &self.words.as_ref()[..slots];
        words[home..].iter().chain(words[..home].iter())
    }

    /// True when the fingerprint of `hash` is stored.
    #[inline]
    pub fn contains(&self, hash: u64) -> bool {
        let fp = fingerprint(hash);
        for slot in self.probe(fp) {
            match slot.load(Relaxed) {
                v if v == fp => return true,
                0 => return false,
                _ => {}
            }
        }
        false
    }

    /// Stores the fingerprint of `hash` unless it is there already or the table holds its
    /// limit. Safe with concurrent inserts from other threads (see the module comment).
    #[inline]
    pub fn insert(&self, hash: u64) -> Insert {
        let fp = fingerprint(hash);
        for slot in self.probe(fp) {
            let v = slot.load(Relaxed);
            if v == fp {
                return Insert::AlreadyPresent;
            }
            if v != 0 {
                continue;
            }
            // Certainly absent so far: reserve room, then claim the slot.
            if !self.reserve() {
                return Insert::Full;
            }
            match slot.compare_exchange(0, fp, Relaxed, Relaxed) {
                Ok(_) => return Insert::Inserted,
                Err(actual) => {
                    self.count_word().fetch_sub(1, Relaxed);
                    if actual == fp {
                        return Insert::AlreadyPresent;
                    }
                    // Another key took the slot: probe on.
                }
            }
        }
        // Every slot holds another key: only reachable through storage shared with a
        // writer that ignores the limit.
        Insert::Full
    }

    /// One more fingerprint, unless that would pass the limit.
    fn reserve(&self) -> bool {
        let limit = self.limit;
        self.count_word()
            .fetch_update(Relaxed, Relaxed, |n| (n < limit).then_some(n + 1))
            .is_ok()
    }

    /// [`FingerprintTable::insert`] for a table that no other thread writes meanwhile:
    /// plain atomic loads and stores instead of read-modify-writes. Memory-safe in any
    /// case; under a concurrent writer it could lose that writer's insert.
    #[inline]
    pub fn insert_unshared(&self, hash: u64) -> Insert {
        let fp = fingerprint(hash);
        for slot in self.probe(fp) {
            match slot.load(Relaxed) {
                v if v == fp => return Insert::AlreadyPresent,
                0 => {
                    let count = self.count_word();
                    let n = count.load(Relaxed);
                    if n >= self.limit {
                        return Insert::Full;
                    }
                    slot.store(fp, Relaxed);
                    count.store(n + 1, Relaxed);
                    return Insert::Inserted;
                }
                _ => {}
            }
        }
        Insert::Full
    }

    /// Empties every slot and the count. Not atomic as a whole: a concurrent insert may
    /// survive it.
    pub fn clear(&self) {
        for w in self.words.as_ref() {
            w.store(0, Relaxed);
        }
    }

    /// The stored fingerprints in slot order (tests, diagnostics).
    pub fn fingerprints(&self) -> impl Iterator<Item = u64> + '_ {
        self.words.as_ref()[..self.slots as usize].iter().map(|w| w.load(Relaxed)).filter(|&v| v != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::key_hash;
    use std::collections::HashSet;
    use std::sync::Arc;

    fn h(i: u64) -> u64 {
        key_hash(format!("key-{i:08}").as_bytes())
    }

    #[test]
    fn sizing() {
        assert_eq!(slots_for(1).unwrap(), 2);
        assert_eq!(slots_for(3).unwrap(), 4);
        assert_eq!(slots_for(1000).unwrap(), 1334);
        assert_eq!(slots_for(1_000_000).unwrap(), 1_333_334);
        assert_eq!(slots_for(10_000_000).unwrap(), 13_333_334);
        assert_eq!(slots_for(MAX_TABLE_CAPACITY).unwrap(), MAX_SLOTS);
        assert_eq!(slots_for(0), Err(TableError::InvalidCapacity(0)));
        assert_eq!(
            slots_for(MAX_TABLE_CAPACITY + 1),
            Err(TableError::InvalidCapacity(MAX_TABLE_CAPACITY + 1))
        );
        // The limit always covers the capacity and leaves an empty slot.
        for n in (1..5000).chain([1_000_000, 10_000_000, MAX_TABLE_CAPACITY]) {
            let s = slots_for(n).unwrap();
            assert!(limit_for(s) >= n && limit_for(s) < s, "n = {n}");
        }
        assert_eq!(limit_for(1), 0);
        assert_eq!(limit_for(1_333_334), 1_166_667);
    }

    #[test]
    fn home_slot_is_the_high_half_of_the_product() {
        assert_eq!(home_slot(0, 1000), 0);
        assert_eq!(home_slot(u64::MAX, 1000), 999);
        assert_eq!(home_slot(1 << 63, 1000), 500);
        assert_eq!(home_slot(1 << 63, 1001), 500);
        assert_eq!(home_slot(u64::MAX, MAX_SLOTS), MAX_SLOTS - 1);
        assert_eq!(home_slot(0x8000_0000_0000_0001, 3), 1);
        // "abc": 0x44BC2CF5AD770999 * 1334 >> 64 = 358
        assert_eq!(home_slot(key_hash(b"abc"), 1334), 358);
        for s in [1u64, 2, 7, 1334, 1 << 20, MAX_SLOTS] {
            for i in 0..1000 {
                assert!(home_slot(h(i), s) < s);
            }
        }
    }

    #[test]
    fn zero_hash_has_a_fingerprint() {
        assert_eq!(fingerprint(0), ZERO_FINGERPRINT);
        assert_eq!(fingerprint(1), 1);
        let t = FingerprintTable::new(10).unwrap();
        assert!(!t.contains(0));
        assert_eq!(t.insert(0), Insert::Inserted);
        assert!(t.contains(0));
        // 0 and ZERO_FINGERPRINT are one fingerprint (documented).
        assert!(t.contains(ZERO_FINGERPRINT));
        assert_eq!(t.insert(ZERO_FINGERPRINT), Insert::AlreadyPresent);
        assert_eq!(t.len(), 1);
        assert_eq!(t.fingerprints().collect::<Vec<_>>(), vec![ZERO_FINGERPRINT]);
    }

    #[test]
    fn insert_contains_len_clear() {
        let t = FingerprintTable::new(1000).unwrap();
        assert_eq!(t.slots(), 1334);
        assert_eq!(t.limit(), 1167);
        assert!(t.is_empty());
        for i in 0..1000 {
            assert!(!t.contains(h(i)));
            assert_eq!(t.insert(h(i)), Insert::Inserted, "key {i}");
            assert_eq!(t.insert(h(i)), Insert::AlreadyPresent);
        }
        assert_eq!(t.len(), 1000);
        for i in 0..1000 {
            assert!(t.contains(h(i)));
        }
        assert!((1000..3000).all(|i| !t.contains(h(i))));
        assert_eq!(t.fingerprints().count(), 1000);
        t.clear();
        assert_eq!(t.len(), 0);
        assert!((0..1000).all(|i| !t.contains(h(i))));
        assert!(t.words().iter().all(|w| w.load(Relaxed) == 0));
    }

    #[test]
    fn unshared_insert_builds_the_same_table() {
        let a = FingerprintTable::new(5000).unwrap();
        let b = FingerprintTable::new(5000).unwrap();
        for i in 0..7000 {
            let k = h(i % 6000);
            assert_eq!(a.insert(k), b.insert_unshared(k), "op {i}");
        }
        let same = a.words().iter().zip(b.words()).all(|(x, y)| x.load(Relaxed) == y.load(Relaxed));
        assert!(same);
    }

    #[test]
    fn full_is_a_hard_limit() {
        // 10 keys: 14 slots, limit 12.
        let t = FingerprintTable::new(10).unwrap();
        assert_eq!((t.slots(), t.limit()), (14, 12));
        for i in 0..12 {
            assert_eq!(t.insert(h(i)), Insert::Inserted);
        }
        for i in 12..100 {
            assert_eq!(t.insert(h(i)), Insert::Full, "key {i}");
            assert_eq!(t.insert_unshared(h(i)), Insert::Full, "key {i}");
            assert!(!t.contains(h(i)));
        }
        // Present keys are still found when full.
        for i in 0..12 {
            assert_eq!(t.insert(h(i)), Insert::AlreadyPresent);
            assert_eq!(t.insert_unshared(h(i)), Insert::AlreadyPresent);
        }
        assert_eq!(t.len(), 12);
        assert_eq!(t.fingerprints().count(), 12);
    }

    #[test]
    fn probes_end_even_when_every_slot_is_taken() {
        // Storage filled by hand, count at 0: no empty slot, the limit not reached.
        let words: Vec<AtomicU64> = (1..=8).map(AtomicU64::new).chain([AtomicU64::new(0)]).collect();
        let t = FingerprintTable::from_storage(8, &words[..]).unwrap();
        assert!(!t.contains(12345));
        assert_eq!(t.insert(12345), Insert::Full);
        assert_eq!(t.insert_unshared(12345), Insert::Full);
        assert!(t.contains(5));
    }

    #[test]
    fn wraps_around_the_end() {
        // Fingerprints whose home is the last slot.
        let t = FingerprintTable::with_slots(8).unwrap();
        let last = [u64::MAX, u64::MAX - 1, u64::MAX - 2];
        for &fp in &last {
            assert_eq!(home_slot(fp, 8), 7);
            assert_eq!(t.insert(fp), Insert::Inserted);
        }
        let slots: Vec<u64> = t.words()[..8].iter().map(|w| w.load(Relaxed)).collect();
        assert_eq!(slots, vec![u64::MAX - 1, u64::MAX - 2, 0, 0, 0, 0, 0, u64::MAX]);
        assert!(last.iter().all(|&fp| t.contains(fp)));
    }

    #[test]
    fn storage_checks() {
        let words: Vec<AtomicU64> = (0..5).map(|_| AtomicU64::new(0)).collect();
        assert!(FingerprintTable::from_storage(4, &words[..]).is_ok());
        assert_eq!(
            FingerprintTable::from_storage(5, &words[..]).unwrap_err(),
            TableError::StorageLength { expected_words: 6, actual_words: 5 }
        );
        assert_eq!(FingerprintTable::from_storage(0, &words[..0]).unwrap_err(), TableError::InvalidSlotCount(0));
        assert_eq!(FingerprintTable::with_slots(MAX_SLOTS + 1).unwrap_err(), TableError::InvalidSlotCount(MAX_SLOTS + 1));
        // Two views over one storage see each other's inserts and one count.
        let a = FingerprintTable::from_storage(4, &words[..]).unwrap();
        let b = FingerprintTable::from_storage(4, &words[..]).unwrap();
        assert_eq!(a.insert(77), Insert::Inserted);
        assert!(b.contains(77));
        assert_eq!(b.insert(77), Insert::AlreadyPresent);
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn concurrent_inserts_from_threads() {
        const THREADS: u64 = 4;
        const PER: u64 = 30_000;
        // Every thread inserts all its own keys plus a shared half: each key must be
        // reported Inserted exactly once in total.
        let n = THREADS * PER;
        let slots = slots_for(n).unwrap();
        let words: Arc<[AtomicU64]> = (0..=slots).map(|_| AtomicU64::new(0)).collect();
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let words = Arc::clone(&words);
                std::thread::spawn(move || {
                    let table = FingerprintTable::from_storage(slots, words).unwrap();
                    let mut inserted = 0u64;
                    for i in (t * PER..(t + 1) * PER).chain(0..PER / 2) {
                        if table.insert(h(i)) == Insert::Inserted {
                            inserted += 1;
                        }
                    }
                    inserted
                })
            })
            .collect();
        let inserted: u64 = handles.into_iter().map(|x| x.join().unwrap()).sum();
        assert_eq!(inserted, n);
        let table = FingerprintTable::from_storage(slots, words).unwrap();
        assert_eq!(table.len(), n);
        let distinct: HashSet<u64> = table.fingerprints().collect();
        assert_eq!(distinct.len() as u64, n, "a fingerprint stored twice");
        assert!((0..n).all(|i| table.contains(h(i))));
    }

    #[test]
    fn concurrent_inserts_respect_the_limit() {
        const THREADS: u64 = 4;
        let slots = 1000;
        let words: Arc<[AtomicU64]> = (0..=slots).map(|_| AtomicU64::new(0)).collect();
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let words = Arc::clone(&words);
                std::thread::spawn(move || {
                    let table = FingerprintTable::from_storage(slots, words).unwrap();
                    (t * 1000..(t + 1) * 1000).filter(|&i| table.insert(h(i)) == Insert::Inserted).count() as u64
                })
            })
            .collect();
        let inserted: u64 = handles.into_iter().map(|x| x.join().unwrap()).sum();
        let table = FingerprintTable::from_storage(slots, words).unwrap();
        assert_eq!(inserted, limit_for(slots));
        assert_eq!(table.len(), limit_for(slots));
        assert_eq!(table.fingerprints().count() as u64, limit_for(slots));
    }

    #[test]
    fn zeroed_reports_oom() {
        assert!(matches!(zeroed(u64::MAX / 8), Err(TableError::OutOfMemory { .. })));
    }
}
