//! The raw N-API calls the addon needs, behind small safe methods on [`Cx`].
//!
//! napi-rs' generated class glue costs ~450 ns per method call (borrow tracking,
//! allocations, locks), three times the budget of `has`, so the class is defined
//! here directly on N-API. All `unsafe` of the face is in this module and in
//! `storage.rs` (plus the class registrations in `class.rs` and `window.rs`); each block relies on the same invariant: a [`Cx`] exists only inside
//! an N-API callback (or module init / finalizer) on the JS thread that owns `env`,
//! and every `napi_value` passed to its methods was handed to, or created in, that
//! same callback.

use napi::sys;
use std::ffi::{c_char, c_void};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

pub use sys::{napi_callback_info as Info, napi_env as Env, napi_ref as Ref, napi_value as Value};

/// A JS exception is pending: return to JS at once (the value returned is ignored).
#[derive(Debug)]
pub struct Thrown;

pub type JsResult<T> = Result<T, Thrown>;

/// Node-style `code` properties on the errors we throw.
pub const ERR_TYPE: &str = "ERR_INVALID_ARG_TYPE";
pub const ERR_RANGE: &str = "ERR_OUT_OF_RANGE";
pub const ERR_SNAPSHOT: &str = "ERR_BLOOM_SNAPSHOT";
pub const ERR_TABLE_SNAPSHOT: &str = "ERR_FINGERPRINT_SNAPSHOT";
pub const ERR_WINDOW_SNAPSHOT: &str = "ERR_WINDOW_SNAPSHOT";
pub const ERR_INTERNAL: &str = "ERR_BLOOM_INTERNAL";

#[derive(Clone, Copy)]
enum ErrorClass {
    Error,
    Type,
    Range,
}

/// The env of the callback being served. `'a` ties borrowed data to the callback.
#[derive(Clone, Copy)]
pub struct Cx<'a> {
    env: Env,
    _scope: PhantomData<&'a ()>,
}

/// Which kind of typed array a view is, and where its bytes are.
pub struct TypedArray {
    pub kind: sys::napi_typedarray_type,
    /// Elements, not bytes.
    pub len: usize,
    pub data: *mut u8,
    /// The ArrayBuffer or SharedArrayBuffer under the view.
    pub buffer: Value,
}

impl TypedArray {
    #[allow(non_upper_case_globals)]
    pub fn element_size(&self) -> usize {
        use sys::TypedarrayType::*;
        match self.kind {
            int8_array | uint8_array | uint8_clamped_array => 1,
            int16_array | uint16_array => 2,
            int32_array | uint32_array | float32_array => 4,
            _ => 8, // float64, bigint64, biguint64
        }
    }

    pub fn byte_len(&self) -> usize {
        self.len.saturating_mul(self.element_size())
    }

    pub fn is_uint8(&self) -> bool {
        self.kind == sys::TypedarrayType::uint8_array
    }

    /// The view's bytes. Valid while no JS runs (a detached view has length 0).
    ///
    /// The returned slice must not outlive the callback nor span a call into JS.
    pub fn bytes(&self) -> &[u8] {
        if self.data.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: N-API reported `data` as the start of this live view and `byte_len` as
        // its size; no JS (which alone could detach or shrink it) runs while it is borrowed.
        unsafe { std::slice::from_raw_parts(self.data, self.byte_len()) }
    }
}

/// Runs a callback body: returns its value, or null with an exception pending. A
/// panic is caught here and becomes a JS `Error`, so no unwind crosses into Node.
pub fn run(env: Env, body: impl FnOnce(Cx<'_>) -> JsResult<Value>) -> Value {
    let cx = Cx { env, _scope: PhantomData };
    match catch_unwind(AssertUnwindSafe(|| body(cx))) {
        Ok(Ok(v)) => v,
        Ok(Err(Thrown)) => ptr::null_mut(),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            // Best effort: a second panic here would abort, so nothing in it may panic.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                if !cx.is_exception_pending() {
                    cx.throw_error(ERR_INTERNAL, &format!("cxone-dedup native: internal error: {what}"));
                }
            }));
            ptr::null_mut()
        }
    }
}

/// Declares an `extern "C"` N-API callback that runs `$body(cx, info)` under [`run`].
macro_rules! callback {
    ($name:ident => $body:path) => {
        unsafe extern "C" fn $name(
            env: napi::sys::napi_env,
            info: napi::sys::napi_callback_info,
        ) -> napi::sys::napi_value {
            $crate::js::run(env, |cx| $body(cx, info))
        }
    };
}
pub(crate) use callback;

macro_rules! cstr {
    ($s:literal) => {
        concat!($s, "\0").as_ptr().cast::<std::ffi::c_char>()
    };
}
pub(crate) use cstr;

impl<'a> Cx<'a> {
    /// # Safety
    /// Only inside module init or a finalizer, on the thread owning `env`.
    pub unsafe fn from_raw(env: Env) -> Self {
        Cx { env, _scope: PhantomData }
    }

    pub fn raw(&self) -> Env {
        self.env
    }

    /// Ok, or an exception describing the failed call (unless one is already pending).
    #[inline]
    pub fn check(&self, status: sys::napi_status, what: &str) -> JsResult<()> {
        if status == sys::Status::napi_ok {
            return Ok(());
        }
        self.fail(status, what)
    }

    #[cold]
    #[inline(never)]
    fn fail(&self, status: sys::napi_status, what: &str) -> JsResult<()> {
        if status == sys::Status::napi_pending_exception || self.is_exception_pending() {
            return Err(Thrown);
        }
        Err(self.throw_error(ERR_INTERNAL, &format!("cxone-dedup native: {what} failed (napi status {status})")))
    }

    pub fn is_exception_pending(&self) -> bool {
        let mut pending = false;
        // SAFETY: valid env (type invariant); `pending` is a live out-pointer.
        let status = unsafe { sys::napi_is_exception_pending(self.env, &mut pending) };
        status == sys::Status::napi_ok && pending
    }

    fn throw_with(&self, class: ErrorClass, code: &str, msg: &str) -> Thrown {
        let mut err = ptr::null_mut();
        // SAFETY: valid env; `code`/`msg` are napi strings made just above; out-pointers live.
        unsafe {
            if let (Ok(code), Ok(msg)) = (self.string(code), self.string(msg)) {
                let status = match class {
                    ErrorClass::Error => sys::napi_create_error(self.env, code, msg, &mut err),
                    ErrorClass::Type => sys::napi_create_type_error(self.env, code, msg, &mut err),
                    ErrorClass::Range => sys::napi_create_range_error(self.env, code, msg, &mut err),
                };
                if status == sys::Status::napi_ok {
                    sys::napi_throw(self.env, err);
                    return Thrown;
                }
            }
            // Could not even build the error: throw something rather than nothing.
            sys::napi_throw_error(self.env, ptr::null(), cstr!("cxone-dedup native: could not create an error"));
        }
        Thrown
    }

    pub fn throw_type_error(&self, msg: &str) -> Thrown {
        self.throw_with(ErrorClass::Type, ERR_TYPE, msg)
    }

    pub fn throw_range_error(&self, msg: &str) -> Thrown {
        self.throw_with(ErrorClass::Range, ERR_RANGE, msg)
    }

    pub fn throw_error(&self, code: &str, msg: &str) -> Thrown {
        self.throw_with(ErrorClass::Error, code, msg)
    }

    /// `this` and up to `N` arguments (missing ones are `undefined`), and the real count.
    pub fn args<const N: usize>(&self, info: Info) -> JsResult<(Value, [Value; N], usize)> {
        let mut argv = [ptr::null_mut(); N];
        let mut argc = N;
        let mut this = ptr::null_mut();
        // SAFETY: `info` comes from the current callback; argv has room for `argc` values.
        let status = unsafe {
            sys::napi_get_cb_info(self.env, info, &mut argc, argv.as_mut_ptr(), &mut this, ptr::null_mut())
        };
        self.check(status, "napi_get_cb_info")?;
        Ok((this, argv, argc))
    }

    /// The `data` pointer given when the callback was defined.
    pub fn callback_data(&self, info: Info) -> JsResult<*mut c_void> {
        let mut data = ptr::null_mut();
        let mut argc = 0;
        // SAFETY: as in `args`, asking for no arguments.
        let status = unsafe {
            sys::napi_get_cb_info(self.env, info, &mut argc, ptr::null_mut(), ptr::null_mut(), &mut data)
        };
        self.check(status, "napi_get_cb_info")?;
        Ok(data)
    }

    /// `new.target`, or None for a call without `new`.
    pub fn new_target(&self, info: Info) -> JsResult<Option<Value>> {
        let mut target = ptr::null_mut();
        // SAFETY: `info` comes from the current callback.
        let status = unsafe { sys::napi_get_new_target(self.env, info, &mut target) };
        self.check(status, "napi_get_new_target")?;
        Ok(if target.is_null() { None } else { Some(target) })
    }

    pub fn type_of(&self, v: Value) -> JsResult<sys::napi_valuetype> {
        let mut t = 0;
        // SAFETY: valid env and value.
        let status = unsafe { sys::napi_typeof(self.env, v, &mut t) };
        self.check(status, "napi_typeof")?;
        Ok(t)
    }

    /// The number in `v`; the caller has checked `type_of(v)` is number.
    pub fn f64(&self, v: Value) -> JsResult<f64> {
        let mut x = 0.0;
        // SAFETY: valid env and value.
        let status = unsafe { sys::napi_get_value_double(self.env, v, &mut x) };
        self.check(status, "napi_get_value_double")?;
        Ok(x)
    }

    /// The boolean in `v`; the caller has checked `type_of(v)` is boolean.
    pub fn bool_value(&self, v: Value) -> JsResult<bool> {
        let mut b = false;
        // SAFETY: valid env and value.
        let status = unsafe { sys::napi_get_value_bool(self.env, v, &mut b) };
        self.check(status, "napi_get_value_bool")?;
        Ok(b)
    }

    /// A small integer (a JS number; V8 keeps it a Smi, no heap allocation).
    pub fn uint32(&self, x: u32) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env; out-pointer live.
        let status = unsafe { sys::napi_create_uint32(self.env, x, &mut v) };
        self.check(status, "napi_create_uint32")?;
        Ok(v)
    }

    pub fn boolean(&self, b: bool) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env; out-pointer live.
        let status = unsafe { sys::napi_get_boolean(self.env, b, &mut v) };
        self.check(status, "napi_get_boolean")?;
        Ok(v)
    }

    pub fn double(&self, x: f64) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env; out-pointer live.
        let status = unsafe { sys::napi_create_double(self.env, x, &mut v) };
        self.check(status, "napi_create_double")?;
        Ok(v)
    }

    pub fn undefined(&self) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env; out-pointer live.
        let status = unsafe { sys::napi_get_undefined(self.env, &mut v) };
        self.check(status, "napi_get_undefined")?;
        Ok(v)
    }

    pub fn null(&self) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env; out-pointer live.
        let status = unsafe { sys::napi_get_null(self.env, &mut v) };
        self.check(status, "napi_get_null")?;
        Ok(v)
    }

    pub fn string(&self, s: &str) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env; pointer and length describe `s`, which N-API copies.
        let status = unsafe {
            sys::napi_create_string_utf8(self.env, s.as_ptr().cast::<c_char>(), s.len() as isize, &mut v)
        };
        // No `check` here: it may throw, and throwing builds strings.
        if status == sys::Status::napi_ok { Ok(v) } else { Err(Thrown) }
    }

    pub fn object(&self) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env; out-pointer live.
        let status = unsafe { sys::napi_create_object(self.env, &mut v) };
        self.check(status, "napi_create_object")?;
        Ok(v)
    }

    /// `obj[name] = value`; `name` must be NUL-terminated (use `cstr!`).
    pub fn set_named(&self, obj: Value, name: *const c_char, value: Value) -> JsResult<()> {
        // SAFETY: valid env and values; `name` is a NUL-terminated literal.
        let status = unsafe { sys::napi_set_named_property(self.env, obj, name, value) };
        self.check(status, "napi_set_named_property")
    }

    pub fn get_named(&self, obj: Value, name: *const c_char) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env and value; `name` is a NUL-terminated literal.
        let status = unsafe { sys::napi_get_named_property(self.env, obj, name, &mut v) };
        self.check(status, "napi_get_named_property")?;
        Ok(v)
    }

    pub fn global(&self) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env; out-pointer live.
        let status = unsafe { sys::napi_get_global(self.env, &mut v) };
        self.check(status, "napi_get_global")?;
        Ok(v)
    }

    pub fn new_instance(&self, ctor: Value, args: &[Value]) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env and values; `args` lives across the call.
        let status = unsafe { sys::napi_new_instance(self.env, ctor, args.len(), args.as_ptr(), &mut v) };
        self.check(status, "napi_new_instance")?;
        Ok(v)
    }

    pub fn instance_of(&self, v: Value, ctor: Value) -> JsResult<bool> {
        let mut r = false;
        // SAFETY: valid env and values.
        let status = unsafe { sys::napi_instanceof(self.env, v, ctor, &mut r) };
        self.check(status, "napi_instanceof")?;
        Ok(r)
    }

    pub fn is_array(&self, v: Value) -> JsResult<bool> {
        let mut r = false;
        // SAFETY: valid env and value.
        let status = unsafe { sys::napi_is_array(self.env, v, &mut r) };
        self.check(status, "napi_is_array")?;
        Ok(r)
    }

    pub fn array_len(&self, v: Value) -> JsResult<u32> {
        let mut n = 0;
        // SAFETY: valid env and value (an array: checked by the caller).
        let status = unsafe { sys::napi_get_array_length(self.env, v, &mut n) };
        self.check(status, "napi_get_array_length")?;
        Ok(n)
    }

    /// `arr[i]`; may run a JS getter.
    pub fn element(&self, arr: Value, i: u32) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: valid env and value.
        let status = unsafe { sys::napi_get_element(self.env, arr, i, &mut v) };
        self.check(status, "napi_get_element")?;
        Ok(v)
    }

    /// Typed-array facts of `v`, or None when it is not a typed array.
    pub fn typed_array(&self, v: Value) -> JsResult<Option<TypedArray>> {
        let mut is = false;
        // SAFETY: valid env and value.
        let status = unsafe { sys::napi_is_typedarray(self.env, v, &mut is) };
        self.check(status, "napi_is_typedarray")?;
        if !is {
            return Ok(None);
        }
        let (mut kind, mut len, mut data, mut buffer, mut offset) =
            (0, 0usize, ptr::null_mut::<c_void>(), ptr::null_mut(), 0usize);
        // SAFETY: `v` is a typed array (checked above); all out-pointers are live.
        let status = unsafe {
            sys::napi_get_typedarray_info(self.env, v, &mut kind, &mut len, &mut data, &mut buffer, &mut offset)
        };
        self.check(status, "napi_get_typedarray_info")?;
        Ok(Some(TypedArray { kind, len, data: data.cast(), buffer }))
    }

    /// The bytes of `v` when it is a Uint8Array (or Buffer), else None. Like
    /// [`TypedArray::bytes`], the slice must not be held across a call into JS (which alone
    /// could detach or shrink the view).
    pub fn uint8_bytes(&self, v: Value) -> JsResult<Option<&'a [u8]>> {
        let Some(view) = self.typed_array(v)? else { return Ok(None) };
        if !view.is_uint8() {
            return Ok(None);
        }
        if view.data.is_null() || view.len == 0 {
            return Ok(Some(&[]));
        }
        // SAFETY: N-API reported `data` as the start of this live view of `len` bytes; the
        // handle keeps it alive for the callback and, per the contract above, no JS runs
        // while the slice is in use.
        Ok(Some(unsafe { std::slice::from_raw_parts(view.data, view.len) }))
    }

    /// True for a plain (detachable) ArrayBuffer; false for a SharedArrayBuffer.
    pub fn is_arraybuffer(&self, v: Value) -> JsResult<bool> {
        let mut r = false;
        // SAFETY: valid env and value.
        let status = unsafe { sys::napi_is_arraybuffer(self.env, v, &mut r) };
        self.check(status, "napi_is_arraybuffer")?;
        Ok(r)
    }

    /// A new zero-filled Uint8Array of `len` bytes and its storage, for the callback.
    pub fn uint8_array(&self, len: usize) -> JsResult<(Value, &'a mut [u8])> {
        let mut data = ptr::null_mut::<c_void>();
        let mut ab = ptr::null_mut();
        // SAFETY: valid env; out-pointers live.
        let status = unsafe { sys::napi_create_arraybuffer(self.env, len, &mut data, &mut ab) };
        self.check(status, "napi_create_arraybuffer")?;
        let mut view = ptr::null_mut();
        // SAFETY: `ab` is the ArrayBuffer just created, `len` bytes long.
        let status = unsafe {
            sys::napi_create_typedarray(self.env, sys::TypedarrayType::uint8_array, len, ab, 0, &mut view)
        };
        self.check(status, "napi_create_typedarray")?;
        Ok((view, self.bytes_mut(data, len)))
    }

    /// A new Node Buffer of `len` bytes and its storage, for the callback.
    pub fn buffer(&self, len: usize) -> JsResult<(Value, &'a mut [u8])> {
        let mut data = ptr::null_mut::<c_void>();
        let mut buf = ptr::null_mut();
        // SAFETY: valid env; out-pointers live.
        let status = unsafe { sys::napi_create_buffer(self.env, len, &mut data, &mut buf) };
        self.check(status, "napi_create_buffer")?;
        Ok((buf, self.bytes_mut(data, len)))
    }

    fn bytes_mut(&self, data: *mut c_void, len: usize) -> &'a mut [u8] {
        if data.is_null() || len == 0 {
            return &mut [];
        }
        // SAFETY: N-API just allocated `len` bytes at `data` for a new object that nothing
        // else references yet; the handle keeps it alive for the whole callback.
        unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), len) }
    }

    /// Attaches `native` to `obj` (ownership passes to the finalizer).
    pub fn wrap<T>(&self, obj: Value, native: Box<T>, finalize: sys::napi_finalize) -> JsResult<()> {
        let raw = Box::into_raw(native);
        // SAFETY: `obj` is the object under construction; `raw` is a fresh Box pointer
        // whose ownership passes to `finalize` only when this call succeeds.
        let status = unsafe { sys::napi_wrap(self.env, obj, raw.cast(), finalize, ptr::null_mut(), ptr::null_mut()) };
        if status != sys::Status::napi_ok {
            // SAFETY: not adopted by N-API, so still ours to free.
            drop(unsafe { Box::from_raw(raw) });
            return self.check(status, "napi_wrap");
        }
        Ok(())
    }

    /// The native value wrapped in `obj` by [`Cx::wrap`]`::<T>`.
    ///
    /// # Safety
    /// `obj` must be the receiver of a prototype method of the class whose constructor
    /// wraps a `Box<T>`: V8 checks such receivers against the class template
    /// (`napi_define_class` gives methods a signature), so `obj` is an instance of
    /// that class, and every instance is wrapped by the constructor before any JS
    /// sees it. (A type-tag check would also cover other receivers, but costs ~250 ns
    /// per call on Node 20, more than the whole hot path.)
    pub unsafe fn unwrap<T>(&self, obj: Value, class: &str) -> JsResult<&'a T> {
        let mut data = ptr::null_mut::<c_void>();
        // SAFETY: valid env and value.
        let status = unsafe { sys::napi_unwrap(self.env, obj, &mut data) };
        if status != sys::Status::napi_ok || data.is_null() {
            if self.is_exception_pending() {
                return Err(Thrown);
            }
            return Err(self.throw_type_error(&format!("receiver is not a {class}")));
        }
        // SAFETY: by the caller's guarantee `data` is the `Box<T>` wrapped by our
        // constructor; it lives until the object's finalizer, which cannot run while
        // `obj` is held by this callback. Only shared references are ever made.
        Ok(unsafe { &*data.cast::<T>() })
    }

    /// Defines read-only, enumerable own data properties on `obj`.
    pub fn define_values(&self, obj: Value, props: &[(*const c_char, Value)]) -> JsResult<()> {
        let descs: Vec<sys::napi_property_descriptor> = props
            .iter()
            .map(|&(name, v)| {
                let mut d = value(name, v);
                d.attributes = sys::PropertyAttributes::enumerable;
                d
            })
            .collect();
        // SAFETY: valid env and object; `descs` lives across the call, names are literals.
        let status = unsafe { sys::napi_define_properties(self.env, obj, descs.len(), descs.as_ptr()) };
        self.check(status, "napi_define_properties")
    }

    /// Defines functions (method descriptors) on a plain object such as `exports`.
    pub fn define_methods(&self, obj: Value, props: &[sys::napi_property_descriptor]) -> JsResult<()> {
        // SAFETY: valid env and object; `props` lives across the call, names are literals.
        let status = unsafe { sys::napi_define_properties(self.env, obj, props.len(), props.as_ptr()) };
        self.check(status, "napi_define_properties")
    }

    pub fn create_ref(&self, v: Value) -> JsResult<Ref> {
        let mut r = ptr::null_mut();
        // SAFETY: valid env and value; strong reference (count 1).
        let status = unsafe { sys::napi_create_reference(self.env, v, 1, &mut r) };
        self.check(status, "napi_create_reference")?;
        Ok(r)
    }

    pub fn ref_value(&self, r: Ref) -> JsResult<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: `r` is a live reference created in this env.
        let status = unsafe { sys::napi_get_reference_value(self.env, r, &mut v) };
        self.check(status, "napi_get_reference_value")?;
        Ok(v)
    }

    /// Deletes a reference; errors are ignored (used on teardown paths).
    pub fn delete_ref(&self, r: Ref) {
        // SAFETY: `r` is a live reference created in this env, deleted exactly once.
        unsafe { sys::napi_delete_reference(self.env, r) };
    }

    /// Tells V8 about memory it does not see (positive) or that was freed (negative).
    pub fn adjust_external_memory(&self, delta: i64) {
        let mut total = 0;
        // SAFETY: valid env. Failure only skews GC heuristics, so it is ignored.
        unsafe { sys::napi_adjust_external_memory(self.env, delta, &mut total) };
    }

    /// Reads a JS string as UTF-8 into `buf` (NUL-terminated by N-API, so at most
    /// `buf.len() - 1` bytes, whole characters only); returns the bytes written, or None
    /// when `v` is not a string.
    pub fn string_into<'b>(&self, v: Value, buf: &'b mut [MaybeUninit<u8>]) -> JsResult<Option<&'b [u8]>> {
        if buf.is_empty() {
            return Ok(Some(&[]));
        }
        let mut len = 0usize;
        // SAFETY: `buf` is writable for `buf.len()` bytes.
        let status = unsafe {
            sys::napi_get_value_string_utf8(self.env, v, buf.as_mut_ptr().cast::<c_char>(), buf.len(), &mut len)
        };
        match status {
            sys::Status::napi_ok => {
                let len = len.min(buf.len() - 1);
                // SAFETY: N-API initialised the first `len` bytes of `buf`.
                Ok(Some(unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) }))
            }
            sys::Status::napi_string_expected => Ok(None),
            _ => self.check(status, "napi_get_value_string_utf8").map(|_| None),
        }
    }

    /// The UTF-8 length in bytes of a JS string, or None when `v` is not a string.
    pub fn string_len(&self, v: Value) -> JsResult<Option<usize>> {
        let mut len = 0usize;
        // SAFETY: a null buffer asks N-API for the length only.
        let status = unsafe { sys::napi_get_value_string_utf8(self.env, v, ptr::null_mut(), 0, &mut len) };
        match status {
            sys::Status::napi_ok => Ok(Some(len)),
            sys::Status::napi_string_expected => Ok(None),
            _ => self.check(status, "napi_get_value_string_utf8").map(|_| None),
        }
    }

    /// Compiles and runs trusted JS source (a constant of this crate, never input).
    pub fn run_script(&self, source: &str) -> JsResult<Value> {
        let src = self.string(source)?;
        let mut v = ptr::null_mut();
        // SAFETY: valid env; `src` is a string value made just above.
        let status = unsafe { sys::napi_run_script(self.env, src, &mut v) };
        self.check(status, "napi_run_script")?;
        Ok(v)
    }

    /// `f.call(undefined, ...args)`.
    pub fn call(&self, f: Value, args: &[Value]) -> JsResult<Value> {
        let recv = self.undefined()?;
        let mut v = ptr::null_mut();
        // SAFETY: valid env and values; `args` lives across the call.
        let status = unsafe { sys::napi_call_function(self.env, recv, f, args.len(), args.as_ptr(), &mut v) };
        self.check(status, "napi_call_function")?;
        Ok(v)
    }

    /// Defines a JS class; `data` is handed to the constructor and to every descriptor
    /// that carries it.
    pub fn define_class(
        &self,
        name: &str,
        ctor: sys::napi_callback,
        data: *mut c_void,
        props: &[sys::napi_property_descriptor],
    ) -> JsResult<Value> {
        let mut class = ptr::null_mut();
        // SAFETY: `name` is passed with its length; `props` lives across the call and its
        // names are NUL-terminated literals.
        let status = unsafe {
            sys::napi_define_class(
                self.env,
                name.as_ptr().cast::<c_char>(),
                name.len() as isize,
                ctor,
                data,
                props.len(),
                props.as_ptr(),
                &mut class,
            )
        };
        self.check(status, "napi_define_class")?;
        Ok(class)
    }

    /// Runs `hook(arg)` when this env shuts down (main thread exit or worker end).
    pub fn add_env_cleanup_hook(&self, hook: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> JsResult<()> {
        // SAFETY: valid env; `hook` and `arg` stay valid until the hook runs.
        let status = unsafe { sys::napi_add_env_cleanup_hook(self.env, Some(hook), arg) };
        self.check(status, "napi_add_env_cleanup_hook")
    }
}

/// Property descriptor helpers for `napi_define_class`.
pub fn method(name: *const c_char, cb: sys::napi_callback, data: *mut c_void, is_static: bool) -> sys::napi_property_descriptor {
    sys::napi_property_descriptor {
        utf8name: name,
        name: ptr::null_mut(),
        method: cb,
        getter: None,
        setter: None,
        value: ptr::null_mut(),
        attributes: if is_static {
            sys::PropertyAttributes::static_ | sys::PropertyAttributes::writable | sys::PropertyAttributes::configurable
        } else {
            sys::PropertyAttributes::writable | sys::PropertyAttributes::configurable
        },
        data,
    }
}

pub fn value(name: *const c_char, v: Value) -> sys::napi_property_descriptor {
    sys::napi_property_descriptor {
        utf8name: name,
        name: ptr::null_mut(),
        method: None,
        getter: None,
        setter: None,
        value: v,
        attributes: sys::PropertyAttributes::default,
        data: ptr::null_mut(),
    }
}
