//! What the package's JavaScript hands the addon once per env (its loader calls
//! `registerJsHelpers`, lib/addon.ts):
//!
//! * the error classes of rejected images, so that the native filter and the fallback throw the
//!   same classes (`err instanceof BloomSnapshotError` either way);
//! * two small functions for the batch methods: reading an all-string array as one joined
//!   string, and turning a byte mask into `boolean[]`. JIT-compiled JS does either in a few ns
//!   per element, where N-API needs ~50–100 ns per element (`napi_get_element`,
//!   `napi_set_element`).
//!
//! Without them (the `.node` file loaded directly) the addon works the same, only slower in
//! batches, and throws plain `Error`s with the same `code` and `reason`.

use crate::values::{describe, type_error};
use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, Object, Unknown};
use napi::{check_status, sys, Env, Result, UnknownRef, ValueType};
use napi_derive::napi;
use std::ffi::c_void;
use std::ptr;

/// Set once per env by `registerJsHelpers`, never changed, freed at the env's teardown.
pub struct Helpers {
    /// `new BloomSnapshotError(reason, message)`, `FingerprintSnapshotError`, `WindowSnapshotError`.
    pub error_classes: [UnknownRef; 3],
    /// `keys => string | null`: the keys joined with U+0000 when every one is a string.
    pub join_keys: UnknownRef,
    /// `mask => boolean[]` (1 → true).
    pub to_booleans: UnknownRef,
}

const NAMES: [&str; 5] = ["BloomSnapshotError", "FingerprintSnapshotError", "WindowSnapshotError", "joinKeys", "toBooleans"];

/// Hands the addon the package's error classes and batch helpers (see the module docs), once
/// per env: called by the package's loader. Returns false, changing nothing, when this env
/// already has them (another copy of the package loaded the same addon first).
#[napi(
    catch_unwind,
    ts_args_type = "helpers: { BloomSnapshotError: Function; FingerprintSnapshotError: Function; WindowSnapshotError: Function; joinKeys: (keys: readonly unknown[]) => string | null; toBooleans: (mask: Uint8Array) => boolean[] }"
)]
pub fn register_js_helpers(env: &Env, helpers: Unknown) -> Result<bool> {
    if helpers.get_type()? != ValueType::Object {
        return Err(type_error(env, &format!("helpers must be an object, got {}", describe(&helpers))));
    }
    // Property reads may run getters: all of them before the instance data is looked at.
    let obj = Object::from_unknown(helpers)?;
    let mut fns = Vec::with_capacity(NAMES.len());
    for name in NAMES {
        let f = obj.get_named_property::<Unknown>(name)?;
        if f.get_type()? != ValueType::Function {
            return Err(type_error(env, &format!("helpers.{name} must be a function, got {}", describe(&f))));
        }
        fns.push(f);
    }
    if current(env)?.is_some() {
        return Ok(false);
    }
    let [a, b, c, join, to_bool] = [fns[0], fns[1], fns[2], fns[3], fns[4]].map(|f| f.create_ref());
    let data = Box::into_raw(Box::new(Helpers { error_classes: [a?, b?, c?], join_keys: join?, to_booleans: to_bool? }));
    // SAFETY: valid env; `data` is a fresh Box whose ownership passes to `finalize` on success.
    let status = unsafe { sys::napi_set_instance_data(env.raw(), data.cast(), Some(finalize), ptr::null_mut()) };
    if status != sys::Status::napi_ok {
        // SAFETY: not adopted, still ours.
        unsafe { Box::from_raw(data) }.unref(env);
        check_status!(status, "napi_set_instance_data")?;
    }
    Ok(true)
}

/// The helpers of this env, if the package registered them.
pub fn current(env: &Env) -> Result<Option<&'static Helpers>> {
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: valid env; out-pointer live.
    check_status!(unsafe { sys::napi_get_instance_data(env.raw(), &mut data) }, "napi_get_instance_data")?;
    // SAFETY: only `register_js_helpers` sets this addon's instance data in this env, to a
    // Box<Helpers> that is never changed and lives until the env's teardown (`finalize`), after
    // which no call of this env runs. Only shared references are made.
    Ok(unsafe { data.cast::<Helpers>().as_ref() })
}

impl Helpers {
    fn unref(self, env: &Env) {
        let [a, b, c] = self.error_classes;
        for r in [a, b, c, self.join_keys, self.to_booleans] {
            let _ = r.unref(env);
        }
    }
}

unsafe extern "C" fn finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `data` is the Box<Helpers> given to napi_set_instance_data; N-API calls this
        // once, on the env's thread, while the env can still release references.
        let helpers = unsafe { Box::from_raw(data.cast::<Helpers>()) };
        helpers.unref(&Env::from_raw(env));
    });
}
