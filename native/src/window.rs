//! The JS class `DedupWindow`: a thin shell over `cxone_bloom::DedupWindow` (two
//! generations of Bloom filter + fingerprint table; docs/bloom-format.md). Same style as
//! `class.rs`: raw N-API, every argument checked, no panic crosses into Node.
//!
//! The hot calls answer with small integers: `check` → 0 new, 1 duplicate, 2 unconfirmed;
//! `record` → `RECORD_*` bits; `observe` → both or'ed together.

use crate::args::{self, describe};
use crate::js::{self, callback, cstr, Cx, Info, JsResult, Ref, Thrown, Value};
use crate::key::{self, KeyName};
use crate::storage::zeroed_owned;
use cxone_bloom::{
    table_snapshot_len, snapshot_len, BloomError, BloomFilter, DedupWindow, FingerprintTable, Generation,
    GenerationStats, OwnedWords, TableError, Which, WindowError, WindowParams, MAX_CAPACITY,
};
use napi::sys::{self, ValueType};
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::ptr;

const CLASS: &str = "DedupWindow";

/// The native half of one JS `DedupWindow` object.
pub struct Inner {
    window: DedupWindow<OwnedWords>,
    /// Bytes reported to V8 with `napi_adjust_external_memory`.
    external: i64,
}

impl Inner {
    fn new(window: DedupWindow<OwnedWords>) -> Box<Self> {
        let external = window.params().byte_length() as i64;
        Box::new(Inner { window, external })
    }

    fn release(self: Box<Self>, cx: &Cx<'_>) {
        let external = self.external;
        drop(self);
        cx.adjust_external_memory(-external);
    }
}

/// Per-env class state: the constructor, for `fromGenerations`.
struct ClassData {
    env: sys::napi_env,
    ctor: Cell<Ref>,
}

thread_local! {
    /// A window built by `fromGenerations`, handed to the constructor it calls.
    static PENDING: RefCell<Option<Box<Inner>>> = const { RefCell::new(None) };
}

/// Defines `DedupWindow` on `exports`.
pub fn register(cx: &Cx<'_>, exports: Value) -> JsResult<()> {
    let data = Box::into_raw(Box::new(ClassData { env: cx.raw(), ctor: Cell::new(ptr::null_mut()) }));
    let d = data.cast::<c_void>();
    let kind = cx.string("native")?;
    let none = ptr::null_mut();
    let props = [
        js::method(cstr!("check"), Some(check), none, false),
        js::method(cstr!("observe"), Some(observe), none, false),
        js::method(cstr!("record"), Some(record), none, false),
        js::method(cstr!("rotate"), Some(rotate), none, false),
        js::method(cstr!("activeInsertions"), Some(active_insertions), none, false),
        js::method(cstr!("stats"), Some(stats), none, false),
        js::method(cstr!("exportGeneration"), Some(export_generation), none, false),
        js::value(cstr!("kind"), kind),
        js::method(cstr!("fromGenerations"), Some(from_generations), d, true),
        js::method(cstr!("params"), Some(static_params), d, true),
    ];
    let class = match cx.define_class(CLASS, Some(construct), d, &props) {
        Ok(c) => c,
        Err(e) => {
            // SAFETY: `data` came from Box::into_raw above and was not handed out.
            drop(unsafe { Box::from_raw(data) });
            return Err(e);
        }
    };
    // Strong, as for BloomFilter: a detached static may outlive every other handle.
    let ctor = cx.create_ref(class)?;
    // SAFETY: `data` is live until `free_class_data` runs at env teardown.
    unsafe { &*data }.ctor.set(ctor);
    cx.add_env_cleanup_hook(free_class_data, d)?;
    cx.set_named(exports, cstr!("DedupWindow"), class)
}

unsafe extern "C" fn free_class_data(arg: *mut c_void) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `arg` is the ClassData box registered with this hook, freed only here.
        let data = unsafe { Box::from_raw(arg.cast::<ClassData>()) };
        // SAFETY: cleanup hooks run on the env's thread while it is still usable.
        let cx = unsafe { Cx::from_raw(data.env) };
        cx.delete_ref(data.ctor.get());
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

/// Throws a core error as the JS error class that fits it; `context` names the part
/// being restored ("active generation"), if any.
fn window_error(cx: &Cx<'_>, e: &WindowError, context: Option<&str>) -> Thrown {
    let msg = match context {
        Some(c) => format!("{c}: {e}"),
        None => e.to_string(),
    };
    match e {
        WindowError::Bloom(BloomError::Snapshot(_)) => cx.throw_error(js::ERR_SNAPSHOT, &msg),
        WindowError::Table(TableError::Snapshot(_)) => cx.throw_error(js::ERR_TABLE_SNAPSHOT, &msg),
        WindowError::Bloom(BloomError::OutOfMemory { .. }) | WindowError::Table(TableError::OutOfMemory { .. }) => {
            cx.throw_error("ERR_MEMORY_ALLOCATION_FAILED", &msg)
        }
        WindowError::Bloom(_) | WindowError::Table(_) | WindowError::CapacityTooLarge { .. } => {
            cx.throw_range_error(&msg)
        }
        WindowError::TableSizeMismatch { .. }
        | WindowError::GenerationMismatch { .. }
        | WindowError::ExactWithoutTable
        | WindowError::InsertionCount { .. }
        | WindowError::TableNotInFilter { .. } => cx.throw_error(js::ERR_WINDOW_SNAPSHOT, &msg),
    }
}

/// Checked capacity and error rate, sized as a window.
fn window_params(cx: &Cx<'_>, capacity: Value, error_rate: Value) -> JsResult<WindowParams> {
    let bloom = args::params(cx, capacity, error_rate)?;
    WindowParams::from_bloom(bloom).map_err(|e| window_error(cx, &e, None))
}

/// An empty generation on lazily zeroed pages (calloc): a big window costs memory only as
/// it fills.
fn empty_generation(params: &WindowParams) -> Result<Generation<OwnedWords>, WindowError> {
    let bloom_words = zeroed_owned(params.bloom().word_count())?;
    let oom = || TableError::OutOfMemory { bytes: params.table_words().saturating_mul(8) };
    let n = usize::try_from(params.table_words()).map_err(|_| oom())?;
    let table_words = zeroed_owned(n).map_err(|_| oom())?;
    let bloom = BloomFilter::from_storage(*params.bloom(), bloom_words)?;
    let table = FingerprintTable::from_storage(params.table_slots(), table_words)?;
    Generation::from_parts(bloom, table, 0, true)
}

// ---- construction -------------------------------------------------------------------

callback!(construct => construct_impl);
fn construct_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    if cx.new_target(info)?.is_none() {
        return Err(cx.throw_type_error("Class constructor DedupWindow cannot be invoked without 'new'"));
    }
    let (this, [capacity, error_rate], _) = cx.args::<2>(info)?;
    let inner = match PENDING.with(|p| p.borrow_mut().take()) {
        Some(inner) => inner,
        None => {
            let params = window_params(&cx, capacity, error_rate)?;
            let built = empty_generation(&params)
                .and_then(|a| Ok((a, empty_generation(&params)?)))
                .and_then(|(a, p)| DedupWindow::from_generations(a, p));
            Inner::new(built.map_err(|e| window_error(&cx, &e, None))?)
        }
    };
    let external = inner.external;
    let p = *inner.window.params();
    cx.wrap(this, inner, Some(finalize))?;
    cx.adjust_external_memory(external);
    // Plain data properties: reading them costs no native call. They never change.
    cx.define_values(
        this,
        &[
            (cstr!("capacity"), cx.double(p.capacity() as f64)?),
            (cstr!("errorRate"), cx.double(p.error_rate())?),
            (cstr!("bitCount"), cx.double(p.bloom().bit_count() as f64)?),
            (cstr!("hashCount"), cx.double(f64::from(p.bloom().hash_count()))?),
            (cstr!("tableSlots"), cx.double(p.table_slots() as f64)?),
            (cstr!("tableLimit"), cx.double(p.table_limit() as f64)?),
            (cstr!("byteLength"), cx.double(p.byte_length() as f64)?),
        ],
    )?;
    Ok(this)
}

fn class_data<'a>(cx: &Cx<'a>, info: Info) -> JsResult<&'a ClassData> {
    let data = cx.callback_data(info)?.cast::<ClassData>();
    if data.is_null() {
        return Err(cx.throw_error(js::ERR_INTERNAL, "DedupWindow callback defined without its class data"));
    }
    // SAFETY: `register` passes the ClassData pointer to the statics; it lives until the
    // env cleanup hook, after which no callback of this env can run.
    Ok(unsafe { &*data })
}

/// Builds a JS instance around `inner` through the real constructor.
fn instantiate(cx: &Cx<'_>, info: Info, inner: Box<Inner>) -> JsResult<Value> {
    let ctor = match class_data(cx, info).and_then(|d| cx.ref_value(d.ctor.get())) {
        Ok(c) => c,
        Err(e) => {
            drop(inner); // never wrapped, so never reported to V8
            return Err(e);
        }
    };
    PENDING.with(|p| *p.borrow_mut() = Some(inner));
    let result = cx.new_instance(ctor, &[]);
    // Not consumed (the constructor failed before taking it): drop it here. Its memory
    // was never reported to V8.
    drop(PENDING.with(|p| p.borrow_mut().take()));
    result
}

/// One generation as `fromGenerations` takes it: `{ bloom, table, insertions, exact }`.
struct GenerationArg {
    bloom: Value,
    table: Value,
    insertions: u64,
    exact: bool,
}

/// Reads and type-checks one generation object. Only property reads here (they may run
/// getters); byte views are taken later, when no more JS can run.
fn generation_arg(cx: &Cx<'_>, v: Value, name: &str) -> JsResult<GenerationArg> {
    if cx.type_of(v)? != ValueType::napi_object || cx.is_array(v)? {
        let got = describe(cx, v);
        return Err(cx.throw_type_error(&format!(
            "{name} must be an object {{ bloom, table, insertions, exact }} (from exportGeneration), got {got}"
        )));
    }
    let bloom = cx.get_named(v, cstr!("bloom"))?;
    let table = cx.get_named(v, cstr!("table"))?;
    let insertions_v = cx.get_named(v, cstr!("insertions"))?;
    let exact_v = cx.get_named(v, cstr!("exact"))?;
    if cx.type_of(insertions_v)? != ValueType::napi_number {
        let got = describe(cx, insertions_v);
        return Err(cx.throw_type_error(&format!("{name}.insertions must be a number, got {got}")));
    }
    let x = cx.f64(insertions_v)?;
    if !(x >= 0.0 && x <= MAX_CAPACITY as f64 && x == x.trunc()) {
        return Err(cx.throw_range_error(&format!(
            "{name}.insertions must be an integer from 0 to 2^53-1, got {}",
            args::js_number(x)
        )));
    }
    if cx.type_of(exact_v)? != ValueType::napi_boolean {
        let got = describe(cx, exact_v);
        return Err(cx.throw_type_error(&format!("{name}.exact must be a boolean, got {got}")));
    }
    Ok(GenerationArg { bloom, table, insertions: x as u64, exact: cx.bool_value(exact_v)? })
}

/// Loads one generation from checked arguments. No JS runs from here on, so the byte
/// views stay valid.
fn load_generation(cx: &Cx<'_>, g: &GenerationArg, name: &str) -> JsResult<Generation<OwnedWords>> {
    let Some(bloom) = cx.uint8_bytes(g.bloom)? else {
        let got = describe(cx, g.bloom);
        return Err(cx.throw_type_error(&format!("{name}.bloom must be a Buffer or Uint8Array, got {got}")));
    };
    let table = match cx.type_of(g.table)? {
        ValueType::napi_null | ValueType::napi_undefined => None,
        _ => match cx.uint8_bytes(g.table)? {
            Some(b) => Some(b),
            None => {
                let got = describe(cx, g.table);
                return Err(cx.throw_type_error(&format!(
                    "{name}.table must be a Buffer, a Uint8Array or null, got {got}"
                )));
            }
        },
    };
    Generation::from_snapshots(bloom, table, g.insertions, g.exact)
        .map_err(|e| window_error(cx, &e, Some(&format!("{name} generation"))))
}

callback!(from_generations => from_generations_impl);
fn from_generations_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (_, [active_v, previous_v], _) = cx.args::<2>(info)?;
    let active = generation_arg(&cx, active_v, "active")?;
    let previous = generation_arg(&cx, previous_v, "previous")?;
    let a = load_generation(&cx, &active, "active")?;
    let p = load_generation(&cx, &previous, "previous")?;
    let window = DedupWindow::from_generations(a, p).map_err(|e| window_error(&cx, &e, None))?;
    instantiate(&cx, info, Inner::new(window))
}

callback!(static_params => static_params_impl);
fn static_params_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (_, [capacity, error_rate], _) = cx.args::<2>(info)?;
    let p = window_params(&cx, capacity, error_rate)?;
    let obj = cx.object()?;
    cx.set_named(obj, cstr!("capacity"), cx.double(p.capacity() as f64)?)?;
    cx.set_named(obj, cstr!("errorRate"), cx.double(p.error_rate())?)?;
    cx.set_named(obj, cstr!("bitCount"), cx.double(p.bloom().bit_count() as f64)?)?;
    cx.set_named(obj, cstr!("hashCount"), cx.double(f64::from(p.bloom().hash_count()))?)?;
    cx.set_named(obj, cstr!("tableSlots"), cx.double(p.table_slots() as f64)?)?;
    cx.set_named(obj, cstr!("tableLimit"), cx.double(p.table_limit() as f64)?)?;
    cx.set_named(obj, cstr!("generationByteLength"), cx.double(p.generation_bytes() as f64)?)?;
    cx.set_named(obj, cstr!("byteLength"), cx.double(p.byte_length() as f64)?)?;
    Ok(obj)
}

// ---- the hot path ---------------------------------------------------------------------

/// The window behind `this`. Only for prototype methods (see `Cx::unwrap`).
fn this_window<'a>(cx: &Cx<'a>, this: Value) -> JsResult<&'a DedupWindow<OwnedWords>> {
    // SAFETY: every caller is a prototype method defined in `register`, and the
    // constructor wraps a Box<Inner> into every instance.
    Ok(&unsafe { cx.unwrap::<Inner>(this, CLASS) }?.window)
}

// The window's storage is owned and only this env's thread calls into it, so the
// record paths use the single-writer variants (no read-modify-writes).

callback!(check => check_impl);
fn check_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [k], _) = cx.args::<1>(info)?;
    let window = this_window(&cx, this)?;
    let h = key::hash(&cx, k, KeyName::Arg)?;
    cx.uint32(window.check_hash(h).code())
}

callback!(observe => observe_impl);
fn observe_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [k], _) = cx.args::<1>(info)?;
    let window = this_window(&cx, this)?;
    let h = key::hash(&cx, k, KeyName::Arg)?;
    cx.uint32(window.observe_hash_unshared(h).code())
}

callback!(record => record_impl);
fn record_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [k], _) = cx.args::<1>(info)?;
    let window = this_window(&cx, this)?;
    let h = key::hash(&cx, k, KeyName::Arg)?;
    cx.uint32(window.record_hash_unshared(h).bits())
}

// ---- the rest -------------------------------------------------------------------------

callback!(rotate => rotate_impl);
fn rotate_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [], _) = cx.args::<0>(info)?;
    this_window(&cx, this)?.rotate();
    cx.undefined()
}

callback!(active_insertions => active_insertions_impl);
fn active_insertions_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [], _) = cx.args::<0>(info)?;
    cx.double(this_window(&cx, this)?.active_insertions() as f64)
}

fn generation_stats_object(cx: &Cx<'_>, s: &GenerationStats) -> JsResult<Value> {
    let obj = cx.object()?;
    cx.set_named(obj, cstr!("insertions"), cx.double(s.insertions as f64)?)?;
    cx.set_named(obj, cstr!("exact"), cx.boolean(s.exact)?)?;
    cx.set_named(obj, cstr!("tableLength"), cx.double(s.table_len as f64)?)?;
    cx.set_named(obj, cstr!("tableSlots"), cx.double(s.table_slots as f64)?)?;
    cx.set_named(obj, cstr!("fillRatio"), cx.double(s.fill_ratio)?)?;
    cx.set_named(obj, cstr!("estimatedFalsePositiveRate"), cx.double(s.estimated_false_positive_rate)?)?;
    Ok(obj)
}

callback!(stats => stats_impl);
fn stats_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [], _) = cx.args::<0>(info)?;
    let w = this_window(&cx, this)?;
    let c = w.counters();
    let obj = cx.object()?;
    cx.set_named(obj, cstr!("active"), generation_stats_object(&cx, &w.generation_stats(Which::Active))?)?;
    cx.set_named(obj, cstr!("previous"), generation_stats_object(&cx, &w.generation_stats(Which::Previous))?)?;
    cx.set_named(obj, cstr!("falsePositives"), cx.double(c.false_positives as f64)?)?;
    cx.set_named(obj, cstr!("unconfirmed"), cx.double(c.unconfirmed as f64)?)?;
    cx.set_named(obj, cstr!("overflows"), cx.double(c.overflows as f64)?)?;
    Ok(obj)
}

/// 'active' or 'previous'.
fn which_arg(cx: &Cx<'_>, v: Value) -> JsResult<Which> {
    let mut buf = [MaybeUninit::<u8>::uninit(); 16];
    match cx.string_into(v, &mut buf)? {
        Some(b"active") => Ok(Which::Active),
        Some(b"previous") => Ok(Which::Previous),
        Some(_) => Err(cx.throw_range_error("which must be 'active' or 'previous'")),
        None => {
            let got = describe(cx, v);
            Err(cx.throw_type_error(&format!("which must be 'active' or 'previous', got {got}")))
        }
    }
}

fn len_usize(cx: &Cx<'_>, len: u64) -> JsResult<usize> {
    usize::try_from(len).map_err(|_| cx.throw_range_error("snapshot too large for this platform"))
}

callback!(export_generation => export_generation_impl);
fn export_generation_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (this, [which_v], _) = cx.args::<1>(info)?;
    let w = this_window(&cx, this)?;
    let which = which_arg(&cx, which_v)?;
    let g = w.generation(which);
    let (bloom, bloom_bytes) = cx.buffer(len_usize(&cx, snapshot_len(g.bloom().params()))?)?;
    g.bloom().write_snapshot(bloom_bytes).map_err(|e| window_error(&cx, &WindowError::from(e), None))?;
    let (table, table_bytes) = cx.buffer(len_usize(&cx, table_snapshot_len(g.table().slots()))?)?;
    g.table().write_snapshot(table_bytes).map_err(|e| window_error(&cx, &WindowError::from(e), None))?;
    let obj = cx.object()?;
    cx.set_named(obj, cstr!("bloom"), bloom)?;
    cx.set_named(obj, cstr!("table"), table)?;
    cx.set_named(obj, cstr!("insertions"), cx.double(g.insertions() as f64)?)?;
    cx.set_named(obj, cstr!("exact"), cx.boolean(g.is_exact())?)?;
    Ok(obj)
}
