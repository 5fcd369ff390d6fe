//! Fingerprint table snapshot, format version 1 (docs/bloom-format.md, "Fingerprint table
//! snapshot"): a 40-byte header, then the slots as little-endian u64.

use crate::error::{TableError, TableImageError};
use crate::fingerprint::{home_slot, limit_for, valid_slot_count, FingerprintTable};
use crate::filter::OwnedWords;
use crate::hash::HASH_ID;
use crate::image::{checksum, u16_at, u32_at, u64_at};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub const TABLE_MAGIC: [u8; 8] = *b"CXFPTBL\0";
pub const TABLE_FORMAT_VERSION: u16 = 1;
pub const TABLE_HEADER_LEN: usize = 40;
/// The checksum covers bytes `[0, TABLE_CHECKSUM_OFFSET)` then the slots.
const TABLE_CHECKSUM_OFFSET: usize = 32;

/// Total snapshot length of a table of `slots` slots: `40 + 8 · slots`.
pub fn table_image_len(slots: u64) -> u64 {
    TABLE_HEADER_LEN as u64 + 8 * slots
}

impl<S: AsRef<[AtomicU64]>> FingerprintTable<S> {
    /// Writes the snapshot into `out`, which must be exactly [`table_image_len`] bytes.
    ///
    /// The count written is that of the non-empty slots copied, so the snapshot is
    /// self-consistent even if another thread inserts meanwhile (take snapshots of a
    /// shared table while nobody inserts: a concurrent insert may or may not be in it).
    pub fn write_image(&self, out: &mut [u8]) -> Result<(), TableError> {
        let expected = table_image_len(self.slots());
        if out.len() as u64 != expected {
            return Err(TableImageError::LengthMismatch { expected, actual: out.len() }.into());
        }
        let (header, body) = out.split_at_mut(TABLE_HEADER_LEN);
        let mut count = 0u64;
        for (chunk, slot) in body.chunks_exact_mut(8).zip(self.words()) {
            let v = slot.load(Relaxed);
            count += u64::from(v != 0);
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        header[0..8].copy_from_slice(&TABLE_MAGIC);
        header[8..10].copy_from_slice(&TABLE_FORMAT_VERSION.to_le_bytes());
        header[10..12].copy_from_slice(&HASH_ID.to_le_bytes());
        header[12..16].copy_from_slice(&0u32.to_le_bytes());
        header[16..24].copy_from_slice(&self.slots().to_le_bytes());
        header[24..32].copy_from_slice(&count.to_le_bytes());
        let sum = checksum(header, TABLE_CHECKSUM_OFFSET, body);
        header[32..40].copy_from_slice(&sum.to_le_bytes());
        Ok(())
    }

    /// The snapshot as a new byte vector.
    pub fn to_image(&self) -> Result<Vec<u8>, TableError> {
        let len = table_image_len(self.slots());
        let oom = || TableError::OutOfMemory { bytes: len };
        let n = usize::try_from(len).map_err(|_| oom())?;
        let mut out = Vec::new();
        out.try_reserve_exact(n).map_err(|_| oom())?;
        out.resize(n, 0);
        self.write_image(&mut out)?;
        Ok(out)
    }
}

/// What a table snapshot's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableHeader {
    pub slots: u64,
    pub count: u64,
}

/// Checks a table snapshot's header, length and checksum, in the spec's order, without
/// looking at the slots' contents (that is [`table_from_image`]'s last step).
pub fn parse_table_header(bytes: &[u8]) -> Result<TableHeader, TableImageError> {
    if bytes.len() < TABLE_HEADER_LEN {
        return Err(TableImageError::Truncated { len: bytes.len() });
    }
    if bytes[0..8] != TABLE_MAGIC {
        return Err(TableImageError::BadMagic);
    }
    let version = u16_at(bytes, 8);
    if version != TABLE_FORMAT_VERSION {
        return Err(TableImageError::UnsupportedVersion(version));
    }
    let hash_id = u16_at(bytes, 10);
    if hash_id != HASH_ID {
        return Err(TableImageError::UnsupportedHashId(hash_id));
    }
    let reserved = u32_at(bytes, 12);
    if reserved != 0 {
        return Err(TableImageError::NonZeroReserved(reserved));
    }
    let slots = u64_at(bytes, 16);
    if !valid_slot_count(slots) {
        return Err(TableImageError::InvalidSlotCount(slots));
    }
    let count = u64_at(bytes, 24);
    let limit = limit_for(slots);
    if count > limit {
        return Err(TableImageError::TooManyEntries { count, limit });
    }
    let expected = table_image_len(slots);
    if bytes.len() as u64 != expected {
        return Err(TableImageError::LengthMismatch { expected, actual: bytes.len() });
    }
    let stored = u64_at(bytes, 32);
    let computed = checksum(bytes, TABLE_CHECKSUM_OFFSET, &bytes[TABLE_HEADER_LEN..]);
    if stored != computed {
        return Err(TableImageError::ChecksumMismatch { stored, computed });
    }
    Ok(TableHeader { slots, count })
}

/// Checks that the slots hold `count` fingerprints, each reachable by linear probing from
/// its home slot (no empty slot between them), in one pass. `count < slots` (the header
/// check guarantees it), so there is an empty slot to start from.
fn check_contents(slots: &[AtomicU64], count: u64) -> Result<(), TableImageError> {
    let n = slots.len() as u64;
    let value = |i: u64| slots[i as usize].load(Relaxed);
    let counted = slots.iter().filter(|w| w.load(Relaxed) != 0).count() as u64;
    if counted != count {
        return Err(TableImageError::CountMismatch { stored: count, counted });
    }
    let Some(empty) = (0..n).find(|&i| value(i) == 0) else {
        return Ok(()); // unreachable: counted < n
    };
    // `run`: occupied slots since the last empty one. A fingerprint `d` slots past its
    // home needs at least `d` occupied slots right before it.
    let mut run = 0u64;
    for step in 1..=n {
        let i = (empty + step) % n;
        let fp = value(i);
        if fp == 0 {
            run = 0;
            continue;
        }
        let home = home_slot(fp, n);
        let distance = (i + n - home) % n;
        if distance > run {
            return Err(TableImageError::Misplaced { slot: i, home });
        }
        run += 1;
    }
    Ok(())
}

/// Loads a table snapshot into a new owned table. Every rule of the format is checked;
/// any rejection leaves nothing behind.
pub fn table_from_image(bytes: &[u8]) -> Result<FingerprintTable<OwnedWords>, TableError> {
    let TableHeader { slots, count } = parse_table_header(bytes)?;
    let table = FingerprintTable::with_slots(slots)?;
    let words = table.words();
    for (word, chunk) in words.iter().zip(bytes[TABLE_HEADER_LEN..].chunks_exact(8)) {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        word.store(u64::from_le_bytes(a), Relaxed);
    }
    check_contents(&words[..slots as usize], count)?;
    words[slots as usize].store(count, Relaxed);
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{Insert, MAX_SLOTS};
    use xxhash_rust::xxh64::Xxh64;
    use crate::hash::key_hash;

    fn h(i: u64) -> u64 {
        key_hash(format!("k{i}").as_bytes())
    }

    fn sample() -> (FingerprintTable, Vec<u8>) {
        let t = FingerprintTable::new(1000).unwrap();
        for i in 0..900 {
            t.insert(h(i));
        }
        let snap = t.to_image().unwrap();
        (t, snap)
    }

    fn reseal(b: &mut [u8]) {
        let sum = checksum(b, TABLE_CHECKSUM_OFFSET, &b[TABLE_HEADER_LEN..]);
        b[32..40].copy_from_slice(&sum.to_le_bytes());
    }

    #[test]
    fn layout() {
        let (t, snap) = sample();
        assert_eq!(snap.len() as u64, 40 + 8 * t.slots());
        assert_eq!(&snap[0..8], b"CXFPTBL\0");
        assert_eq!(&snap[8..10], &[1, 0]);
        assert_eq!(&snap[10..12], &[2, 0]);
        assert_eq!(u32_at(&snap, 12), 0);
        assert_eq!(u64_at(&snap, 16), 1334);
        assert_eq!(u64_at(&snap, 24), 900);
        let mut sum = Xxh64::new(0);
        sum.update(&snap[..32]);
        sum.update(&snap[40..]);
        assert_eq!(u64_at(&snap, 32), sum.digest());
        // Slot i is the u64 at 40 + 8 i.
        for (i, w) in t.words()[..1334].iter().enumerate() {
            assert_eq!(u64_at(&snap, 40 + 8 * i), w.load(Relaxed));
        }
    }

    #[test]
    fn round_trip() {
        let (t, snap) = sample();
        let u = table_from_image(&snap).unwrap();
        assert_eq!((u.slots(), u.len(), u.limit()), (t.slots(), 900, t.limit()));
        assert!((0..900).all(|i| u.contains(h(i))));
        assert!((900..2000).all(|i| !u.contains(h(i))));
        assert_eq!(u.to_image().unwrap(), snap);
        // Still usable: inserts continue up to the limit.
        assert_eq!(u.insert(h(5000)), Insert::Inserted);
        assert_eq!(u.len(), 901);
    }

    #[test]
    fn empty_and_tiny_tables_round_trip() {
        for slots in [1u64, 2, 8] {
            let t = FingerprintTable::with_slots(slots).unwrap();
            let snap = t.to_image().unwrap();
            assert_eq!(snap.len() as u64, 40 + 8 * slots);
            let u = table_from_image(&snap).unwrap();
            assert_eq!((u.slots(), u.len()), (slots, 0));
        }
    }

    #[test]
    fn wrapped_runs_load() {
        // Keys homed in the last slot wrap to the front: still valid.
        let t = FingerprintTable::with_slots(8).unwrap();
        for fp in [u64::MAX, u64::MAX - 1, u64::MAX - 2, 5] {
            t.insert(fp);
        }
        let u = table_from_image(&t.to_image().unwrap()).unwrap();
        assert_eq!(u.len(), 4);
        assert!(u.contains(u64::MAX - 2) && u.contains(5));
    }

    #[test]
    fn rejects_truncated_and_wrong_lengths() {
        let (_, snap) = sample();
        for len in [0usize, 1, 8, 39] {
            assert_eq!(parse_table_header(&snap[..len]), Err(TableImageError::Truncated { len }));
        }
        for len in [40usize, snap.len() - 1] {
            assert!(matches!(
                parse_table_header(&snap[..len]),
                Err(TableImageError::LengthMismatch { .. })
            ));
        }
        let mut longer = snap.clone();
        longer.extend_from_slice(&[0; 8]);
        assert!(matches!(parse_table_header(&longer), Err(TableImageError::LengthMismatch { .. })));
    }

    #[test]
    fn rejects_foreign_and_bad_fields() {
        let (_, snap) = sample();
        let edit = |at: usize, bytes: &[u8]| {
            let mut b = snap.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            b
        };
        assert_eq!(parse_table_header(&edit(0, b"CXBLOOM\0")), Err(TableImageError::BadMagic));
        assert_eq!(parse_table_header(&edit(7, &[1])), Err(TableImageError::BadMagic));
        assert_eq!(parse_table_header(&edit(8, &[2, 0])), Err(TableImageError::UnsupportedVersion(2)));
        assert_eq!(parse_table_header(&edit(8, &[0, 0])), Err(TableImageError::UnsupportedVersion(0)));
        assert_eq!(parse_table_header(&edit(10, &[1, 0])), Err(TableImageError::UnsupportedHashId(1)));
        assert_eq!(parse_table_header(&edit(12, &[0, 0, 0, 1])), Err(TableImageError::NonZeroReserved(1 << 24)));
        assert_eq!(
            parse_table_header(&edit(16, &0u64.to_le_bytes())),
            Err(TableImageError::InvalidSlotCount(0))
        );
        assert_eq!(
            parse_table_header(&edit(16, &(MAX_SLOTS + 1).to_le_bytes())),
            Err(TableImageError::InvalidSlotCount(MAX_SLOTS + 1))
        );
        assert_eq!(
            parse_table_header(&edit(24, &1168u64.to_le_bytes())),
            Err(TableImageError::TooManyEntries { count: 1168, limit: 1167 })
        );
        // A valid but different slot count changes the expected length.
        assert_eq!(
            parse_table_header(&edit(16, &8u64.to_le_bytes())),
            Err(TableImageError::TooManyEntries { count: 900, limit: 7 })
        );
        let mut small = edit(16, &2000u64.to_le_bytes());
        assert_eq!(
            parse_table_header(&small),
            Err(TableImageError::LengthMismatch { expected: 16_040, actual: snap.len() })
        );
        small.truncate(40);
        assert!(matches!(parse_table_header(&small), Err(TableImageError::LengthMismatch { .. })));
        // Errors from the loader say the same, wrapped.
        let e = table_from_image(&snap[..3]).unwrap_err();
        assert_eq!(e.to_string(), "invalid fingerprint table snapshot: truncated: 3 bytes, shorter than the 40-byte header");
    }

    #[test]
    fn rejects_checksum_mismatch() {
        let (_, snap) = sample();
        for at in [16usize, 24, 31, 32, 39, 40, snap.len() - 1] {
            let mut b = snap.clone();
            b[at] ^= 0x01;
            let r = parse_table_header(&b);
            assert!(
                matches!(r, Err(TableImageError::ChecksumMismatch { .. }) | Err(TableImageError::TooManyEntries { .. }) | Err(TableImageError::LengthMismatch { .. })),
                "byte {at}: {r:?}"
            );
        }
        let mut b = snap.clone();
        b[100] ^= 0x40;
        assert!(matches!(parse_table_header(&b), Err(TableImageError::ChecksumMismatch { .. })));
    }

    #[test]
    fn rejects_inconsistent_contents() {
        let (t, snap) = sample();
        // Count says 899 but 900 slots are occupied (resealed: only the content check sees it).
        let mut b = snap.clone();
        b[24..32].copy_from_slice(&899u64.to_le_bytes());
        reseal(&mut b);
        assert_eq!(
            table_from_image(&b).unwrap_err(),
            TableError::Image(TableImageError::CountMismatch { stored: 899, counted: 900 })
        );
        // A fingerprint moved away from its run: unreachable from its home.
        let slots = t.slots();
        let (occupied, empty) = {
            let v: Vec<u64> = t.words()[..slots as usize].iter().map(|w| w.load(Relaxed)).collect();
            // A fingerprint alone in its home slot i (slot i + 1 empty, so moving it breaks
            // no other), and an empty slot well after it with an empty slot right before it.
            let i = (0..slots as usize - 1)
                .find(|&i| v[i] != 0 && v[i + 1] == 0 && home_slot(v[i], slots) == i as u64)
                .unwrap();
            let j = (i + 2..slots as usize).find(|&j| v[j] == 0 && v[j - 1] == 0).unwrap();
            (i, j)
        };
        let mut b = snap.clone();
        let (o, e) = (40 + 8 * occupied, 40 + 8 * empty);
        let moved: Vec<u8> = b[o..o + 8].to_vec();
        b[e..e + 8].copy_from_slice(&moved);
        b[o..o + 8].copy_from_slice(&[0; 8]);
        reseal(&mut b);
        assert_eq!(
            table_from_image(&b).unwrap_err(),
            TableError::Image(TableImageError::Misplaced { slot: empty as u64, home: occupied as u64 })
        );
        // Also when the bad slot is the first one scanned after an empty slot at the end.
        let mut b = vec![0u8; 40 + 8 * 8];
        b[0..8].copy_from_slice(&TABLE_MAGIC);
        b[8..10].copy_from_slice(&1u16.to_le_bytes());
        b[10..12].copy_from_slice(&2u16.to_le_bytes());
        b[16..24].copy_from_slice(&8u64.to_le_bytes());
        b[24..32].copy_from_slice(&1u64.to_le_bytes());
        b[40..48].copy_from_slice(&u64::MAX.to_le_bytes()); // home 7, stored in slot 0, slot 7 empty
        reseal(&mut b);
        assert_eq!(
            table_from_image(&b).unwrap_err(),
            TableError::Image(TableImageError::Misplaced { slot: 0, home: 7 })
        );
        // The same fingerprint in slot 7 is fine.
        b[40..48].copy_from_slice(&[0; 8]);
        b[40 + 56..40 + 64].copy_from_slice(&u64::MAX.to_le_bytes());
        reseal(&mut b);
        assert!(table_from_image(&b).unwrap().contains(u64::MAX));
    }

    #[test]
    fn never_panics_on_garbage() {
        // Random bytes with a valid header shape: every outcome is an error or a table.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..2000 {
            let slots = 1 + next() % 16;
            let mut b = vec![0u8; 40 + 8 * slots as usize];
            for x in b.iter_mut().skip(40) {
                // Mostly empty slots, some random fingerprints.
                *x = if next() % 4 == 0 { next() as u8 } else { 0 };
            }
            b[0..8].copy_from_slice(&TABLE_MAGIC);
            b[8..10].copy_from_slice(&1u16.to_le_bytes());
            b[10..12].copy_from_slice(&2u16.to_le_bytes());
            b[16..24].copy_from_slice(&slots.to_le_bytes());
            let count = b[40..].chunks_exact(8).filter(|c| c.iter().any(|&x| x != 0)).count() as u64;
            b[24..32].copy_from_slice(&(if round % 3 == 0 { next() % 20 } else { count }).to_le_bytes());
            reseal(&mut b);
            let _ = table_from_image(&b);
            let cut = (next() % b.len() as u64) as usize;
            let _ = table_from_image(&b[..cut]);
        }
    }
}
