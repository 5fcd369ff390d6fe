//! Snapshot format version 1 (docs/bloom-format.md): a 48-byte header then the bit words.

use crate::error::{BloomError, ImageError};
use crate::filter::{zeroed_words, BloomFilter, OwnedWords};
use crate::hash::HASH_ID;
use crate::params::{valid_bit_count, valid_capacity, valid_error_rate, valid_hash_count, Params};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use xxhash_rust::xxh64::{xxh64, Xxh64};

pub const MAGIC: [u8; 8] = *b"CXBLOOM\0";
pub const FORMAT_VERSION: u16 = 1;
pub const HEADER_LEN: usize = 48;
/// The checksum covers bytes `[0, CHECKSUM_OFFSET)` then the bits.
const CHECKSUM_OFFSET: usize = 40;

/// Total snapshot length for a filter of this shape: `48 + m / 8`.
pub fn image_len(params: &Params) -> u64 {
    HEADER_LEN as u64 + params.byte_length()
}

/// XXH64 (seed 0) of the header's first `covered` bytes, then the body: the checksum of both
/// image formats (this one and the fingerprint table's).
pub(crate) fn checksum(header: &[u8], covered: usize, body: &[u8]) -> u64 {
    let mut h = Xxh64::new(0);
    h.update(&header[..covered]);
    h.update(body);
    h.digest()
}

impl<S: AsRef<[AtomicU64]>> BloomFilter<S> {
    /// Writes the snapshot into `out`, which must be exactly [`image_len`] bytes (so
    /// the caller can hand in memory it already owns, such as a fresh JS Buffer).
    ///
    /// The words are read one by one; with concurrent writers the snapshot holds, for
    /// each word, a value it had during the call, and the checksum matches what was
    /// written.
    pub fn write_image(&self, out: &mut [u8]) -> Result<(), BloomError> {
        let p = self.params();
        let expected = image_len(p);
        if out.len() as u64 != expected {
            return Err(ImageError::LengthMismatch { expected, actual: out.len() }.into());
        }
        let (header, bits) = out.split_at_mut(HEADER_LEN);
        header[0..8].copy_from_slice(&MAGIC);
        header[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[10..12].copy_from_slice(&HASH_ID.to_le_bytes());
        header[12..16].copy_from_slice(&p.hash_count().to_le_bytes());
        header[16..24].copy_from_slice(&p.bit_count().to_le_bytes());
        header[24..32].copy_from_slice(&p.capacity().to_le_bytes());
        header[32..40].copy_from_slice(&p.error_rate().to_le_bytes());
        for (chunk, word) in bits.chunks_exact_mut(8).zip(self.words()) {
            chunk.copy_from_slice(&word.load(Relaxed).to_le_bytes());
        }
        let sum = checksum(header, CHECKSUM_OFFSET, bits);
        header[40..48].copy_from_slice(&sum.to_le_bytes());
        Ok(())
    }

    /// The snapshot as a new byte vector.
    pub fn to_image(&self) -> Result<Vec<u8>, BloomError> {
        let len = image_len(self.params());
        // Beyond usize (a 32-bit platform) it could not be allocated either.
        let n = usize::try_from(len).map_err(|_| BloomError::OutOfMemory { bytes: len })?;
        let mut out = Vec::new();
        out.try_reserve_exact(n).map_err(|_| BloomError::OutOfMemory { bytes: len })?;
        out.resize(n, 0);
        self.write_image(&mut out)?;
        Ok(out)
    }
}

// Little-endian fields of both image formats.
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Checks a snapshot's header, length and checksum without building a filter;
/// returns its parameters. Every rule of the format is checked, in the spec's order.
pub fn parse_header(bytes: &[u8]) -> Result<Params, ImageError> {
    if bytes.len() < HEADER_LEN {
        return Err(ImageError::Truncated { len: bytes.len() });
    }
    if bytes[0..8] != MAGIC {
        return Err(ImageError::BadMagic);
    }
    let version = u16_at(bytes, 8);
    if version != FORMAT_VERSION {
        return Err(ImageError::UnsupportedVersion(version));
    }
    let hash_id = u16_at(bytes, 10);
    if hash_id != HASH_ID {
        return Err(ImageError::UnsupportedHashId(hash_id));
    }
    let k = u32_at(bytes, 12);
    let m = u64_at(bytes, 16);
    let n = u64_at(bytes, 24);
    let p = f64::from_bits(u64_at(bytes, 32));
    if !valid_bit_count(m) {
        return Err(ImageError::InvalidBitCount(m));
    }
    if !valid_hash_count(k) {
        return Err(ImageError::InvalidHashCount(k));
    }
    if !valid_capacity(n) {
        return Err(ImageError::InvalidCapacity(n));
    }
    if !valid_error_rate(p) {
        return Err(ImageError::InvalidErrorRate(p));
    }
    let expected = HEADER_LEN as u64 + m / 8;
    if bytes.len() as u64 != expected {
        return Err(ImageError::LengthMismatch { expected, actual: bytes.len() });
    }
    let stored = u64_at(bytes, 40);
    let computed = checksum(bytes, CHECKSUM_OFFSET, &bytes[HEADER_LEN..]);
    if stored != computed {
        return Err(ImageError::ChecksumMismatch { stored, computed });
    }
    // Every field was validated above, so this cannot fail.
    Params::from_parts(n, p, m, k).map_err(|_| ImageError::InvalidBitCount(m))
}

/// Loads a snapshot into a new owned filter. Any rejection leaves nothing behind.
pub fn from_image(bytes: &[u8]) -> Result<BloomFilter<OwnedWords>, BloomError> {
    let params = parse_header(bytes)?;
    let words = zeroed_words(params.word_count())?;
    for (word, chunk) in words.iter().zip(bytes[HEADER_LEN..].chunks_exact(8)) {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        word.store(u64::from_le_bytes(a), Relaxed);
    }
    BloomFilter::from_storage(params, words)
}

/// XXH64 (seed 0) of a whole snapshot: a short digest for test vectors.
pub fn image_digest(bytes: &[u8]) -> u64 {
    xxh64(bytes, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::MAX_BITS;

    fn sample() -> (BloomFilter, Vec<u8>) {
        let f = BloomFilter::new(1000, 0.01).unwrap();
        for i in 0..700 {
            f.add(format!("k{i}").as_bytes());
        }
        let snap = f.to_image().unwrap();
        (f, snap)
    }

    /// Recomputes the checksum after a deliberate edit.
    fn reseal(b: &mut [u8]) {
        let sum = checksum(b, CHECKSUM_OFFSET, &b[HEADER_LEN..]);
        b[40..48].copy_from_slice(&sum.to_le_bytes());
    }

    #[test]
    fn layout() {
        let (f, snap) = sample();
        let p = f.params();
        assert_eq!(snap.len() as u64, 48 + p.bit_count() / 8);
        assert_eq!(&snap[0..8], b"CXBLOOM\0");
        assert_eq!(&snap[8..10], &[1, 0]);
        assert_eq!(&snap[10..12], &[2, 0]);
        assert_eq!(u32_at(&snap, 12), p.hash_count());
        assert_eq!(u64_at(&snap, 16), p.bit_count());
        assert_eq!(u64_at(&snap, 24), 1000);
        assert_eq!(f64::from_bits(u64_at(&snap, 32)), 0.01);
        // Bit b is bit (b & 7) of byte 48 + (b >> 3).
        for pos in crate::hash::positions(b"k0", p.bit_count(), p.hash_count()) {
            assert_ne!(snap[48 + (pos >> 3) as usize] & (1 << (pos & 7)), 0);
        }
        let mut sum = Xxh64::new(0);
        sum.update(&snap[..40]);
        sum.update(&snap[48..]);
        assert_eq!(u64_at(&snap, 40), sum.digest());
    }

    #[test]
    fn round_trip() {
        let (f, snap) = sample();
        let g = from_image(&snap).unwrap();
        assert_eq!(g.params(), f.params());
        for i in 0..700 {
            assert!(g.has(format!("k{i}").as_bytes()));
        }
        assert_eq!(g.to_image().unwrap(), snap);
        assert_eq!(g.set_bit_count(), f.set_bit_count());
    }

    #[test]
    fn empty_filter_round_trip() {
        let f = BloomFilter::new(1, 0.5).unwrap();
        let snap = f.to_image().unwrap();
        assert_eq!(snap.len(), 48 + 8);
        let g = from_image(&snap).unwrap();
        assert_eq!(g.set_bit_count(), 0);
    }

    #[test]
    fn rejects_truncated() {
        let (_, snap) = sample();
        for len in [0usize, 1, 8, 47] {
            assert_eq!(parse_header(&snap[..len]), Err(ImageError::Truncated { len }));
        }
        // Header complete but bits cut short.
        assert!(matches!(
            parse_header(&snap[..snap.len() - 1]),
            Err(ImageError::LengthMismatch { .. })
        ));
        assert!(matches!(parse_header(&snap[..48]), Err(ImageError::LengthMismatch { .. })));
        let mut longer = snap.clone();
        longer.push(0);
        assert!(matches!(parse_header(&longer), Err(ImageError::LengthMismatch { .. })));
    }

    #[test]
    fn rejects_bad_magic_version_hash_id() {
        let (_, snap) = sample();
        let mut b = snap.clone();
        b[0] = b'X';
        assert_eq!(parse_header(&b), Err(ImageError::BadMagic));
        let mut b = snap.clone();
        b[7] = 1;
        assert_eq!(parse_header(&b), Err(ImageError::BadMagic));
        let mut b = snap.clone();
        b[8] = 2;
        assert_eq!(parse_header(&b), Err(ImageError::UnsupportedVersion(2)));
        // Hash id 1 (the withdrawn rotl step) and others are refused.
        for id in [0u16, 1, 3, 258] {
            let mut b = snap.clone();
            b[10..12].copy_from_slice(&id.to_le_bytes());
            assert_eq!(parse_header(&b), Err(ImageError::UnsupportedHashId(id)));
        }
    }

    #[test]
    fn rejects_bad_fields() {
        let (_, snap) = sample();
        let set_u64 = |at: usize, v: u64| {
            let mut b = snap.clone();
            b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            b
        };
        let set_u32 = |at: usize, v: u32| {
            let mut b = snap.clone();
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            b
        };
        for m in [0u64, 100, MAX_BITS + 64, u64::MAX] {
            assert_eq!(parse_header(&set_u64(16, m)), Err(ImageError::InvalidBitCount(m)));
        }
        for k in [0u32, 65, u32::MAX] {
            assert_eq!(parse_header(&set_u32(12, k)), Err(ImageError::InvalidHashCount(k)));
        }
        for n in [0u64, 1 << 53, u64::MAX] {
            assert_eq!(parse_header(&set_u64(24, n)), Err(ImageError::InvalidCapacity(n)));
        }
        for p in [0.0f64, 1.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                parse_header(&set_u64(32, p.to_bits())),
                Err(ImageError::InvalidErrorRate(_))
            ));
        }
        // A valid but different m changes the expected length.
        let other_m = set_u64(16, 64);
        assert_eq!(
            parse_header(&other_m),
            Err(ImageError::LengthMismatch { expected: 56, actual: snap.len() })
        );
    }

    #[test]
    fn rejects_checksum_mismatch() {
        let (_, snap) = sample();
        // A flipped bit in the data, in the header's covered part, and in the checksum.
        for at in [48usize, snap.len() - 1, 24, 32, 40, 47] {
            let mut b = snap.clone();
            b[at] ^= 0x10;
            assert!(
                matches!(parse_header(&b), Err(ImageError::ChecksumMismatch { .. })),
                "byte {at}"
            );
        }
        // Resealed after changing a valid field: accepted, with the new value.
        let mut b = snap.clone();
        b[24..32].copy_from_slice(&5000u64.to_le_bytes());
        reseal(&mut b);
        assert_eq!(parse_header(&b).unwrap().capacity(), 5000);
    }

    #[test]
    fn errors_read_well() {
        let e = BloomError::from(ImageError::BadMagic);
        assert_eq!(e.to_string(), "invalid Bloom filter snapshot: bad magic (expected \"CXBLOOM\\0\")");
        let e = from_image(&[1, 2, 3]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid Bloom filter snapshot: truncated: 3 bytes, shorter than the 48-byte header"
        );
    }

    #[test]
    fn write_image_checks_length() {
        let (f, snap) = sample();
        let mut small = vec![0u8; snap.len() - 8];
        assert!(f.write_image(&mut small).is_err());
        let mut exact = vec![0u8; snap.len()];
        f.write_image(&mut exact).unwrap();
        assert_eq!(exact, snap);
    }
}
