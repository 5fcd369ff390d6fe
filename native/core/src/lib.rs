//! `cxone-bloom`: the Bloom filter and the exact dedup window of cxone-dedup, without any
//! N-API types.
//!
//! Sizing, hashing (hash id 2), bit layout and the snapshot formats follow
//! `docs/bloom-format.md` exactly, so the TypeScript fallback sets the same bits, fills the
//! same table slots, and each implementation loads the other's snapshots.
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
mod fingerprint_snapshot;
mod hash;
mod params;
mod snapshot;
mod window;

pub use error::{BloomError, SnapshotError, TableError, TableSnapshotError, WindowError};
pub use filter::{zeroed_words, BloomFilter, OwnedWords};
pub use fingerprint::{
    fingerprint, home_slot, limit_for, slots_for, FingerprintTable, Insert, MAX_SLOTS, MAX_TABLE_CAPACITY,
    ZERO_FINGERPRINT,
};
pub use fingerprint_snapshot::{
    parse_table_header, table_from_snapshot, table_snapshot_len, TableHeader, TABLE_FORMAT_VERSION,
    TABLE_HEADER_LEN, TABLE_MAGIC,
};
pub use hash::{key_hash, positions, Positions, HASH_ID};
pub use params::{Params, MAX_BITS, MAX_CAPACITY, MAX_HASHES};
pub use snapshot::{
    from_snapshot, parse_header, snapshot_digest, snapshot_len, FORMAT_VERSION, HEADER_LEN, MAGIC,
};
pub use window::{
    key_fingerprint, DedupWindow, Generation, GenerationStats, Observed, Recorded, Verdict, WindowCounters,
    WindowParams, Which, RECORD_AT_CAPACITY, RECORD_INSERTED, RECORD_OVERFLOW,
};
