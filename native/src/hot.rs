//! The hand-written N-API calls of the hot path: the one-key methods `BloomFilter.has` / `add`
//! and `DedupWindow.check` / `observe` / `record`, and `hmacSha256Verify` (once per webhook).
//!
//! Everything else is `#[napi]`. For these, napi-rs' generated glue costs about 310 ns a method
//! call on top of a ~125 ns call floor (it checks the receiver's type tag and records the borrow
//! of `self` on every call), and ~120 ns a function call: measured side by side, see
//! bench/README.md, "The addon's two faces". That would more than double the cost of a `has`.
//! Here a call is `napi_get_cb_info`, `napi_unwrap` for a method, the work and the answer. (The
//! per-webhook entry point of the per-core work, one call that verifies, parses and checks,
//! belongs here too.)
//!
//! The methods are added to the `#[napi]` classes' own definitions, so the same
//! `napi_define_class` call defines them and V8 checks their receiver: calling one on anything
//! but an instance of its class throws "Illegal invocation" before this code runs.

use crate::bloom::BloomFilter;
use crate::dedup_window::DedupWindow;
use crate::keys::{self, KeyName};
use napi::bindgen_prelude::{Property, ToNapiValue};
use napi::{sys, Env, JsError, Result, Unknown};
use std::any::{Any, TypeId};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// Adds the methods to the classes' registrations (read when the module loads in an env).
///
/// `register_class` is napi-rs' hook for `#[napi]` classes (`napi::__private`); it is also what
/// their generated code calls, and Cargo.toml pins napi-rs so that a change to it, or to how a
/// class instance is wrapped (see `method`), is met by a deliberate upgrade, not a `cargo update`.
fn register() {
    let prop = |name: &str, cb: unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value| {
        Property::new().with_utf8_name(name).map(|p| p.with_method(cb))
    };
    let (Ok(has), Ok(add), Ok(check), Ok(observe), Ok(record), Ok(webhook)) = (
        prop("has", bloom_has),
        prop("add", bloom_add),
        prop("check", window_check),
        prop("observe", window_observe),
        prop("record", window_record),
        prop("webhook", window_webhook),
    ) else {
        return; // (names without NUL bytes: cannot fail)
    };
    // The names as napi-derive passes them: NUL-terminated (whichever registration runs last
    // sets the name).
    napi::__private::register_class(TypeId::of::<BloomFilter>(), None, "BloomFilter\0", vec![has, add], false);
    napi::__private::register_class(TypeId::of::<DedupWindow>(), None, "DedupWindow\0", vec![check, observe, record, webhook], false);
}

napi::ctor::declarative::ctor! {
    #[ctor(unsafe)]
    fn register_hot_methods() {
        // A panic must not unwind out of a constructor function: it aborts instead.
        let _ = catch_unwind(register);
    }
}

/// Runs `body` for the current callback and returns its answer; an error or a panic becomes a JS
/// exception (no unwind crosses into Node).
///
/// # Safety
/// `env` must be the env N-API passed to the current callback.
unsafe fn run<R: ToNapiValue>(env: sys::napi_env, body: impl FnOnce(&Env) -> Result<R>) -> sys::napi_value {
    let call = AssertUnwindSafe(|| -> Result<sys::napi_value> {
        let env = Env::from_raw(env);
        let answer = body(&env)?;
        // SAFETY: valid env.
        unsafe { R::to_napi_value(env.raw(), answer) }
    });
    let error = match catch_unwind(call) {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(panic) => napi::Error::from_reason(format!("cxone-dedup native: internal error: {}", panic_message(&*panic))),
    };
    // SAFETY: valid env; a pending exception (status PendingException) is left in place.
    unsafe { JsError::from(error).throw_into(env) };
    ptr::null_mut()
}

/// The receiver and the first `N` arguments of the current callback (missing ones read as
/// undefined).
///
/// # Safety
/// `env` and `info` must be what N-API passed to the current callback.
unsafe fn call_args<'e, const N: usize>(env: &'e Env, info: sys::napi_callback_info) -> Result<(sys::napi_value, [Unknown<'e>; N])> {
    let (mut argc, mut argv, mut this) = (N, [ptr::null_mut(); N], ptr::null_mut());
    // SAFETY: `info` is the current callback's; argv has room for `argc` values.
    napi::check_status!(unsafe { sys::napi_get_cb_info(env.raw(), info, &mut argc, argv.as_mut_ptr(), &mut this, ptr::null_mut()) })?;
    // SAFETY: every `argv` entry is a live value of this env and callback.
    Ok((this, argv.map(|v| unsafe { Unknown::from_raw_unchecked(env.raw(), v) })))
}

/// Runs `body(env, this, key)` for a one-argument method of the `#[napi]` class `T`.
///
/// # Safety
/// `env` and `info` must be what N-API passed to a method callback that `register` defined on
/// `T`'s class.
unsafe fn method<T: 'static, R: ToNapiValue>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: impl FnOnce(&Env, &T, &Unknown) -> Result<R>,
) -> sys::napi_value {
    // SAFETY: the caller's contract.
    unsafe { method_n::<T, R, 1>(env, info, |env, this, [key]| body(env, this, key)) }
}

/// Runs `body(env, this, args)` for an `N`-argument method of the `#[napi]` class `T`.
///
/// # Safety
/// As [`method`].
unsafe fn method_n<T: 'static, R: ToNapiValue, const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: impl FnOnce(&Env, &T, &[Unknown; N]) -> Result<R>,
) -> sys::napi_value {
    let call = |env: &Env| {
        // SAFETY: the caller's contract.
        let (this, args) = unsafe { call_args::<N>(env, info) }?;
        let mut wrapped = ptr::null_mut();
        // SAFETY: valid env and value; fails (an exception, no UB) for an object not wrapped yet,
        // such as a subclass instance whose constructor calls a method before a factory wraps it.
        napi::check_status!(unsafe { sys::napi_unwrap(env.raw(), this, &mut wrapped) }, "this object is not initialised")?;
        // SAFETY: V8 checked `this` against T's class template (napi_define_class gives the
        // methods a signature), so `this` was made by T's constructor or a factory, which napi-rs
        // wraps with a `Box<T>` (bindgen_runtime CallbackInfo::_construct / _factory; its own
        // `unwrap_raw` casts the same way). The box lives until the object's finalizer, which
        // cannot run while `this` is on the stack. T's methods all take `&self` (the filter's bits
        // are atomics), so a shared reference aliases nothing mutable.
        let this = unsafe { &*wrapped.cast::<T>() };
        body(env, this, &args)
    };
    // SAFETY: `env` is the current callback's (the caller's contract).
    unsafe { run(env, call) }
}

/// `hmacSha256Verify(key, message, signatureHex, prefix?)` (see hmac.rs), exported by lib.rs.
pub unsafe extern "C" fn hmac_sha256_verify(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let call = |env: &Env| {
        // SAFETY: N-API calls this with the current callback's env and info.
        let (_, args) = unsafe { call_args::<4>(env, info) }?;
        crate::hmac::verify(env, &args)
    };
    // SAFETY: as above.
    unsafe { run(env, call) }
}

/// `DedupWindow.webhook(...)`: the one call per webhook (webhook.rs).
unsafe extern "C" fn window_webhook(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: `register` defines this callback as a method of DedupWindow.
    unsafe { method_n::<DedupWindow, u32, 7>(env, info, |env, w, args| crate::webhook::call(env, w, args)) }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic.downcast_ref::<&str>().copied().or_else(|| panic.downcast_ref::<String>().map(|s| s.as_str())).unwrap_or("a panic")
}

/// Declares the N-API callback `$name` for a key method of `$class`.
macro_rules! key_method {
    ($name:ident, $class:ty, |$this:ident, $hash:ident| $answer:expr) => {
        unsafe extern "C" fn $name(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
            // SAFETY: `register` defines this callback as a method of `$class`.
            unsafe {
                method(env, info, |env, $this: &$class, key| {
                    let $hash = keys::hash(env, key, KeyName::Arg)?;
                    Ok($answer)
                })
            }
        }
    };
}

key_method!(bloom_has, BloomFilter, |f, h| f.has_hash(h));
key_method!(bloom_add, BloomFilter, |f, h| f.add_hash(h));
key_method!(window_check, DedupWindow, |w, h| w.check_hash(h));
key_method!(window_observe, DedupWindow, |w, h| w.observe_hash(h));
key_method!(window_record, DedupWindow, |w, h| w.record_hash(h));
