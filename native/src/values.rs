//! Checking arguments from JS: the TypeError / RangeError split and the messages of the
//! fallback (`lib/params.ts`), each error with a Node-style `code`.
//!
//! Arguments arrive as [`Unknown`] so that a wrong type gets our message rather than
//! napi-rs' generic conversion error. A helper that throws leaves the JS exception pending and
//! returns [`pending`], which napi-rs passes through untouched.

use cxone_bloom::{BloomError, Params, MAX_CAPACITY};
use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, Object, TypedArray, TypedArrayType, Unknown};
use napi::{Env, Error, JsValue, Result, Status, ValueType};

pub const ERR_TYPE: &str = "ERR_INVALID_ARG_TYPE";
pub const ERR_RANGE: &str = "ERR_OUT_OF_RANGE";
pub const ERR_MEMORY: &str = "ERR_MEMORY_ALLOCATION_FAILED";

/// The error to return once a JS exception is pending: napi-rs leaves that exception in place.
pub fn pending() -> Error {
    Error::from_status(Status::PendingException)
}

pub fn type_error(env: &Env, msg: &str) -> Error {
    let _ = env.throw_type_error(msg, Some(ERR_TYPE));
    pending()
}

pub fn range_error(env: &Env, msg: &str) -> Error {
    let _ = env.throw_range_error(msg, Some(ERR_RANGE));
    pending()
}

pub fn plain_error(env: &Env, code: &str, msg: &str) -> Error {
    let _ = env.throw_error(msg, Some(code));
    pending()
}

/// TypeError unless the constructor was called with `new`: N-API gives a `#[napi]` constructor
/// no `new.target`, and a plain call would wrap a throwaway object. `this` of a `new` (or
/// subclass) call inherits the class's prototype, so it has `probe`, one of its methods.
pub fn require_new(env: &Env, this: &Object, class: &str, probe: &str) -> Result<()> {
    if this.has_named_property(probe)? {
        return Ok(());
    }
    Err(type_error(env, &format!("Class constructor {class} cannot be invoked without 'new'")))
}

/// Formats a number the way JS prints it, near enough for messages.
pub fn js_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else if x == x.trunc() && x.abs() < 1e21 {
        format!("{x:.0}")
    } else if x.abs() < 1e-6 || x.abs() >= 1e21 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// A short description of a JS value's type for error messages (never its contents, which
/// could be large or sensitive).
pub fn describe(v: &Unknown<'_>) -> String {
    let Ok(t) = v.get_type() else { return "an unknown value".into() };
    match t {
        ValueType::Undefined => "undefined".into(),
        ValueType::Null => "null".into(),
        ValueType::Boolean => "a boolean".into(),
        ValueType::Number => match f64::from_unknown(*v) {
            Ok(x) => format!("the number {}", js_number(x)),
            Err(_) => "a number".into(),
        },
        ValueType::String => "a string".into(),
        ValueType::Symbol => "a symbol".into(),
        ValueType::Function => "a function".into(),
        ValueType::BigInt => "a bigint".into(),
        ValueType::Object => {
            if v.is_array().unwrap_or(false) {
                return "an array".into();
            }
            if v.is_typedarray().unwrap_or(false) {
                if let Ok(ta) = TypedArray::from_unknown(*v) {
                    return typed_array_name(ta.typed_array_type).into();
                }
            }
            "an object".into()
        }
        _ => "an unsupported value".into(),
    }
}

fn typed_array_name(kind: TypedArrayType) -> &'static str {
    match kind {
        TypedArrayType::Int8 => "an Int8Array",
        TypedArrayType::Uint8 => "a Uint8Array",
        TypedArrayType::Uint8Clamped => "a Uint8ClampedArray",
        TypedArrayType::Int16 => "an Int16Array",
        TypedArrayType::Uint16 => "a Uint16Array",
        TypedArrayType::Int32 => "an Int32Array",
        TypedArrayType::Uint32 => "a Uint32Array",
        TypedArrayType::Float32 => "a Float32Array",
        TypedArrayType::Float64 => "a Float64Array",
        TypedArrayType::BigInt64 => "a BigInt64Array",
        TypedArrayType::BigUint64 => "a BigUint64Array",
        _ => "a typed array",
    }
}

/// The view of a `Uint8Array` (or `Buffer`), or None for anything else; its bytes are
/// `&view.arraybuffer`.
///
/// The bytes are valid while no JS runs: take them after every other argument has been read.
pub fn uint8_bytes<'a>(v: &Unknown<'a>) -> Result<Option<TypedArray<'a>>> {
    // napi_is_typedarray answers false for anything that is not an object.
    if !v.is_typedarray()? {
        return Ok(None);
    }
    let view = TypedArray::from_unknown(*v)?;
    Ok((view.typed_array_type == TypedArrayType::Uint8).then_some(view))
}

/// The view of a `Uint8Array` argument, or a TypeError `"{name} must be {what}, got …"`.
pub fn bytes_arg<'a>(env: &Env, v: &Unknown<'a>, name: &str, what: &str) -> Result<TypedArray<'a>> {
    match uint8_bytes(v)? {
        Some(b) => Ok(b),
        None => Err(type_error(env, &format!("{name} must be {what}, got {}", describe(v)))),
    }
}

pub fn number(env: &Env, v: &Unknown<'_>, name: &str) -> Result<f64> {
    if v.get_type()? != ValueType::Number {
        return Err(type_error(env, &format!("{name} must be a number, got {}", describe(v))));
    }
    f64::from_unknown(*v)
}

/// An integer in `1..=2^53-1`.
pub fn capacity(env: &Env, v: &Unknown<'_>) -> Result<u64> {
    let x = number(env, v, "capacity")?;
    if !(x >= 1.0 && x <= MAX_CAPACITY as f64 && x == x.trunc()) {
        return Err(range_error(env, &format!("capacity must be an integer between 1 and 2^53-1, got {}", js_number(x))));
    }
    Ok(x as u64)
}

/// A finite number with `0 < p < 1`.
pub fn error_rate(env: &Env, v: &Unknown<'_>) -> Result<f64> {
    let x = number(env, v, "errorRate")?;
    if !(x > 0.0 && x < 1.0) {
        return Err(range_error(
            env,
            &format!("errorRate must be a finite number strictly between 0 and 1, got {}", js_number(x)),
        ));
    }
    Ok(x)
}

/// Checked capacity and error rate, sized; RangeError beyond the limits.
pub fn params(env: &Env, capacity_v: &Unknown<'_>, error_rate_v: &Unknown<'_>) -> Result<Params> {
    let n = capacity(env, capacity_v)?;
    let p = error_rate(env, error_rate_v)?;
    Params::new(n, p).map_err(|e| bloom_error(env, &e))
}

/// Throws a core error as the JS error that fits it (a rejected image: `errors::image_error`).
pub fn bloom_error(env: &Env, e: &BloomError) -> Error {
    match e {
        BloomError::Image(s) => crate::errors::bloom_image_error(env, s, None),
        BloomError::OutOfMemory { .. } => plain_error(env, ERR_MEMORY, &e.to_string()),
        _ => range_error(env, &e.to_string()),
    }
}
