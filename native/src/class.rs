//! The JS class `BloomFilter`: a thin shell over `cxone_bloom::BloomFilter<Storage>`.

use crate::args::{self, describe};
use crate::js::{self, callback, cstr, Cx, Info, JsResult, Ref, Value};
use crate::key::{self, KeyName};
use crate::storage::{zeroed_owned, SharedWords, Storage};
use cxone_bloom::{from_snapshot, key_hash, snapshot_len, BloomFilter, Params};
use napi::sys;
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

const CLASS: &str = "BloomFilter";

/// The native half of one JS `BloomFilter` object.
pub struct Inner {
    filter: BloomFilter<Storage>,
    /// Bytes reported to V8 with `napi_adjust_external_memory` (owned storage only).
    external: i64,
}

impl Inner {
    fn owned(filter: BloomFilter<Storage>) -> Box<Self> {
        let external = filter.params().byte_length() as i64;
        Box::new(Inner { filter, external })
    }

    fn shared_ref(&self) -> Option<Ref> {
        match self.filter.storage() {
            Storage::Shared(s) => Some(s.keepalive()),
            Storage::Owned(_) => None,
        }
    }

    /// Drops the filter, then lets go of what kept its memory alive.
    fn release(self: Box<Self>, cx: &Cx<'_>) {
        let keep = self.shared_ref();
        let external = self.external;
        drop(self);
        if let Some(r) = keep {
            cx.delete_ref(r);
        }
        if external != 0 {
            cx.adjust_external_memory(-external);
        }
    }
}

/// Per-env class state: the constructor (for the static factories) and a JS helper.
struct ClassData {
    env: sys::napi_env,
    ctor: Cell<Ref>,
    /// `mask => boolean[]`. Filling a JS array from N-API costs ~110 ns per element
    /// (`napi_set_element`); this JIT-compiled loop costs a few.
    to_booleans: Cell<Ref>,
    /// `keys => string | null`: the keys joined with U+0000 when every one is a string.
    /// Reading one long string costs one N-API call instead of two per key.
    join_keys: Cell<Ref>,
}

/// Trusted constant source for `ClassData::join_keys`. `join` is captured at load time so a
/// later change to `Array.prototype.join` cannot change what the batch path reads.
const JOIN_KEYS_JS: &str = "(function () { const join = Array.prototype.join; return function joinKeys(a) { const n = a.length; for (let i = 0; i < n; i++) if (typeof a[i] !== 'string') return null; return join.call(a, '\\u0000'); }; })()";

/// Trusted constant source for `ClassData::to_booleans`.
const TO_BOOLEANS_JS: &str =
    "(function toBooleans(m) { const n = m.length, out = new Array(n); for (let i = 0; i < n; i++) out[i] = m[i] === 1; return out; })";

thread_local! {
    /// A filter built by a static factory, handed to the constructor it calls
    /// (`napi_new_instance` cannot pass native values).
    static PENDING: RefCell<Option<Box<Inner>>> = const { RefCell::new(None) };
}

/// Defines `BloomFilter` on `exports`.
pub fn register(cx: &Cx<'_>, exports: Value) -> JsResult<()> {
    let to_booleans = cx.create_ref(cx.run_script(TO_BOOLEANS_JS)?)?;
    let join_keys = cx.create_ref(cx.run_script(JOIN_KEYS_JS)?)?;
    let data = Box::into_raw(Box::new(ClassData {
        env: cx.raw(),
        ctor: Cell::new(ptr::null_mut()),
        to_booleans: Cell::new(to_booleans),
        join_keys: Cell::new(join_keys),
    }));
    let d = data.cast::<c_void>();
    let kind = cx.string("native")?;
    let props = [
        js::method(cstr!("add"), Some(add), ptr::null_mut(), false),
        js::method(cstr!("has"), Some(has), ptr::null_mut(), false),
        js::method(cstr!("addMany"), Some(add_many), d, false),
        js::method(cstr!("hasMany"), Some(has_many), d, false),
        js::method(cstr!("hasManyMask"), Some(has_many_mask), d, false),
        js::method(cstr!("addManyMask"), Some(add_many_mask), d, false),
        js::method(cstr!("clear"), Some(clear), ptr::null_mut(), false),
        js::method(cstr!("setBitCount"), Some(set_bit_count), ptr::null_mut(), false),
        js::method(cstr!("fillRatio"), Some(fill_ratio), ptr::null_mut(), false),
        js::method(cstr!("estimatedFalsePositiveRate"), Some(estimated_fpr), ptr::null_mut(), false),
        js::method(cstr!("estimatedCardinality"), Some(estimated_cardinality), ptr::null_mut(), false),
        js::method(cstr!("toBuffer"), Some(to_buffer), ptr::null_mut(), false),
        js::value(cstr!("kind"), kind),
        js::method(cstr!("fromBuffer"), Some(from_buffer), d, true),
        js::method(cstr!("fromShared"), Some(from_shared), d, true),
        js::method(cstr!("createShared"), Some(create_shared), d, true),
        js::method(cstr!("params"), Some(static_params), d, true),
    ];
    let class = match cx.define_class(CLASS, Some(construct), d, &props) {
        Ok(c) => c,
        Err(e) => {
            // SAFETY: `data` came from Box::into_raw above and was not handed out.
            let data = unsafe { Box::from_raw(data) };
            cx.delete_ref(data.to_booleans.get());
            cx.delete_ref(data.join_keys.get());
            return Err(e);
        }
    };
    // Strong: a detached static (`const f = BloomFilter.fromBuffer`) may outlive every
    // other handle on the class. Released by the env cleanup hook.
    let ctor = cx.create_ref(class)?;
    // SAFETY: `data` is live until `free_class_data` runs at env teardown.
    unsafe { &*data }.ctor.set(ctor);
    cx.add_env_cleanup_hook(free_class_data, d)?;
    cx.set_named(exports, cstr!("BloomFilter"), class)
}

unsafe extern "C" fn free_class_data(arg: *mut c_void) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `arg` is the ClassData box registered with this hook, freed only here.
        let data = unsafe { Box::from_raw(arg.cast::<ClassData>()) };
        // SAFETY: cleanup hooks run on the env's thread while it is still usable.
        let cx = unsafe { Cx::from_raw(data.env) };
        cx.delete_ref(data.ctor.get());
        cx.delete_ref(data.to_booleans.get());
        cx.delete_ref(data.join_keys.get());
    });
}

unsafe extern "C" fn finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `data` is the Box<Inner> given to napi_wrap; N-API calls this once.
        let inner = unsafe { Box::from_raw(data.cast::<Inner>()) };
        // SAFETY: finalizers run on the env's thread.
        let cx = unsafe { Cx::from_raw(env) };
        inner.release(&cx);
    });
}

// ---- construction -------------------------------------------------------------------

callback!(construct => construct_impl);
fn construct_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    if cx.new_target(info)?.is_none() {
        return Err(cx.throw_type_error("Class constructor BloomFilter cannot be invoked without 'new'"));
    }
    let (this, [capacity, error_rate], _) = cx.args::<2>(info)?;
    let inner = match PENDING.with(|p| p.borrow_mut().take()) {
        Some(inner) => inner,
        None => {
            let params = args::params(&cx, capacity, error_rate)?;
            Inner::owned(owned_filter(&cx, params)?)
        }
    };
    let external = inner.external;
    let p = *inner.filter.params();
    let shared = inner.shared_ref();
    cx.wrap(this, inner, Some(finalize))?;
    if external != 0 {
        cx.adjust_external_memory(external);
    }
    // Plain data properties: reading them costs no native call. They never change.
    let shared_memory = match shared {
        Some(r) => cx.ref_value(r)?,
        None => cx.null()?,
    };
    cx.define_values(
        this,
        &[
            (cstr!("capacity"), cx.double(p.capacity() as f64)?),
            (cstr!("errorRate"), cx.double(p.error_rate())?),
            (cstr!("bitCount"), cx.double(p.bit_count() as f64)?),
            (cstr!("hashCount"), cx.double(p.hash_count() as f64)?),
            (cstr!("byteLength"), cx.double(p.byte_length() as f64)?),
            (cstr!("sharedMemory"), shared_memory),
        ],
    )?;
    Ok(this)
}

fn owned_filter(cx: &Cx<'_>, params: Params) -> JsResult<BloomFilter<Storage>> {
    let words = zeroed_owned(params.word_count()).map_err(|e| args::bloom_error(cx, &e))?;
    BloomFilter::from_storage(params, Storage::Owned(words)).map_err(|e| args::bloom_error(cx, &e))
}

/// The ClassData of a callback defined with it (statics, hasMany, addMany).
fn class_data<'a>(cx: &Cx<'a>, info: Info) -> JsResult<&'a ClassData> {
    let data = cx.callback_data(info)?.cast::<ClassData>();
    if data.is_null() {
        return Err(cx.throw_error(js::ERR_INTERNAL, "BloomFilter callback defined without its class data"));
    }
    // SAFETY: `register` passes the ClassData pointer to these callbacks; it lives until
    // the env cleanup hook, after which no callback of this env can run.
    Ok(unsafe { &*data })
}

/// Builds a JS instance around `inner` through the real constructor.
fn instantiate(cx: &Cx<'_>, info: Info, inner: Box<Inner>) -> JsResult<Value> {
    let data = match class_data(cx, info) {
        Ok(d) => d,
        Err(e) => {
            inner.release(cx);
            return Err(e);
        }
    };
    let ctor = match cx.ref_value(data.ctor.get()) {
        Ok(c) => c,
        Err(e) => {
            inner.release(cx);
            return Err(e);
        }
    };
    PENDING.with(|p| *p.borrow_mut() = Some(inner));
    let result = cx.new_instance(ctor, &[]);
    // Not consumed (the constructor failed before taking it): release it here.
    if let Some(left) = PENDING.with(|p| p.borrow_mut().take()) {
        left.release(cx);
    }
    result
}

callback!(from_buffer => from_buffer_impl);
fn from_buffer_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (_, [snapshot], _) = cx.args::<1>(info)?;
    let view = match cx.typed_array(snapshot)? {
        Some(v) if v.is_uint8() => v,
        _ => {
            let got = describe(&cx, snapshot);
            return Err(cx.throw_type_error(&format!("snapshot must be a Buffer or Uint8Array, got {got}")));
        }
    };
    let loaded = from_snapshot(view.bytes()).map_err(|e| args::bloom_error(&cx, &e))?;
    let params = *loaded.params();
    let filter = BloomFilter::from_storage(params, Storage::Owned(loaded.into_storage()))
        .map_err(|e| args::bloom_error(&cx, &e))?;
    instantiate(&cx, info, Inner::owned(filter))
}

callback!(from_shared => from_shared_impl);
fn from_shared_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (_, [memory, capacity, error_rate], _) = cx.args::<3>(info)?;
    let params = args::params(&cx, capacity, error_rate)?;
    attach_shared(&cx, info, memory, params)
}

callback!(create_shared => create_shared_impl);
fn create_shared_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (_, [capacity, error_rate], _) = cx.args::<2>(info)?;
    let params = args::params(&cx, capacity, error_rate)?;
    let sab_class = cx.get_named(cx.global()?, cstr!("SharedArrayBuffer"))?;
    let len = cx.double(params.byte_length() as f64)?;
    let sab = cx.new_instance(sab_class, &[len])?;
    attach_shared(&cx, info, sab, params)
}

/// Wraps a filter around a SharedArrayBuffer (or a typed-array view over one).
fn attach_shared(cx: &Cx<'_>, info: Info, memory: Value, params: Params) -> JsResult<Value> {
    let view = match cx.typed_array(memory)? {
        Some(view) => view,
        None => {
            // N-API (Node 20) has no SharedArrayBuffer accessors, but a view over one works.
            let global = cx.global()?;
            let sab_class = cx.get_named(global, cstr!("SharedArrayBuffer"))?;
            let is_object = cx.type_of(memory)? == sys::ValueType::napi_object;
            if !is_object || !cx.instance_of(memory, sab_class)? {
                let got = describe(cx, memory);
                return Err(cx.throw_type_error(&format!(
                    "memory must be a SharedArrayBuffer or a typed array over one, got {got}"
                )));
            }
            let u8_class = cx.get_named(global, cstr!("Uint8Array"))?;
            let view = cx.new_instance(u8_class, &[memory])?;
            match cx.typed_array(view)? {
                Some(v) => v,
                None => return Err(cx.throw_error(js::ERR_INTERNAL, "could not view the SharedArrayBuffer")),
            }
        }
    };
    if cx.is_arraybuffer(view.buffer)? {
        return Err(cx.throw_type_error(
            "memory must be backed by a SharedArrayBuffer: a plain ArrayBuffer can be detached or transferred under the filter",
        ));
    }
    let expected = params.byte_length();
    if view.byte_len() as u64 != expected {
        return Err(cx.throw_range_error(&format!(
            "memory has {} bytes but a filter of {} bits needs exactly {expected}",
            view.byte_len(),
            params.bit_count()
        )));
    }
    let Some(data) = NonNull::new(view.data) else {
        return Err(cx.throw_range_error("memory has no bytes"));
    };
    if (data.as_ptr() as usize) % 8 != 0 {
        return Err(cx.throw_range_error("memory must start on an 8-byte boundary (check the view's byteOffset)"));
    }
    let keepalive = cx.create_ref(view.buffer)?;
    // SAFETY: `data` starts `expected` = word_count * 8 bytes of the SharedArrayBuffer
    // referenced by `keepalive` (checked above), is 8-byte aligned (checked above), and
    // `keepalive` lives as long as the SharedWords (deleted in `Inner::release`).
    let words = unsafe { SharedWords::new(data, params.word_count(), keepalive) };
    let filter = match BloomFilter::from_storage(params, Storage::Shared(words)) {
        Ok(f) => f,
        Err(e) => {
            cx.delete_ref(keepalive);
            return Err(args::bloom_error(cx, &e));
        }
    };
    instantiate(cx, info, Box::new(Inner { filter, external: 0 }))
}

callback!(static_params => static_params_impl);
fn static_params_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (_, [capacity, error_rate], _) = cx.args::<2>(info)?;
    let p = args::params(&cx, capacity, error_rate)?;
    let obj = cx.object()?;
    cx.set_named(obj, cstr!("capacity"), cx.double(p.capacity() as f64)?)?;
    cx.set_named(obj, cstr!("errorRate"), cx.double(p.error_rate())?)?;
    cx.set_named(obj, cstr!("bitCount"), cx.double(p.bit_count() as f64)?)?;
    cx.set_named(obj, cstr!("hashCount"), cx.double(p.hash_count() as f64)?)?;
    cx.set_named(obj, cstr!("byteLength"), cx.double(p.byte_length() as f64)?)?;
    Ok(obj)
}

// ---- the hot path ---------------------------------------------------------------------

/// The filter behind `this`. Only for prototype methods (see `Cx::unwrap`).
fn this_filter<'a>(cx: &Cx<'a>, this: Value) -> JsResult<&'a BloomFilter<Storage>> {
    // SAFETY: every caller is a prototype method defined in `register`, and the
    // constructor wraps a Box<Inner> into every instance.
    Ok(&unsafe { cx.unwrap::<Inner>(this, CLASS) }?.filter)
}

callback!(has => has_impl);
fn has_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [k], _) = cx.args::<1>(info)?;
    let filter = this_filter(&cx, this)?;
    let h = key::hash(&cx, k, KeyName::Arg)?;
    cx.boolean(filter.has_hash(h))
}

callback!(add => add_impl);
fn add_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [k], _) = cx.args::<1>(info)?;
    let filter = this_filter(&cx, this)?;
    let h = key::hash(&cx, k, KeyName::Arg)?;
    cx.boolean(add_one(filter, h))
}

/// Test-and-set of one key: atomic read-modify-writes only when other threads may
/// write the same words (shared memory); an owned filter has a single writer, its JS thread.
#[inline]
fn add_one(filter: &BloomFilter<Storage>, hash: u64) -> bool {
    match filter.storage() {
        Storage::Owned(_) => filter.add_hash_unshared(hash),
        Storage::Shared(_) => filter.add_hash(hash),
    }
}

/// The array argument of hasMany/addMany and its length.
fn key_array(cx: &Cx<'_>, keys: Value) -> JsResult<u32> {
    if !cx.is_array(keys)? {
        let got = describe(cx, keys);
        return Err(cx.throw_type_error(&format!("keys must be an array of strings or Uint8Arrays, got {got}")));
    }
    cx.array_len(keys)
}

/// Hashes every key first, so a bad element throws before anything changes.
fn hash_all(cx: &Cx<'_>, info: Info, keys: Value, len: u32) -> JsResult<Vec<u64>> {
    if len >= 2 {
        if let Some(hashes) = hash_joined(cx, class_data(cx, info)?, keys, len)? {
            return Ok(hashes);
        }
    }
    hash_each(cx, keys, len)
}

/// The batch fast path: every key a string → the keys joined with U+0000 by one JS call,
/// read as UTF-8 once, split here. None (use `hash_each`) when a key is not a string or
/// contains U+0000 itself (the pieces then outnumber the keys).
fn hash_joined(cx: &Cx<'_>, data: &ClassData, keys: Value, len: u32) -> JsResult<Option<Vec<u64>>> {
    let joined = cx.call(cx.ref_value(data.join_keys.get())?, &[keys])?;
    let Some(n) = cx.string_len(joined)? else { return Ok(None) };
    let mut buf: Vec<MaybeUninit<u8>> = Vec::new();
    let mut hashes = Vec::new();
    if buf.try_reserve_exact(n + 1).is_err() || hashes.try_reserve_exact(len as usize).is_err() {
        return Err(cx.throw_range_error(&format!("cannot hash {len} keys at once: out of memory")));
    }
    buf.resize(n + 1, MaybeUninit::uninit());
    let bytes = cx.string_into(joined, &mut buf)?.unwrap_or(&[]);
    if bytes.len() != n {
        return Ok(None);
    }
    for piece in bytes.split(|&b| b == 0) {
        if hashes.len() == len as usize {
            return Ok(None);
        }
        hashes.push(key_hash(piece));
    }
    Ok((hashes.len() == len as usize).then_some(hashes))
}

/// One key at a time: strings and Uint8Arrays, with a TypeError naming a bad element.
fn hash_each(cx: &Cx<'_>, keys: Value, len: u32) -> JsResult<Vec<u64>> {
    let mut hashes = Vec::new();
    if hashes.try_reserve_exact(len as usize).is_err() {
        return Err(cx.throw_range_error(&format!("cannot hash {len} keys at once: out of memory")));
    }
    for i in 0..len {
        let k = cx.element(keys, i)?;
        hashes.push(key::hash(cx, k, KeyName::Index(i))?);
    }
    Ok(hashes)
}

callback!(has_many => has_many_impl);
fn has_many_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [keys], _) = cx.args::<1>(info)?;
    let filter = this_filter(&cx, this)?;
    let len = key_array(&cx, keys)?;
    let hashes = hash_all(&cx, info, keys, len)?;
    let m = mask(&cx, hashes.iter().map(|&h| filter.has_hash(h)))?;
    cx.call(cx.ref_value(class_data(&cx, info)?.to_booleans.get())?, &[m])
}

callback!(add_many => add_many_impl);
fn add_many_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [keys], _) = cx.args::<1>(info)?;
    let filter = this_filter(&cx, this)?;
    let len = key_array(&cx, keys)?;
    let hashes = hash_all(&cx, info, keys, len)?;
    let m = mask(&cx, hashes.iter().map(|&h| add_one(filter, h)))?;
    cx.call(cx.ref_value(class_data(&cx, info)?.to_booleans.get())?, &[m])
}

/// One byte per key, 1 for true: a result N-API can fill without a call per key.
fn mask(cx: &Cx<'_>, results: impl ExactSizeIterator<Item = bool>) -> JsResult<Value> {
    let (arr, bytes) = cx.uint8_array(results.len())?;
    for (b, r) in bytes.iter_mut().zip(results) {
        *b = r as u8;
    }
    Ok(arr)
}

callback!(has_many_mask => has_many_mask_impl);
fn has_many_mask_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [keys], _) = cx.args::<1>(info)?;
    let filter = this_filter(&cx, this)?;
    let len = key_array(&cx, keys)?;
    let hashes = hash_all(&cx, info, keys, len)?;
    mask(&cx, hashes.iter().map(|&h| filter.has_hash(h)))
}

callback!(add_many_mask => add_many_mask_impl);
fn add_many_mask_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [keys], _) = cx.args::<1>(info)?;
    let filter = this_filter(&cx, this)?;
    let len = key_array(&cx, keys)?;
    let hashes = hash_all(&cx, info, keys, len)?;
    mask(&cx, hashes.iter().map(|&h| add_one(filter, h)))
}

// ---- the rest -------------------------------------------------------------------------

callback!(clear => clear_impl);
fn clear_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [], _) = cx.args::<0>(info)?;
    this_filter(&cx, this)?.clear();
    cx.undefined()
}

/// Declares a no-argument method or getter returning a number computed from the filter.
macro_rules! number_of {
    ($name:ident, $impl_name:ident, |$f:ident| $e:expr) => {
        callback!($name => $impl_name);
        fn $impl_name(cx: Cx<'_>, info: Info) -> JsResult<Value> {
            let (this, [], _) = cx.args::<0>(info)?;
            let $f = this_filter(&cx, this)?;
            cx.double($e)
        }
    };
}

number_of!(set_bit_count, set_bit_count_impl, |f| f.set_bit_count() as f64);
number_of!(fill_ratio, fill_ratio_impl, |f| f.fill_ratio());
number_of!(estimated_fpr, estimated_fpr_impl, |f| f.estimated_false_positive_rate());
number_of!(estimated_cardinality, estimated_cardinality_impl, |f| f.estimated_cardinality());

callback!(to_buffer => to_buffer_impl);
fn to_buffer_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [], _) = cx.args::<0>(info)?;
    let filter = this_filter(&cx, this)?;
    let len = snapshot_len(filter.params());
    let Ok(len) = usize::try_from(len) else {
        return Err(cx.throw_range_error("snapshot too large for this platform"));
    };
    let (buf, bytes) = cx.buffer(len)?;
    filter.write_snapshot(bytes).map_err(|e| args::bloom_error(&cx, &e))?;
    Ok(buf)
}
