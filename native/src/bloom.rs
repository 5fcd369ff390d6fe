//! The JS class `BloomFilter`: a `#[napi]` class over `cxone_bloom::BloomFilter<Storage>`,
//! owned or in a `SharedArrayBuffer`. Every method takes `&self` (the bits are atomics).

use crate::js_helpers;
use crate::keys::{self, KeyName};
use crate::memory::{self, zeroed_owned, Storage};
use crate::values::{self, bloom_error, bytes_arg, describe, range_error, type_error};
use cxone_bloom::{from_image, key_hash, Params};
use napi::bindgen_prelude::{Array, Buffer, Either, FromNapiValue, Function, JsObjectValue, ObjectFinalize, This, Uint8ArraySlice, Unknown};
use napi::UnknownRef;
use napi::{Env, JsValue, Result};
use napi_derive::napi;
use std::mem::MaybeUninit;

type Core = cxone_bloom::BloomFilter<Storage>;

/// A Bloom filter whose bits are `AtomicU64` words: owned by the addon, or in a
/// `SharedArrayBuffer` that several worker threads use at once.
#[napi(custom_finalize)]
pub struct BloomFilter {
    filter: Core,
    /// A shared filter's SharedArrayBuffer, held strongly: the words point into it.
    shared: Option<UnknownRef>,
    /// Bytes reported to V8 with `adjust_external_memory` (owned storage only).
    external: i64,
}

impl ObjectFinalize for BloomFilter {
    fn finalize(self, env: Env) -> Result<()> {
        let BloomFilter { filter, shared, external } = self;
        // The words first, then what kept their memory alive.
        drop(filter);
        if let Some(r) = shared {
            r.unref(&env)?;
        }
        if external != 0 {
            env.adjust_external_memory(-external)?;
        }
        Ok(())
    }
}

/// Sizing of a filter, as `BloomFilter.params` derives it.
#[napi(object)]
pub struct BloomFilterParams {
    pub capacity: f64,
    pub error_rate: f64,
    /// m, a multiple of 64.
    pub bit_count: f64,
    /// k.
    pub hash_count: u32,
    /// m / 8: bytes of bit storage (the size a shared filter's memory must have).
    pub byte_length: f64,
}

impl From<&Params> for BloomFilterParams {
    fn from(p: &Params) -> Self {
        BloomFilterParams {
            capacity: p.capacity() as f64,
            error_rate: p.error_rate(),
            bit_count: p.bit_count() as f64,
            hash_count: p.hash_count(),
            byte_length: p.byte_length() as f64,
        }
    }
}

impl BloomFilter {
    /// A filter on owned storage, reported to V8 as external memory.
    fn owned(env: &Env, filter: Core) -> Result<Self> {
        let external = filter.params().byte_length() as i64;
        env.adjust_external_memory(external)?;
        Ok(BloomFilter { filter, shared: None, external })
    }

    fn zeroed(env: &Env, params: Params) -> Result<Self> {
        let words = zeroed_owned(params.word_count()).map_err(|e| bloom_error(env, &e))?;
        let filter = Core::from_storage(params, Storage::Owned(words)).map_err(|e| bloom_error(env, &e))?;
        Self::owned(env, filter)
    }

    /// A filter over shared `memory` (see `memory::attach`), keeping the memory alive.
    fn shared(env: &Env, memory: Unknown, params: Params) -> Result<Self> {
        let (words, buffer) = memory::attach(env, memory, &params)?;
        let keepalive: UnknownRef = buffer.create_ref()?;
        match Core::from_storage(params, Storage::Shared(words)) {
            Ok(filter) => Ok(BloomFilter { filter, shared: Some(keepalive), external: 0 }),
            Err(e) => {
                keepalive.unref(env)?;
                Err(bloom_error(env, &e))
            }
        }
    }

    /// Test-and-set of one key: atomic read-modify-writes only when other threads may write
    /// the same words (shared memory); an owned filter has a single writer, its JS thread.
    #[inline]
    pub fn add_hash(&self, hash: u64) -> bool {
        match self.filter.storage() {
            Storage::Owned(_) => self.filter.add_hash_unshared(hash),
            Storage::Shared(_) => self.filter.add_hash(hash),
        }
    }

    #[inline]
    pub fn has_hash(&self, hash: u64) -> bool {
        self.filter.has_hash(hash)
    }

    /// Hashes every key of the array first, so a bad element throws before anything changes.
    fn hash_all(env: &Env, keys: &Unknown) -> Result<Vec<u64>> {
        if !keys.is_array()? {
            return Err(type_error(env, &format!("keys must be an array of strings or Uint8Arrays, got {}", describe(keys))));
        }
        let array = Array::from_unknown(*keys)?;
        let len = array.len();
        let mut hashes = Vec::new();
        if hashes.try_reserve_exact(len as usize).is_err() {
            return Err(range_error(env, &format!("cannot hash {len} keys at once: out of memory")));
        }
        if len >= 2 {
            if let Some(helpers) = js_helpers::current(env)? {
                let join = Function::<Unknown, Unknown>::from_unknown(helpers.join_keys.get_value(env)?)?;
                if hash_joined(env, &join.call(*keys)?, len, &mut hashes)? {
                    return Ok(hashes);
                }
            }
        }
        for i in 0..len {
            let k = array.get::<Unknown>(i)?.ok_or_else(values::pending)?;
            hashes.push(keys::hash(env, &k, KeyName::Index(i))?);
        }
        Ok(hashes)
    }
}

/// The batch fast path: `joined` is every key (all strings) joined with U+0000 by the package's
/// `joinKeys`, read as UTF-8 once and split here. False (read the keys one by one) when it is
/// null, or when a key contains U+0000 itself (the pieces then outnumber the keys).
fn hash_joined(env: &Env, joined: &Unknown, len: u32, hashes: &mut Vec<u64>) -> Result<bool> {
    let Some(n) = keys::string_len(joined)? else { return Ok(false) };
    let mut buf: Vec<MaybeUninit<u8>> = Vec::new();
    if buf.try_reserve_exact(n + 1).is_err() {
        return Err(range_error(env, &format!("cannot hash {len} keys at once: out of memory")));
    }
    buf.resize(n + 1, MaybeUninit::uninit());
    let bytes = keys::string_into(joined, &mut buf)?.unwrap_or(&[]);
    if bytes.len() != n {
        return Ok(false);
    }
    for piece in bytes.split(|&b| b == 0) {
        if hashes.len() == len as usize {
            hashes.clear();
            return Ok(false);
        }
        hashes.push(key_hash(piece));
    }
    if hashes.len() != len as usize {
        hashes.clear();
        return Ok(false);
    }
    Ok(true)
}

/// A mask as `boolean[]`: through the package's `toBooleans` when registered (a JIT-compiled
/// loop), else element by element.
fn booleans<'e>(env: &'e Env, mask: Vec<u8>) -> Result<Either<Vec<bool>, Unknown<'e>>> {
    if let Some(helpers) = js_helpers::current(env)? {
        // (A copy in a V8-owned buffer: an external one, as napi-rs makes from a Vec, costs more.)
        let to_booleans = Function::<&Uint8ArraySlice, Unknown>::from_unknown(helpers.to_booleans.get_value(env)?)?;
        return Ok(Either::B(to_booleans.call(&Uint8ArraySlice::copy_from(env, mask)?)?));
    }
    Ok(Either::A(mask.into_iter().map(|b| b == 1).collect()))
}

#[napi]
impl BloomFilter {
    /// `capacity`: integer 1..2^53-1; `errorRate`: 0 < p < 1. Zeroed, owned storage.
    #[napi(constructor, catch_unwind, ts_args_type = "capacity: number, errorRate: number")]
    pub fn new(env: &Env, this: This, capacity: Unknown, error_rate: Unknown) -> Result<Self> {
        values::require_new(env, &this.object, "BloomFilter", "toBuffer")?;
        let params = values::params(env, &capacity, &error_rate)?;
        Self::zeroed(env, params)
    }

    /// Loads an image (docs/bloom-format.md) into a new owned filter; `BloomSnapshotError` on a
    /// truncated, corrupted or foreign one.
    #[napi(factory, catch_unwind, ts_args_type = "image: Uint8Array")]
    pub fn from_buffer(env: &Env, image: Unknown) -> Result<Self> {
        let bytes = bytes_arg(env, &image, "snapshot", "a Buffer or Uint8Array")?;
        let loaded = from_image(&bytes.arraybuffer).map_err(|e| bloom_error(env, &e))?;
        let params = *loaded.params();
        let filter = Core::from_storage(params, Storage::Owned(loaded.into_storage())).map_err(|e| bloom_error(env, &e))?;
        Self::owned(env, filter)
    }

    /// A filter over `memory` used as is (not cleared): a SharedArrayBuffer, or a typed array
    /// over one, of exactly `params(capacity, errorRate).byteLength` bytes starting on an 8-byte
    /// boundary. A plain ArrayBuffer is refused (TypeError): it could be detached under the
    /// filter. The filter keeps the memory alive.
    #[napi(
        factory,
        catch_unwind,
        ts_args_type = "memory: SharedArrayBuffer | ArrayBufferView, capacity: number, errorRate: number"
    )]
    pub fn from_shared(env: &Env, memory: Unknown, capacity: Unknown, error_rate: Unknown) -> Result<Self> {
        let params = values::params(env, &capacity, &error_rate)?;
        Self::shared(env, memory, params)
    }

    /// A new zeroed SharedArrayBuffer of the right size, wrapped: post `sharedMemory` (with
    /// capacity and errorRate) to workers, which attach with `fromShared`.
    #[napi(factory, catch_unwind, ts_args_type = "capacity: number, errorRate: number")]
    pub fn create_shared(env: &Env, capacity: Unknown, error_rate: Unknown) -> Result<Self> {
        let params = values::params(env, &capacity, &error_rate)?;
        let sab_class = env.get_global()?.get_named_property::<Function<f64>>("SharedArrayBuffer")?;
        let memory = sab_class.new_instance(params.byte_length() as f64)?;
        Self::shared(env, memory, params)
    }

    /// Sizing for (capacity, errorRate), with the constructor's checks.
    #[napi(catch_unwind, ts_args_type = "capacity: number, errorRate: number")]
    pub fn params(env: &Env, capacity: Unknown, error_rate: Unknown) -> Result<BloomFilterParams> {
        Ok((&values::params(env, &capacity, &error_rate)?).into())
    }

    /// Always `'native'`.
    #[napi(getter, catch_unwind, ts_return_type = "'native'")]
    pub fn kind(&self) -> &'static str {
        "native"
    }

    #[napi(getter, catch_unwind)]
    pub fn capacity(&self) -> f64 {
        self.filter.params().capacity() as f64
    }

    #[napi(getter, catch_unwind)]
    pub fn error_rate(&self) -> f64 {
        self.filter.params().error_rate()
    }

    /// m, a multiple of 64.
    #[napi(getter, catch_unwind)]
    pub fn bit_count(&self) -> f64 {
        self.filter.params().bit_count() as f64
    }

    /// k.
    #[napi(getter, catch_unwind)]
    pub fn hash_count(&self) -> u32 {
        self.filter.params().hash_count()
    }

    /// bitCount / 8.
    #[napi(getter, catch_unwind)]
    pub fn byte_length(&self) -> f64 {
        self.filter.params().byte_length() as f64
    }

    /// The SharedArrayBuffer holding the bits of a shared filter (the whole buffer, even when
    /// the filter was attached to a view over part of it); null when owned.
    #[napi(getter, catch_unwind, ts_return_type = "SharedArrayBuffer | null")]
    pub fn shared_memory<'e>(&self, env: &'e Env) -> Result<Option<Unknown<'e>>> {
        self.shared.as_ref().map(|r| r.get_value(env)).transpose()
    }

    /// `add` for each key in order. All keys are checked first: a bad one throws before any is added.
    #[napi(catch_unwind, ts_args_type = "keys: readonly BloomKey[]", ts_return_type = "boolean[]")]
    pub fn add_many<'e>(&self, env: &'e Env, keys: Unknown) -> Result<Either<Vec<bool>, Unknown<'e>>> {
        let mask = Self::hash_all(env, &keys)?.into_iter().map(|h| u8::from(self.add_hash(h))).collect();
        booleans(env, mask)
    }

    /// `has` for each key.
    #[napi(catch_unwind, ts_args_type = "keys: readonly BloomKey[]", ts_return_type = "boolean[]")]
    pub fn has_many<'e>(&self, env: &'e Env, keys: Unknown) -> Result<Either<Vec<bool>, Unknown<'e>>> {
        let mask = Self::hash_all(env, &keys)?.into_iter().map(|h| u8::from(self.has_hash(h))).collect();
        booleans(env, mask)
    }

    /// `addMany` with the answers as bytes (1 = true): the cheapest batch form.
    #[napi(catch_unwind, ts_args_type = "keys: readonly BloomKey[]", ts_return_type = "Uint8Array")]
    pub fn add_many_mask<'e>(&self, env: &'e Env, keys: Unknown) -> Result<Uint8ArraySlice<'e>> {
        let mask: Vec<u8> = Self::hash_all(env, &keys)?.into_iter().map(|h| u8::from(self.add_hash(h))).collect();
        Uint8ArraySlice::copy_from(env, mask)
    }

    /// `hasMany` with the answers as bytes (1 = true): the cheapest batch form.
    #[napi(catch_unwind, ts_args_type = "keys: readonly BloomKey[]", ts_return_type = "Uint8Array")]
    pub fn has_many_mask<'e>(&self, env: &'e Env, keys: Unknown) -> Result<Uint8ArraySlice<'e>> {
        let mask: Vec<u8> = Self::hash_all(env, &keys)?.into_iter().map(|h| u8::from(self.has_hash(h))).collect();
        Uint8ArraySlice::copy_from(env, mask)
    }

    /// Zeroes every bit (of the shared memory too, for a shared filter).
    #[napi(catch_unwind)]
    pub fn clear(&self) {
        self.filter.clear();
    }

    /// Number of set bits.
    #[napi(catch_unwind)]
    pub fn set_bit_count(&self) -> f64 {
        self.filter.set_bit_count() as f64
    }

    /// setBitCount / bitCount.
    #[napi(catch_unwind)]
    pub fn fill_ratio(&self) -> f64 {
        self.filter.fill_ratio()
    }

    /// fillRatio ^ hashCount.
    #[napi(catch_unwind)]
    pub fn estimated_false_positive_rate(&self) -> f64 {
        self.filter.estimated_false_positive_rate()
    }

    /// -(m / k) * ln(1 - fill); `Infinity` when every bit is set.
    #[napi(catch_unwind)]
    pub fn estimated_cardinality(&self) -> f64 {
        self.filter.estimated_cardinality()
    }

    /// The filter's image, format version 1 (48-byte header + bits).
    #[napi(catch_unwind)]
    pub fn to_buffer(&self, env: &Env) -> Result<Buffer> {
        Ok(self.filter.to_image().map_err(|e| bloom_error(env, &e))?.into())
    }
}
