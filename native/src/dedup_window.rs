//! The JS class `DedupWindow`: a `#[napi]` class over `cxone_bloom::DedupWindow` (two
//! generations of Bloom filter + fingerprint table; docs/bloom-format.md, "Dedup window").
//!
//! The hot calls answer with small integers: `check` → 0 new, 1 duplicate, 2 unconfirmed;
//! `record` → `RECORD_*` bits; `observe` → both or'ed together.

use crate::errors::{bloom_image_error, table_image_error, window_image_error};
use crate::keys;
use crate::memory::zeroed_owned;
use crate::values::{self, describe, js_number, plain_error, range_error, type_error, uint8_bytes, ERR_MEMORY};
use cxone_bloom::{
    image_len, table_image_len, BloomError, BloomFilter, FingerprintTable, Generation, GenerationStats, OwnedWords,
    TableError, Which, WindowError, WindowParams, MAX_CAPACITY,
};
use napi::bindgen_prelude::{Buffer, FromNapiValue, JsObjectValue, Object, ObjectFinalize, This, Unknown};
use napi::{Env, Error, JsValue, Result, ValueType};
use napi_derive::napi;

type Core = cxone_bloom::DedupWindow<OwnedWords>;

/// The exact dedup window: two generations, each a Bloom filter plus a fingerprint table of
/// the keys' XXH64.
#[napi(custom_finalize)]
pub struct DedupWindow {
    window: Core,
    /// Bytes reported to V8 with `adjust_external_memory`.
    external: i64,
}

impl ObjectFinalize for DedupWindow {
    fn finalize(self, env: Env) -> Result<()> {
        env.adjust_external_memory(-self.external)?;
        Ok(())
    }
}

/// Sizing of a dedup window (docs/bloom-format.md, "Fingerprint table").
#[napi(object)]
pub struct DedupWindowParams {
    /// Keys per generation.
    pub capacity: f64,
    pub error_rate: f64,
    /// m of each generation's filter.
    pub bit_count: f64,
    /// k of each generation's filter.
    pub hash_count: u32,
    /// Slots of each generation's fingerprint table: ceil(4 · capacity / 3).
    pub table_slots: f64,
    /// Most fingerprints a table accepts: floor(7 · tableSlots / 8).
    pub table_limit: f64,
    /// bitCount / 8 + 8 · (tableSlots + 1).
    pub generation_byte_length: f64,
    /// 2 · generationByteLength.
    pub byte_length: f64,
}

impl From<&WindowParams> for DedupWindowParams {
    fn from(p: &WindowParams) -> Self {
        DedupWindowParams {
            capacity: p.capacity() as f64,
            error_rate: p.error_rate(),
            bit_count: p.bloom().bit_count() as f64,
            hash_count: p.bloom().hash_count(),
            table_slots: p.table_slots() as f64,
            table_limit: p.table_limit() as f64,
            generation_byte_length: p.generation_bytes() as f64,
            byte_length: p.byte_length() as f64,
        }
    }
}

/// One generation's figures.
#[napi(object)]
pub struct DedupWindowGenerationStats {
    pub insertions: f64,
    pub exact: bool,
    pub table_length: f64,
    pub table_slots: f64,
    pub fill_ratio: f64,
    pub estimated_false_positive_rate: f64,
}

impl From<GenerationStats> for DedupWindowGenerationStats {
    fn from(s: GenerationStats) -> Self {
        DedupWindowGenerationStats {
            insertions: s.insertions as f64,
            exact: s.exact,
            table_length: s.table_len as f64,
            table_slots: s.table_slots as f64,
            fill_ratio: s.fill_ratio,
            estimated_false_positive_rate: s.estimated_false_positive_rate,
        }
    }
}

/// A window's figures; the counters run since the window was built.
#[napi(object)]
pub struct DedupWindowStats {
    pub active: DedupWindowGenerationStats,
    pub previous: DedupWindowGenerationStats,
    /// Checks where a filter said "maybe" and the exact tables said no (answered 0).
    pub false_positives: f64,
    /// Checks answered 2.
    pub unconfirmed: f64,
    /// Records refused by a full table.
    pub overflows: f64,
}

/// One generation, as exported.
#[napi(object)]
pub struct DedupWindowGeneration {
    /// Bloom filter image (format version 1).
    pub bloom: Buffer,
    /// Fingerprint table image (format version 1).
    pub table: Buffer,
    pub insertions: f64,
    pub exact: bool,
}

/// Throws a core error as the JS error that fits it; `context` names the part being restored.
fn window_error(env: &Env, e: &WindowError, context: Option<&str>) -> Error {
    if let Some(err) = window_image_error(env, e, context) {
        return err;
    }
    let msg = match context {
        Some(c) => format!("{c}: {e}"),
        None => e.to_string(),
    };
    match e {
        WindowError::Bloom(BloomError::Image(s)) => bloom_image_error(env, s, context),
        WindowError::Table(TableError::Image(s)) => table_image_error(env, s, context),
        WindowError::Bloom(BloomError::OutOfMemory { .. }) | WindowError::Table(TableError::OutOfMemory { .. }) => {
            plain_error(env, ERR_MEMORY, &msg)
        }
        _ => range_error(env, &msg),
    }
}

/// Checked capacity and error rate, sized as a window.
fn window_params(env: &Env, capacity: &Unknown, error_rate: &Unknown) -> Result<WindowParams> {
    let bloom = values::params(env, capacity, error_rate)?;
    WindowParams::from_bloom(bloom).map_err(|e| window_error(env, &e, None))
}

/// An empty generation on lazily zeroed pages (calloc): a big window costs memory only as it fills.
fn empty_generation(params: &WindowParams) -> std::result::Result<Generation<OwnedWords>, WindowError> {
    let bloom_words = zeroed_owned(params.bloom().word_count())?;
    let oom = || TableError::OutOfMemory { bytes: params.table_words().saturating_mul(8) };
    let n = usize::try_from(params.table_words()).map_err(|_| oom())?;
    let table_words = zeroed_owned(n).map_err(|_| oom())?;
    let bloom = BloomFilter::from_storage(*params.bloom(), bloom_words)?;
    let table = FingerprintTable::from_storage(params.table_slots(), table_words)?;
    Generation::from_parts(bloom, table, 0, true)
}

/// One generation as `fromGenerations` takes it: `{ bloom, table, insertions, exact }`.
struct GenerationArg<'e> {
    bloom: Unknown<'e>,
    table: Unknown<'e>,
    insertions: u64,
    exact: bool,
}

/// Reads and type-checks one generation object. Only property reads here (they may run
/// getters); byte views are taken later, when no more JS can run.
fn generation_arg<'e>(env: &Env, v: &Unknown<'e>, name: &str) -> Result<GenerationArg<'e>> {
    if v.get_type()? != ValueType::Object || v.is_array()? {
        return Err(type_error(
            env,
            &format!("{name} must be an object {{ bloom, table, insertions, exact }} (from exportGeneration), got {}", describe(v)),
        ));
    }
    let obj = Object::from_unknown(*v)?;
    let bloom = obj.get_named_property::<Unknown>("bloom")?;
    let table = obj.get_named_property::<Unknown>("table")?;
    let insertions = obj.get_named_property::<Unknown>("insertions")?;
    let exact = obj.get_named_property::<Unknown>("exact")?;
    if insertions.get_type()? != ValueType::Number {
        return Err(type_error(env, &format!("{name}.insertions must be a number, got {}", describe(&insertions))));
    }
    let x = f64::from_unknown(insertions)?;
    if !(x >= 0.0 && x <= MAX_CAPACITY as f64 && x == x.trunc()) {
        return Err(range_error(env, &format!("{name}.insertions must be an integer from 0 to 2^53-1, got {}", js_number(x))));
    }
    if exact.get_type()? != ValueType::Boolean {
        return Err(type_error(env, &format!("{name}.exact must be a boolean, got {}", describe(&exact))));
    }
    Ok(GenerationArg { bloom, table, insertions: x as u64, exact: bool::from_unknown(exact)? })
}

/// Loads one generation from checked arguments. No JS runs from here on, so the byte views
/// stay valid.
fn load_generation(env: &Env, g: &GenerationArg, name: &str) -> Result<Generation<OwnedWords>> {
    let Some(bloom) = uint8_bytes(&g.bloom)? else {
        return Err(type_error(env, &format!("{name}.bloom must be a Buffer or Uint8Array, got {}", describe(&g.bloom))));
    };
    let table = match g.table.get_type()? {
        ValueType::Null | ValueType::Undefined => None,
        _ => match uint8_bytes(&g.table)? {
            Some(b) => Some(b),
            None => {
                return Err(type_error(
                    env,
                    &format!("{name}.table must be a Buffer, a Uint8Array or null, got {}", describe(&g.table)),
                ))
            }
        },
    };
    Generation::from_images(&bloom.arraybuffer, table.as_ref().map(|t| &*t.arraybuffer), g.insertions, g.exact)
        .map_err(|e| window_error(env, &e, Some(&format!("{name} generation"))))
}

/// An image of `len` bytes written by `write`.
fn image(env: &Env, len: u64, write: impl FnOnce(&mut [u8]) -> std::result::Result<(), WindowError>) -> Result<Buffer> {
    let len = usize::try_from(len).map_err(|_| range_error(env, "snapshot too large for this platform"))?;
    let mut bytes = Vec::new();
    if bytes.try_reserve_exact(len).is_err() {
        return Err(plain_error(env, ERR_MEMORY, &format!("could not allocate {len} bytes for a snapshot")));
    }
    bytes.resize(len, 0);
    write(&mut bytes).map_err(|e| window_error(env, &e, None))?;
    Ok(bytes.into())
}

impl DedupWindow {
    fn new_inner(env: &Env, window: Core) -> Result<Self> {
        let external = window.params().byte_length() as i64;
        env.adjust_external_memory(external)?;
        Ok(DedupWindow { window, external })
    }

    /// The core window, for the per-webhook call (webhook.rs).
    #[inline]
    pub fn core(&self) -> &Core {
        &self.window
    }

    // The window's storage is owned and only this env's thread calls into it, so the record
    // paths use the single-writer variants (no read-modify-writes).

    #[inline]
    pub fn check_hash(&self, hash: u64) -> u32 {
        self.window.check_hash(hash).code()
    }

    #[inline]
    pub fn observe_hash(&self, hash: u64) -> u32 {
        self.window.observe_hash_unshared(hash).code()
    }

    #[inline]
    pub fn record_hash(&self, hash: u64) -> u32 {
        self.window.record_hash_unshared(hash).bits()
    }
}

#[napi]
impl DedupWindow {
    /// `capacity`: keys per generation, integer 1..3·2^30; `errorRate`: 0 < p < 1.
    #[napi(constructor, catch_unwind, ts_args_type = "capacity: number, errorRate: number")]
    pub fn new(env: &Env, this: This, capacity: Unknown, error_rate: Unknown) -> Result<Self> {
        values::require_new(env, &this.object, "DedupWindow", "exportGeneration")?;
        let params = window_params(env, &capacity, &error_rate)?;
        let built = empty_generation(&params)
            .and_then(|a| Ok((a, empty_generation(&params)?)))
            .and_then(|(a, p)| Core::from_generations(a, p));
        Self::new_inner(env, built.map_err(|e| window_error(env, &e, None))?)
    }

    /// A window from two exported generations. `table: null` (with `exact: false`) restores a
    /// generation saved before tables existed: its keys answer 2 until it is rotated out.
    #[napi(
        factory,
        catch_unwind,
        ts_args_type = "active: DedupWindowGenerationInput, previous: DedupWindowGenerationInput"
    )]
    pub fn from_generations(env: &Env, active: Unknown, previous: Unknown) -> Result<Self> {
        let a = generation_arg(env, &active, "active")?;
        let p = generation_arg(env, &previous, "previous")?;
        let a = load_generation(env, &a, "active")?;
        let p = load_generation(env, &p, "previous")?;
        let window = Core::from_generations(a, p).map_err(|e| window_error(env, &e, None))?;
        Self::new_inner(env, window)
    }

    /// Sizing for (capacity, errorRate), with the constructor's checks.
    #[napi(catch_unwind, ts_args_type = "capacity: number, errorRate: number")]
    pub fn params(env: &Env, capacity: Unknown, error_rate: Unknown) -> Result<DedupWindowParams> {
        Ok((&window_params(env, &capacity, &error_rate)?).into())
    }

    /// Always `'native'`.
    #[napi(getter, catch_unwind, ts_return_type = "'native'")]
    pub fn kind(&self) -> &'static str {
        "native"
    }

    #[napi(getter, catch_unwind)]
    pub fn capacity(&self) -> f64 {
        self.window.params().capacity() as f64
    }

    #[napi(getter, catch_unwind)]
    pub fn error_rate(&self) -> f64 {
        self.window.params().error_rate()
    }

    #[napi(getter, catch_unwind)]
    pub fn bit_count(&self) -> f64 {
        self.window.params().bloom().bit_count() as f64
    }

    #[napi(getter, catch_unwind)]
    pub fn hash_count(&self) -> u32 {
        self.window.params().bloom().hash_count()
    }

    #[napi(getter, catch_unwind)]
    pub fn table_slots(&self) -> f64 {
        self.window.params().table_slots() as f64
    }

    #[napi(getter, catch_unwind)]
    pub fn table_limit(&self) -> f64 {
        self.window.params().table_limit() as f64
    }

    /// Bytes of both generations.
    #[napi(getter, catch_unwind)]
    pub fn byte_length(&self) -> f64 {
        self.window.params().byte_length() as f64
    }

    /// previous ← active; active ← the old previous, cleared in place.
    #[napi(catch_unwind)]
    pub fn rotate(&self) {
        self.window.rotate();
    }

    #[napi(catch_unwind)]
    pub fn active_insertions(&self) -> f64 {
        self.window.active_insertions() as f64
    }

    #[napi(catch_unwind)]
    pub fn stats(&self) -> DedupWindowStats {
        let c = self.window.counters();
        DedupWindowStats {
            active: self.window.generation_stats(Which::Active).into(),
            previous: self.window.generation_stats(Which::Previous).into(),
            false_positives: c.false_positives as f64,
            unconfirmed: c.unconfirmed as f64,
            overflows: c.overflows as f64,
        }
    }

    /// One generation's images and counts, for `fromGenerations`.
    #[napi(catch_unwind, ts_args_type = "which: 'active' | 'previous'")]
    pub fn export_generation(&self, env: &Env, which: Unknown) -> Result<DedupWindowGeneration> {
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 16];
        let which = match keys::string_into(&which, &mut buf)? {
            Some(b"active") => Which::Active,
            Some(b"previous") => Which::Previous,
            Some(_) => return Err(range_error(env, "which must be 'active' or 'previous'")),
            None => return Err(type_error(env, &format!("which must be 'active' or 'previous', got {}", describe(&which)))),
        };
        let g = self.window.generation(which);
        let bloom = image(env, image_len(g.bloom().params()), |out| Ok(g.bloom().write_image(out)?))?;
        let table = image(env, table_image_len(g.table().slots()), |out| Ok(g.table().write_image(out)?))?;
        Ok(DedupWindowGeneration { bloom, table, insertions: g.insertions() as f64, exact: g.is_exact() })
    }
}
