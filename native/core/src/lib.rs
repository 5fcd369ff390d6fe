//! `cxone-bloom`: the Bloom filter and the exact dedup window of cxone-dedup, without any
//! N-API types.
//!
//! Sizing, hashing (hash id 2), bit layout and the snapshot formats follow
//! `docs/bloom-format.md` exactly, so the TypeScript fallback sets the same bits, fills the
//! same table slots, and each implementation loads the other's snapshots. In the code a
//! filter's or a table's serialised bytes are its *image* (image.rs, fingerprint_image.rs), as
//! in the TypeScript; "snapshot" is the format document's word, and the error messages'.
//!
//! The bits and slots are `AtomicU64` words, so one filter or table can be shared by
//! threads (and, through the napi face, a filter by JS workers over a
//! `SharedArrayBuffer`) with `&self` methods only. [`BloomFilter`] and
//! [`FingerprintTable`] are generic over where the words live: owned
//! (`Box<[AtomicU64]>`), borrowed (`&[AtomicU64]`), `Arc<[AtomicU64]>`, or caller-mapped
//! memory. [`DedupWindow`] pairs them into two generations (window.rs).
#![forbid(unsafe_code)]

mod error;
mod filter;
mod fingerprint;
mod fingerprint_image;
mod hash;
mod params;
mod image;
mod window;

pub use error::{BloomError, ImageError, TableError, TableImageError, WindowError};
pub use filter::{zeroed_words, BloomFilter, OwnedWords};
pub use fingerprint::{
    fingerprint, home_slot, limit_for, slots_for, FingerprintTable, Insert, MAX_SLOTS, MAX_TABLE_CAPACITY,
    ZERO_FINGERPRINT,
};
pub use fingerprint_image::{
    parse_table_header, table_from_image, table_image_len, TableHeader, TABLE_FORMAT_VERSION,
    TABLE_HEADER_LEN, TABLE_MAGIC,
};
pub use hash::{key_hash, positions, Positions, HASH_ID};
pub use params::{Params, MAX_BITS, MAX_CAPACITY, MAX_HASHES};
pub use image::{
    from_image, parse_header, image_digest, image_len, FORMAT_VERSION, HEADER_LEN, MAGIC,
};
pub use window::{
    DedupWindow, Generation, GenerationStats, Observed, Recorded, Verdict, WindowCounters,
    WindowParams, Which, RECORD_AT_CAPACITY, RECORD_INSERTED, RECORD_OVERFLOW,
};
