//! The exact dedup window: two generations, each a Bloom filter (the fast "certainly new"
//! answer) plus a [`FingerprintTable`] (the exact answer when the filter says "maybe").
//!
//! * [`DedupWindow::check`] decides without recording: both filters "certainly absent" →
//!   [`Verdict::New`]; otherwise the tables decide: the fingerprint found → `Duplicate`;
//!   not found, and every generation whose filter said "maybe" is *exact* → `New` (a Bloom
//!   false positive, caught and counted); a "maybe" from an inexact generation →
//!   `Unconfirmed` (counted): only that generation's filter knows the key, so nobody can
//!   say for sure.
//! * [`DedupWindow::record`] writes the key into the active generation's filter and table,
//!   duplicates included (that is what slides the window).
//! * [`DedupWindow::rotate`]: previous ← active, active ← the old previous, cleared in place.
//!
//! A generation is *exact* while its table holds every key recorded in it. It stops being
//! exact when a record finds the table full ([`crate::limit_for`], about 7/6 of the
//! capacity: the owner is expected to rotate at capacity, see [`RECORD_AT_CAPACITY`]), and
//! when it was restored without a table (a snapshot from before the tables existed). A
//! rotation clears it and makes it exact again.
//!
//! # Wrong answers
//!
//! `New` is never wrong for a key recorded within the last two generations, unless an
//! inexact generation is involved (then the answer is `Unconfirmed`, never a guess).
//! `Duplicate` is wrong only when the key's 64-bit XXH64 equals the fingerprint of
//! another key stored in a table it is checked against: at most `2 · limit` fingerprints
//! (≈ 2.33 · capacity), so the chance per fresh key is at most ≈ 2.33 · n / 2^64: 1.3e-13
//! at n = 10^6 and 1.3e-12 at n = 10^7 (one wrong answer in ~8 · 10^12 fresh keys at 10^6).
//! That assumes keys not chosen to collide: XXH64 with seed 0 is not a keyed hash.
//!
//! # Concurrency
//!
//! Every method takes `&self` and every word is an atomic (see filter.rs and
//! fingerprint.rs for why `Relaxed` suffices), so the window is `Sync` and memory-safe
//! under any use. `check`, `record` and `observe` may run concurrently; `rotate` must not
//! overlap them (its owner serializes it): a key recorded into a generation while it is
//! being cleared may be half kept.

use crate::error::WindowError;
use crate::filter::{BloomFilter, OwnedWords};
use crate::fingerprint::{slots_for, FingerprintTable, Insert, MAX_TABLE_CAPACITY, ZERO_FINGERPRINT};
use crate::fingerprint_image::table_from_image;
use crate::hash::key_hash;
use crate::params::{Params, MAX_CAPACITY};
use crate::image::from_image;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// A window's answer for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Verdict {
    /// Not recorded within the window (certainly, up to a 64-bit collision).
    New = 0,
    /// Recorded within the window.
    Duplicate = 1,
    /// A Bloom "maybe" from a generation whose table is incomplete: unknown.
    Unconfirmed = 2,
}

impl Verdict {
    /// 0, 1 or 2: the code the N-API face returns.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// [`Recorded::bits`]: the key was not in the active generation before (its table took it,
/// or the table was full and the filter said "certainly absent").
pub const RECORD_INSERTED: u32 = 4;
/// [`Recorded::bits`]: the active table was full; the key is in the filter only and the
/// active generation is now inexact.
pub const RECORD_OVERFLOW: u32 = 8;
/// [`Recorded::bits`]: the active generation now counts at least `capacity` insertions:
/// time to rotate.
pub const RECORD_AT_CAPACITY: u32 = 16;

/// What [`DedupWindow::record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// See [`RECORD_INSERTED`].
    pub inserted: bool,
    /// See [`RECORD_OVERFLOW`].
    pub overflowed: bool,
    /// See [`RECORD_AT_CAPACITY`].
    pub at_capacity: bool,
}

impl Recorded {
    /// The flags as bits (`RECORD_*`); bits 0–1 are left free for a verdict.
    pub fn bits(&self) -> u32 {
        (if self.inserted { RECORD_INSERTED } else { 0 })
            | (if self.overflowed { RECORD_OVERFLOW } else { 0 })
            | (if self.at_capacity { RECORD_AT_CAPACITY } else { 0 })
    }
}

/// What [`DedupWindow::observe`] decided and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub verdict: Verdict,
    pub recorded: Recorded,
}

impl Observed {
    /// `verdict.code() | recorded.bits()`.
    pub fn code(&self) -> u32 {
        self.verdict.code() | self.recorded.bits()
    }
}

/// Which generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Active,
    Previous,
}

/// The shape of a window: its filters' parameters and its tables' slot count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowParams {
    bloom: Params,
    slots: u64,
}

impl WindowParams {
    /// Sizes a window for `capacity` keys per generation at false-positive rate `error_rate`.
    pub fn new(capacity: u64, error_rate: f64) -> Result<Self, WindowError> {
        Self::from_bloom(Params::new(capacity, error_rate)?)
    }

    /// The window whose filters have these parameters.
    pub fn from_bloom(bloom: Params) -> Result<Self, WindowError> {
        let capacity = bloom.capacity();
        if capacity > MAX_TABLE_CAPACITY {
            return Err(WindowError::CapacityTooLarge { capacity, max: MAX_TABLE_CAPACITY });
        }
        let slots = slots_for(capacity)?;
        Ok(WindowParams { bloom, slots })
    }

    pub fn bloom(&self) -> &Params {
        &self.bloom
    }
    pub fn capacity(&self) -> u64 {
        self.bloom.capacity()
    }
    pub fn error_rate(&self) -> f64 {
        self.bloom.error_rate()
    }
    /// Slots of each generation's table.
    pub fn table_slots(&self) -> u64 {
        self.slots
    }
    /// Most fingerprints a table holds.
    pub fn table_limit(&self) -> u64 {
        crate::fingerprint::limit_for(self.slots)
    }
    /// Words of a table's storage: slots + 1.
    pub fn table_words(&self) -> u64 {
        self.slots + 1
    }
    /// Bytes of one generation: `m / 8 + 8 · (slots + 1)`.
    pub fn generation_bytes(&self) -> u64 {
        self.bloom.byte_length() + 8 * self.table_words()
    }
    /// Bytes of the whole window (two generations).
    pub fn byte_length(&self) -> u64 {
        2 * self.generation_bytes()
    }

    fn describe(&self) -> String {
        format!(
            "capacity {}, error rate {}, {} bits, k = {}, {} table slots",
            self.capacity(),
            self.error_rate(),
            self.bloom.bit_count(),
            self.bloom.hash_count(),
            self.slots
        )
    }
}

/// One generation's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationStats {
    /// Distinct keys recorded (as far as known once inexact: the table's, plus the
    /// filter's "certainly absent" answers after it).
    pub insertions: u64,
    pub exact: bool,
    pub table_len: u64,
    pub table_slots: u64,
    pub fill_ratio: f64,
    pub estimated_false_positive_rate: f64,
}

/// Counters since the window was built (not snapshotted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowCounters {
    /// Checks where a filter said "maybe" and the exact tables said no: answered `New`.
    pub false_positives: u64,
    /// Checks answered `Unconfirmed`.
    pub unconfirmed: u64,
    /// Records refused by a full table (each makes or keeps its generation inexact).
    pub overflows: u64,
}

/// A Bloom filter, its fingerprint table, and what they know about themselves.
#[derive(Debug)]
pub struct Generation<S = OwnedWords> {
    bloom: BloomFilter<S>,
    table: FingerprintTable<S>,
    insertions: AtomicU64,
    exact: AtomicBool,
}

/// Raises a Relaxed counter by one: a plain load and store when the caller is the only
/// writer (no read-modify-write), else `fetch_add`.
#[inline]
fn bump(counter: &AtomicU64, unshared: bool) {
    if unshared {
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    } else {
        counter.fetch_add(1, Relaxed);
    }
}

impl<S: AsRef<[AtomicU64]>> Generation<S> {
    /// A generation from its parts, checked: the table has the slot count the filter's
    /// capacity calls for, an exact generation counts exactly as many insertions as its
    /// table holds fingerprints (an inexact one at least as many, at most 2^53 - 1), and
    /// every fingerprint's bits are set in the filter (O(table len · k)), so a table and a
    /// filter from different generations are refused. Fresh (zeroed) parts with
    /// `insertions = 0, exact = true` make an empty generation.
    pub fn from_parts(
        bloom: BloomFilter<S>,
        table: FingerprintTable<S>,
        insertions: u64,
        exact: bool,
    ) -> Result<Self, WindowError> {
        let params = WindowParams::from_bloom(*bloom.params())?;
        if table.slots() != params.table_slots() {
            return Err(WindowError::TableSizeMismatch { slots: table.slots(), expected: params.table_slots() });
        }
        let len = table.len();
        let counted_ok = if exact { insertions == len } else { insertions >= len && insertions <= MAX_CAPACITY };
        if !counted_ok {
            return Err(WindowError::InsertionCount { insertions, fingerprints: len, exact });
        }
        // (A table that counts no fingerprint is taken as empty: fresh storage is not scanned.)
        let words = if len == 0 { &[][..] } else { &table.words()[..table.slots() as usize] };
        for (slot, w) in words.iter().enumerate() {
            let fp = w.load(Relaxed);
            // A key hashing to 0 is stored as ZERO_FINGERPRINT but set the bits of 0.
            if fp != 0 && !bloom.has_hash(fp) && !(fp == ZERO_FINGERPRINT && bloom.has_hash(0)) {
                return Err(WindowError::TableNotInFilter { slot: slot as u64 });
            }
        }
        Ok(Generation { bloom, table, insertions: AtomicU64::new(insertions), exact: AtomicBool::new(exact) })
    }

    pub fn bloom(&self) -> &BloomFilter<S> {
        &self.bloom
    }
    pub fn table(&self) -> &FingerprintTable<S> {
        &self.table
    }
    pub fn insertions(&self) -> u64 {
        self.insertions.load(Relaxed)
    }
    /// True while the table holds every key recorded in this generation.
    pub fn is_exact(&self) -> bool {
        self.exact.load(Relaxed)
    }

    /// Fill ratio and estimated false-positive rate cost a popcount of the filter.
    pub fn stats(&self) -> GenerationStats {
        let fill_ratio = self.bloom.fill_ratio();
        GenerationStats {
            insertions: self.insertions(),
            exact: self.is_exact(),
            table_len: self.table.len(),
            table_slots: self.table.slots(),
            fill_ratio,
            estimated_false_positive_rate: fill_ratio.powf(f64::from(self.bloom.params().hash_count())),
        }
    }

    fn clear(&self) {
        self.bloom.clear();
        // A table that counts no fingerprint has only empty slots (fresh, cleared, or loaded
        // with its count checked): skipping it spares a fresh window's first rotation from
        // writing (and faulting in) pages it never used, 85 % of a generation.
        if !self.table.is_empty() {
            self.table.clear();
        }
        self.insertions.store(0, Relaxed);
        self.exact.store(true, Relaxed);
    }

    /// Records `hash` here; returns (inserted, overflowed).
    #[inline]
    fn record(&self, hash: u64, unshared: bool) -> (bool, bool) {
        let bloom_new = if unshared { self.bloom.add_hash_unshared(hash) } else { self.bloom.add_hash(hash) };
        let result = if unshared { self.table.insert_unshared(hash) } else { self.table.insert(hash) };
        match result {
            Insert::AlreadyPresent => (false, false),
            Insert::Inserted => {
                bump(&self.insertions, unshared);
                (true, false)
            }
            Insert::Full => {
                self.exact.store(false, Relaxed);
                if bloom_new {
                    bump(&self.insertions, unshared);
                }
                (bloom_new, true)
            }
        }
    }
}

impl Generation<OwnedWords> {
    /// An empty, owned generation of this shape (all memory written: a window built by
    /// the N-API face uses lazily zeroed pages through [`Generation::from_parts`] instead).
    pub fn empty(params: &WindowParams) -> Result<Self, WindowError> {
        let bloom = BloomFilter::with_params(*params.bloom())?;
        let table = FingerprintTable::with_slots(params.table_slots())?;
        Generation::from_parts(bloom, table, 0, true)
    }

    /// A generation from a Bloom snapshot (docs/bloom-format.md) and a table snapshot, or
    /// no table (a generation saved before tables existed, restored inexact). Every part
    /// is checked (see [`Generation::from_parts`]); nothing is kept on an error.
    pub fn from_images(
        bloom: &[u8],
        table: Option<&[u8]>,
        insertions: u64,
        exact: bool,
    ) -> Result<Self, WindowError> {
        let bloom = from_image(bloom)?;
        let params = WindowParams::from_bloom(*bloom.params())?;
        let table = match table {
            Some(bytes) => table_from_image(bytes)?,
            None if exact => return Err(WindowError::ExactWithoutTable),
            None => FingerprintTable::with_slots(params.table_slots())?,
        };
        Generation::from_parts(bloom, table, insertions, exact)
    }
}

/// Two generations and the counters of their answers. See the module documentation.
#[derive(Debug)]
pub struct DedupWindow<S = OwnedWords> {
    params: WindowParams,
    generations: [Generation<S>; 2],
    /// Index of the active generation (0 or 1).
    active: AtomicUsize,
    false_positives: AtomicU64,
    unconfirmed: AtomicU64,
    overflows: AtomicU64,
}

impl DedupWindow<OwnedWords> {
    /// An empty, owned window for `capacity` keys per generation at `error_rate`.
    pub fn new(capacity: u64, error_rate: f64) -> Result<Self, WindowError> {
        let params = WindowParams::new(capacity, error_rate)?;
        Self::from_generations(Generation::empty(&params)?, Generation::empty(&params)?)
    }
}

impl<S: AsRef<[AtomicU64]>> DedupWindow<S> {
    /// A window of two generations of the same shape (checked).
    pub fn from_generations(active: Generation<S>, previous: Generation<S>) -> Result<Self, WindowError> {
        let a = WindowParams::from_bloom(*active.bloom.params())?;
        let p = WindowParams::from_bloom(*previous.bloom.params())?;
        // Compared field by field: the error rate is an f64, equal bit for bit when sizes match.
        if a != p {
            return Err(WindowError::GenerationMismatch { active: a.describe(), previous: p.describe() });
        }
        Ok(DedupWindow {
            params: a,
            generations: [active, previous],
            active: AtomicUsize::new(0),
            false_positives: AtomicU64::new(0),
            unconfirmed: AtomicU64::new(0),
            overflows: AtomicU64::new(0),
        })
    }

    pub fn params(&self) -> &WindowParams {
        &self.params
    }

    #[inline]
    fn pair(&self) -> (&Generation<S>, &Generation<S>) {
        let i = self.active.load(Relaxed) & 1;
        (&self.generations[i], &self.generations[i ^ 1])
    }

    pub fn generation(&self, which: Which) -> &Generation<S> {
        let (active, previous) = self.pair();
        match which {
            Which::Active => active,
            Which::Previous => previous,
        }
    }

    /// Gives the generations back, active first.
    pub fn into_generations(self) -> [Generation<S>; 2] {
        let [a, b] = self.generations;
        if self.active.load(Relaxed) & 1 == 0 {
            [a, b]
        } else {
            [b, a]
        }
    }

    /// The verdict for `key` (see the module documentation); records nothing.
    pub fn check(&self, key: &[u8]) -> Verdict {
        self.check_hash(key_hash(key))
    }

    /// [`DedupWindow::check`] for a precomputed [`key_hash`].
    #[inline]
    pub fn check_hash(&self, hash: u64) -> Verdict {
        let (a, p) = self.pair();
        let a_maybe = a.bloom.has_hash(hash);
        if a_maybe && a.table.contains(hash) {
            return Verdict::Duplicate;
        }
        self.settle(hash, a_maybe, a.is_exact(), p)
    }

    /// The verdict once the active generation is known not to hold `hash` in its table:
    /// `a_maybe` is its filter's answer and `a_exact` its exactness.
    #[inline]
    fn settle(&self, hash: u64, a_maybe: bool, a_exact: bool, p: &Generation<S>) -> Verdict {
        let p_maybe = p.bloom.has_hash(hash);
        if p_maybe && p.table.contains(hash) {
            return Verdict::Duplicate;
        }
        if !a_maybe && !p_maybe {
            return Verdict::New;
        }
        if (a_maybe && !a_exact) || (p_maybe && !p.is_exact()) {
            self.unconfirmed.fetch_add(1, Relaxed);
            return Verdict::Unconfirmed;
        }
        self.false_positives.fetch_add(1, Relaxed);
        Verdict::New
    }

    /// Writes `key` into the active generation.
    pub fn record(&self, key: &[u8]) -> Recorded {
        self.record_hash(key_hash(key))
    }

    /// [`DedupWindow::record`] for a precomputed hash; safe with concurrent writers.
    #[inline]
    pub fn record_hash(&self, hash: u64) -> Recorded {
        self.record_in(self.pair().0, hash, false)
    }

    /// [`DedupWindow::record_hash`] for a window no other thread writes meanwhile (plain
    /// loads and stores instead of read-modify-writes; see `BloomFilter::add_hash_unshared`).
    #[inline]
    pub fn record_hash_unshared(&self, hash: u64) -> Recorded {
        self.record_in(self.pair().0, hash, true)
    }

    #[inline]
    fn record_in(&self, a: &Generation<S>, hash: u64, unshared: bool) -> Recorded {
        let (inserted, overflowed) = a.record(hash, unshared);
        if overflowed {
            self.overflows.fetch_add(1, Relaxed);
        }
        Recorded { inserted, overflowed, at_capacity: a.insertions() >= self.params.capacity() }
    }

    /// `check` then `record`, in one pass over the active generation.
    pub fn observe(&self, key: &[u8]) -> Observed {
        self.observe_hash(key_hash(key))
    }

    /// [`DedupWindow::observe`] for a precomputed hash; safe with concurrent writers.
    #[inline]
    pub fn observe_hash(&self, hash: u64) -> Observed {
        self.observe_in(hash, false)
    }

    /// [`DedupWindow::observe_hash`] for a window no other thread writes meanwhile.
    #[inline]
    pub fn observe_hash_unshared(&self, hash: u64) -> Observed {
        self.observe_in(hash, true)
    }

    #[inline]
    fn observe_in(&self, hash: u64, unshared: bool) -> Observed {
        let (a, p) = self.pair();
        // What check_hash would read, before the record changes it.
        let a_maybe = a.bloom.has_hash(hash);
        let a_exact = a.is_exact();
        let found = a_maybe && a.table.contains(hash);
        let recorded = if found {
            // Already in both the filter and the table: nothing to write.
            Recorded { inserted: false, overflowed: false, at_capacity: a.insertions() >= self.params.capacity() }
        } else {
            self.record_in(a, hash, unshared)
        };
        let verdict = if found { Verdict::Duplicate } else { self.settle(hash, a_maybe, a_exact, p) };
        Observed { verdict, recorded }
    }

    /// previous ← active; active ← the old previous, cleared in place and exact again.
    /// Must not overlap other calls (see the module documentation). O(memory of one
    /// generation): m / 8 bytes are zeroed, and 8 · (slots + 1) more unless its table is empty.
    pub fn rotate(&self) {
        let old_previous = (self.active.load(Relaxed) & 1) ^ 1;
        self.generations[old_previous].clear();
        self.active.store(old_previous, Relaxed);
    }

    /// Insertions into the active generation (the early-rotation trigger).
    pub fn active_insertions(&self) -> u64 {
        self.pair().0.insertions()
    }

    pub fn counters(&self) -> WindowCounters {
        WindowCounters {
            false_positives: self.false_positives.load(Relaxed),
            unconfirmed: self.unconfirmed.load(Relaxed),
            overflows: self.overflows.load(Relaxed),
        }
    }

    pub fn generation_stats(&self, which: Which) -> GenerationStats {
        self.generation(which).stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{BloomError, ImageError, TableError, TableImageError};
    use crate::fingerprint::limit_for;
    use std::sync::atomic::Ordering::Relaxed;

    fn key(prefix: &str, i: u64) -> Vec<u8> {
        format!("{prefix}-{i:08}").into_bytes()
    }

    fn export(g: &Generation) -> (Vec<u8>, Vec<u8>, u64, bool) {
        (g.bloom().to_image().unwrap(), g.table().to_image().unwrap(), g.insertions(), g.is_exact())
    }

    #[test]
    fn sizing_and_bytes_per_key() {
        let p = WindowParams::new(1_000_000, 0.001).unwrap();
        assert_eq!(p.table_slots(), 1_333_334);
        assert_eq!(p.table_limit(), 1_166_667);
        assert_eq!(p.generation_bytes(), 1_797_200 + 8 * 1_333_335);
        // 1.80 (filter) + 10.67 (table) bytes per key and generation.
        let per_key = p.generation_bytes() as f64 / 1e6;
        assert!((per_key - 12.46).abs() < 0.01, "{per_key}");
        assert!(matches!(
            WindowParams::new(MAX_TABLE_CAPACITY + 1, 0.5),
            Err(WindowError::CapacityTooLarge { .. })
        ));
        assert!(matches!(WindowParams::new(0, 0.01), Err(WindowError::Bloom(BloomError::InvalidCapacity(0)))));
    }

    #[test]
    fn no_false_negatives() {
        let w = DedupWindow::new(20_000, 0.01).unwrap();
        for i in 0..20_000 {
            let r = w.record(&key("k", i));
            assert!(r.inserted && !r.overflowed);
            assert_eq!(r.at_capacity, i == 19_999);
        }
        assert_eq!(w.active_insertions(), 20_000);
        for i in 0..20_000 {
            assert_eq!(w.check(&key("k", i)), Verdict::Duplicate, "key {i}");
        }
        // Still there one rotation later.
        w.rotate();
        for i in 0..20_000 {
            assert_eq!(w.check(&key("k", i)), Verdict::Duplicate, "key {i}");
        }
        assert_eq!(w.counters().unconfirmed, 0);
    }

    #[test]
    fn exact_over_three_capacities_of_fresh_keys() {
        // 3x capacity of fresh keys through observe, rotating at capacity: never a Duplicate,
        // never Unconfirmed, while the filters did say "maybe" (false positives caught).
        let capacity = 50_000u64;
        let w = DedupWindow::new(capacity, 0.01).unwrap();
        let mut rotations = 0;
        for i in 0..3 * capacity {
            let o = w.observe(&key("fresh", i));
            assert_eq!(o.verdict, Verdict::New, "fresh key {i}");
            assert!(o.recorded.inserted);
            if o.recorded.at_capacity {
                w.rotate();
                rotations += 1;
            }
        }
        assert_eq!(rotations, 3);
        let c = w.counters();
        assert_eq!((c.unconfirmed, c.overflows), (0, 0));
        // Two full generations at p = 0.01 each: roughly 1-2 % of checks saw a "maybe".
        assert!(c.false_positives > 1000, "{c:?}");
        // The unshared path answers alike.
        let u = DedupWindow::new(capacity, 0.01).unwrap();
        for i in 0..3 * capacity {
            let o = u.observe_hash_unshared(key_hash(&key("fresh", i)));
            assert_eq!(o.verdict, Verdict::New);
            if o.recorded.at_capacity {
                u.rotate();
            }
        }
        assert_eq!(u.counters(), c);
    }

    #[test]
    fn duplicates_live_two_generations_and_refresh() {
        let w = DedupWindow::new(1000, 0.01).unwrap();
        assert_eq!(w.observe(b"a").verdict, Verdict::New);
        assert_eq!(w.observe(b"a").verdict, Verdict::Duplicate);
        assert_eq!(w.observe(b"b").verdict, Verdict::New);
        w.rotate();
        // Found in the previous generation; observing "a" copies it forward.
        assert_eq!(w.check(b"a"), Verdict::Duplicate);
        assert_eq!(w.check(b"b"), Verdict::Duplicate);
        let o = w.observe(b"a");
        assert_eq!(o.verdict, Verdict::Duplicate);
        assert!(o.recorded.inserted, "new to the active generation");
        w.rotate();
        // "a" was refreshed one generation ago; "b" is forgotten after two rotations.
        assert_eq!(w.check(b"a"), Verdict::Duplicate);
        assert_eq!(w.check(b"b"), Verdict::New);
        w.rotate();
        assert_eq!(w.check(b"a"), Verdict::New);
        assert_eq!(w.generation_stats(Which::Active).insertions, 0);
        assert_eq!(w.generation_stats(Which::Previous).insertions, 0);
    }

    #[test]
    fn check_does_not_record() {
        let w = DedupWindow::new(100, 0.01).unwrap();
        assert_eq!(w.check(b"x"), Verdict::New);
        assert_eq!(w.check(b"x"), Verdict::New);
        assert_eq!(w.active_insertions(), 0);
        assert_eq!(w.generation(Which::Active).bloom().set_bit_count(), 0);
        let r = w.record(b"x");
        assert_eq!(r.bits(), RECORD_INSERTED);
        assert_eq!(w.record(b"x").bits(), 0, "a duplicate is refreshed, not inserted");
        assert_eq!(w.check(b"x"), Verdict::Duplicate);
    }

    #[test]
    fn overflow_makes_a_generation_inexact_until_cleared() {
        // capacity 10: 14 slots, limit 12.
        let w = DedupWindow::new(10, 0.001).unwrap();
        assert_eq!(w.params().table_limit(), 12);
        for i in 0..12 {
            let r = w.record(&key("o", i));
            assert!(r.inserted && !r.overflowed);
            assert_eq!(r.at_capacity, i >= 9);
        }
        assert!(w.generation(Which::Active).is_exact());
        let r = w.record(&key("o", 12));
        assert!(r.overflowed && r.at_capacity);
        assert_eq!(r.bits() & RECORD_OVERFLOW, RECORD_OVERFLOW);
        assert!(!w.generation(Which::Active).is_exact());
        assert_eq!(w.counters().overflows, 1);
        // The overflowed key is only in the filter: nobody can confirm it.
        assert_eq!(w.check(&key("o", 12)), Verdict::Unconfirmed);
        assert_eq!(w.counters().unconfirmed, 1);
        // Keys in the table are still exact duplicates; keys the filter rules out are new.
        assert_eq!(w.check(&key("o", 3)), Verdict::Duplicate);
        let absent = (100..1000).filter(|&i| w.check(&key("o", i)) == Verdict::New).count();
        assert!(absent > 800, "{absent}");
        // After one rotation the inexact generation is the previous one: still unconfirmed.
        w.rotate();
        assert_eq!(w.check(&key("o", 12)), Verdict::Unconfirmed);
        assert!(w.generation(Which::Active).is_exact());
        assert!(!w.generation(Which::Previous).is_exact());
        // After two it is cleared and exact again.
        w.rotate();
        assert_eq!(w.check(&key("o", 12)), Verdict::New);
        assert!(w.generation(Which::Active).is_exact() && w.generation(Which::Previous).is_exact());
        assert_eq!(w.counters().overflows, 1);
    }

    #[test]
    fn observe_equals_check_then_record() {
        // Two windows fed the same operations, one through observe, the other through
        // check + record: same verdicts, flags, counters and bytes, overflow included.
        let a = DedupWindow::new(300, 0.05).unwrap();
        let b = DedupWindow::new(300, 0.05).unwrap();
        let mut seed = 0x1234_5678u64;
        for step in 0..20_000u64 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let k = key("mix", (seed >> 33) % 900);
            if step % 997 == 0 {
                a.rotate();
                b.rotate();
            }
            let o = if step % 2 == 0 { a.observe(&k) } else { a.observe_hash_unshared(key_hash(&k)) };
            let v = b.check(&k);
            let r = b.record(&k);
            assert_eq!(o, Observed { verdict: v, recorded: r }, "step {step}");
        }
        assert_eq!(a.counters(), b.counters());
        assert!(a.counters().overflows > 0 && a.counters().unconfirmed > 0, "{:?}", a.counters());
        for which in [Which::Active, Which::Previous] {
            assert_eq!(export(a.generation(which)), export(b.generation(which)));
        }
    }

    #[test]
    fn rotation_clears_what_was_used() {
        let w = DedupWindow::new(100, 0.01).unwrap();
        w.record(b"one");
        w.rotate();
        w.rotate(); // clears the generation that held "one"
        let g = w.generation(Which::Active);
        assert_eq!(g.bloom().set_bit_count(), 0);
        assert!(g.table().words().iter().all(|x| x.load(Relaxed) == 0));
        assert_eq!((g.insertions(), g.is_exact()), (0, true));
        assert_eq!(w.check(b"one"), Verdict::New);
    }

    #[test]
    fn codes() {
        assert_eq!(Verdict::New.code(), 0);
        assert_eq!(Verdict::Duplicate.code(), 1);
        assert_eq!(Verdict::Unconfirmed.code(), 2);
        let o = Observed {
            verdict: Verdict::Unconfirmed,
            recorded: Recorded { inserted: true, overflowed: true, at_capacity: true },
        };
        assert_eq!(o.code(), 2 | 4 | 8 | 16);
    }

    #[test]
    fn images_round_trip() {
        let w = DedupWindow::new(2000, 0.01).unwrap();
        for i in 0..1500 {
            w.observe(&key("p", i));
        }
        w.rotate();
        for i in 1000..2500 {
            w.observe(&key("p", i));
        }
        let (ab, at, ai, ae) = export(w.generation(Which::Active));
        let (pb, pt, pi, pe) = export(w.generation(Which::Previous));
        assert_eq!((ai, pi), (1500, 1500));
        let active = Generation::from_images(&ab, Some(&at), ai, ae).unwrap();
        let previous = Generation::from_images(&pb, Some(&pt), pi, pe).unwrap();
        let r = DedupWindow::from_generations(active, previous).unwrap();
        assert_eq!(r.params(), w.params());
        for i in 0..3000 {
            assert_eq!(r.check(&key("p", i)), w.check(&key("p", i)), "key {i}");
        }
        assert_eq!(export(r.generation(Which::Active)), (ab, at, ai, ae));
        assert_eq!(export(r.generation(Which::Previous)), (pb, pt, pi, pe));
        // And the restored window goes on like the original.
        for i in 2500..2600 {
            assert_eq!(r.observe(&key("p", i)), w.observe(&key("p", i)));
        }
    }

    #[test]
    fn a_generation_without_table_is_inexact() {
        // A snapshot from before the tables: the filter alone.
        let w = DedupWindow::new(1000, 0.01).unwrap();
        for i in 0..500 {
            w.record(&key("old", i));
        }
        let bloom = w.generation(Which::Active).bloom().to_image().unwrap();
        assert_eq!(
            Generation::from_images(&bloom, None, 500, true).unwrap_err(),
            WindowError::ExactWithoutTable
        );
        let old = Generation::from_images(&bloom, None, 500, false).unwrap();
        let empty = Generation::empty(w.params()).unwrap();
        let r = DedupWindow::from_generations(empty, old).unwrap();
        assert!(!r.generation(Which::Previous).is_exact());
        // Keys of the old generation cannot be confirmed, keys its filter rules out are new.
        assert!((0..500).all(|i| r.check(&key("old", i)) == Verdict::Unconfirmed));
        assert!((500..1500).filter(|&i| r.check(&key("old", i)) == Verdict::New).count() > 950);
        // Observing an old key copies it into the exact active generation...
        let o = r.observe(&key("old", 7));
        assert_eq!(o.verdict, Verdict::Unconfirmed);
        assert!(o.recorded.inserted);
        assert_eq!(r.check(&key("old", 7)), Verdict::Duplicate);
        // ...and one rotation later the old generation is gone.
        r.rotate();
        assert_eq!(r.check(&key("old", 7)), Verdict::Duplicate);
        assert_eq!(r.check(&key("old", 8)), Verdict::New);
    }

    #[test]
    fn restores_are_checked() {
        let w = DedupWindow::new(1000, 0.01).unwrap();
        for i in 0..600 {
            w.record(&key("r", i));
        }
        w.rotate();
        for i in 0..300 {
            w.record(&key("s", i));
        }
        let (ab, at, ai, _) = export(w.generation(Which::Active));
        let (pb, pt, pi, _) = export(w.generation(Which::Previous));
        let ok = |b: &[u8], t: &[u8], i: u64| Generation::from_images(b, Some(t), i, true);
        assert!(ok(&ab, &at, ai).is_ok());
        // A broken Bloom snapshot or table snapshot.
        assert!(matches!(
            ok(&ab[..10], &at, ai),
            Err(WindowError::Bloom(BloomError::Image(ImageError::Truncated { len: 10 })))
        ));
        let mut bad = at.clone();
        bad[50] ^= 1;
        assert!(matches!(
            ok(&ab, &bad, ai),
            Err(WindowError::Table(TableError::Image(TableImageError::ChecksumMismatch { .. })))
        ));
        // Insertion counts that contradict the table.
        assert_eq!(
            ok(&ab, &at, ai + 1).unwrap_err(),
            WindowError::InsertionCount { insertions: 301, fingerprints: 300, exact: true }
        );
        assert!(Generation::from_images(&ab, Some(&at), 5000, false).is_ok());
        assert_eq!(
            Generation::from_images(&ab, Some(&at), 299, false).unwrap_err(),
            WindowError::InsertionCount { insertions: 299, fingerprints: 300, exact: false }
        );
        assert!(matches!(
            Generation::from_images(&ab, Some(&at), 1 << 53, false),
            Err(WindowError::InsertionCount { .. })
        ));
        // The active table with the previous filter: not the same generation.
        assert!(matches!(ok(&pb, &at, ai), Err(WindowError::TableNotInFilter { .. })));
        assert!(matches!(ok(&ab, &pt, pi), Err(WindowError::TableNotInFilter { .. })));
        // A table of another size.
        let other = DedupWindow::new(2000, 0.01).unwrap();
        let (ob, ot, _, _) = export(other.generation(Which::Active));
        assert_eq!(
            ok(&ab, &ot, 0).unwrap_err(),
            WindowError::TableSizeMismatch { slots: 2667, expected: 1334 }
        );
        // Generations of different shapes.
        let a = ok(&ab, &at, ai).unwrap();
        let o = Generation::from_images(&ob, Some(&ot), 0, true).unwrap();
        let e = DedupWindow::from_generations(a, o).unwrap_err();
        assert!(matches!(e, WindowError::GenerationMismatch { .. }));
        assert!(e.to_string().contains("capacity 1000") && e.to_string().contains("capacity 2000"), "{e}");
        let same_n = DedupWindow::new(1000, 0.02).unwrap();
        let a = ok(&ab, &at, ai).unwrap();
        let (sb, st, _, _) = export(same_n.generation(Which::Active));
        let s = Generation::from_images(&sb, Some(&st), 0, true).unwrap();
        assert!(matches!(DedupWindow::from_generations(a, s), Err(WindowError::GenerationMismatch { .. })));
    }

    #[test]
    fn zero_hash_keys_work_end_to_end() {
        let w = DedupWindow::new(100, 0.01).unwrap();
        assert_eq!(w.observe_hash(0).verdict, Verdict::New);
        assert_eq!(w.check_hash(0), Verdict::Duplicate);
        let g = w.generation(Which::Active);
        let r = Generation::from_images(
            &g.bloom().to_image().unwrap(),
            Some(&g.table().to_image().unwrap()),
            1,
            true,
        );
        assert!(r.is_ok(), "the ZERO_FINGERPRINT entry is accepted: its bits are those of 0");
    }

    #[test]
    fn stats() {
        let w = DedupWindow::new(1000, 0.01).unwrap();
        for i in 0..1000 {
            w.record(&key("t", i));
        }
        let s = w.generation_stats(Which::Active);
        assert_eq!((s.insertions, s.table_len, s.table_slots, s.exact), (1000, 1000, 1334, true));
        assert!((s.fill_ratio - 0.5).abs() < 0.05, "{s:?}");
        assert!(s.estimated_false_positive_rate > 0.005 && s.estimated_false_positive_rate < 0.02, "{s:?}");
        let p = w.generation_stats(Which::Previous);
        assert_eq!((p.insertions, p.table_len, p.fill_ratio), (0, 0, 0.0));
        assert_eq!(limit_for(s.table_slots), 1167);
    }

    #[test]
    fn concurrent_records_and_checks() {
        use std::sync::Arc;
        let w = Arc::new(DedupWindow::new(40_000, 0.01).unwrap());
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let w = Arc::clone(&w);
                std::thread::spawn(move || {
                    let mut inserted = 0;
                    for i in 0..10_000 {
                        // Own keys, plus a share of keys every thread records.
                        if w.record(&key("c", t * 10_000 + i)).inserted {
                            inserted += 1;
                        }
                        if w.record(&key("shared", i % 1000)).inserted {
                            inserted += 1;
                        }
                    }
                    inserted
                })
            })
            .collect();
        let inserted: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(inserted, 41_000, "each distinct key inserted exactly once");
        assert_eq!(w.active_insertions(), 41_000);
        assert!((0..40_000).all(|i| w.check(&key("c", i)) == Verdict::Duplicate));
        assert!(!w.generation(Which::Active).is_exact() || w.generation(Which::Active).table().len() == 41_000);
    }
}
