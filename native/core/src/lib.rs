//! `cxone-bloom`: the Bloom filter of cxone-dedup, without any N-API types.
//!
//! Sizing, hashing (hash id 1), bit layout and the snapshot format follow
//! `docs/bloom-format.md` exactly, so the TypeScript fallback sets the same bits and
//! each implementation loads the other's snapshots.
//!
//! The bits are `AtomicU64` words, so one filter can be shared by threads (and, through
//! the napi face, by JS workers over a `SharedArrayBuffer`) with `&self` methods only.
//! [`BloomFilter`] is generic over where the words live: owned (`Box<[AtomicU64]>`),
//! borrowed (`&[AtomicU64]`), `Arc<[AtomicU64]>`, or caller-mapped memory.
#![forbid(unsafe_code)]

mod error;
mod filter;
mod hash;
mod params;
mod snapshot;

pub use error::{BloomError, SnapshotError};
pub use filter::{zeroed_words, BloomFilter, OwnedWords};
pub use hash::{key_hash, positions, Positions, HASH_ID};
pub use params::{Params, MAX_BITS, MAX_CAPACITY, MAX_HASHES};
pub use snapshot::{
    from_snapshot, parse_header, snapshot_digest, snapshot_len, FORMAT_VERSION, HEADER_LEN, MAGIC,
};
