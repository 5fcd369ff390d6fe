//! Validation of non-key arguments, with the TypeError / RangeError split of the
//! fallback filter (`src/bloom/params.ts`).

use crate::js::{Cx, JsResult, Thrown, Value};
use cxone_bloom::{BloomError, Params, MAX_CAPACITY};
use napi::sys::{self, ValueType};

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

/// A short description of a JS value's type for error messages (never its contents,
/// which could be large or sensitive).
pub fn describe(cx: &Cx<'_>, v: Value) -> String {
    let Ok(t) = cx.type_of(v) else { return "an unknown value".into() };
    match t {
        ValueType::napi_undefined => "undefined".into(),
        ValueType::napi_null => "null".into(),
        ValueType::napi_boolean => "a boolean".into(),
        ValueType::napi_number => match cx.f64(v) {
            Ok(x) => format!("the number {}", js_number(x)),
            Err(_) => "a number".into(),
        },
        ValueType::napi_string => "a string".into(),
        ValueType::napi_symbol => "a symbol".into(),
        ValueType::napi_function => "a function".into(),
        ValueType::napi_bigint => "a bigint".into(),
        ValueType::napi_object => {
            if cx.is_array(v).unwrap_or(false) {
                return "an array".into();
            }
            match cx.typed_array(v) {
                Ok(Some(ta)) => typed_array_name(ta.kind).into(),
                _ => "an object".into(),
            }
        }
        _ => "an unsupported value".into(),
    }
}

#[allow(non_upper_case_globals)]
fn typed_array_name(kind: sys::napi_typedarray_type) -> &'static str {
    use sys::TypedarrayType::*;
    match kind {
        int8_array => "an Int8Array",
        uint8_array => "a Uint8Array",
        uint8_clamped_array => "a Uint8ClampedArray",
        int16_array => "an Int16Array",
        uint16_array => "a Uint16Array",
        int32_array => "an Int32Array",
        uint32_array => "a Uint32Array",
        float32_array => "a Float32Array",
        float64_array => "a Float64Array",
        bigint64_array => "a BigInt64Array",
        biguint64_array => "a BigUint64Array",
        _ => "a typed array",
    }
}

fn number(cx: &Cx<'_>, v: Value, name: &str) -> JsResult<f64> {
    if cx.type_of(v)? != ValueType::napi_number {
        return Err(cx.throw_type_error(&format!("{name} must be a number, got {}", describe(cx, v))));
    }
    cx.f64(v)
}

/// An integer in `1..=2^53-1`.
pub fn capacity(cx: &Cx<'_>, v: Value) -> JsResult<u64> {
    let x = number(cx, v, "capacity")?;
    if !(x >= 1.0 && x <= MAX_CAPACITY as f64 && x == x.trunc()) {
        return Err(cx.throw_range_error(&format!(
            "capacity must be an integer between 1 and 2^53-1, got {}",
            js_number(x)
        )));
    }
    Ok(x as u64)
}

/// A finite number with `0 < p < 1`.
pub fn error_rate(cx: &Cx<'_>, v: Value) -> JsResult<f64> {
    let x = number(cx, v, "errorRate")?;
    if !(x > 0.0 && x < 1.0) {
        return Err(cx.throw_range_error(&format!(
            "errorRate must be a finite number strictly between 0 and 1, got {}",
            js_number(x)
        )));
    }
    Ok(x)
}

/// Checked capacity and error rate, sized; RangeError beyond the limits.
pub fn params(cx: &Cx<'_>, capacity_v: Value, error_rate_v: Value) -> JsResult<Params> {
    let n = capacity(cx, capacity_v)?;
    let p = error_rate(cx, error_rate_v)?;
    Params::new(n, p).map_err(|e| bloom_error(cx, &e))
}

/// Throws a core error as the JS error class that fits it.
pub fn bloom_error(cx: &Cx<'_>, e: &BloomError) -> Thrown {
    match e {
        BloomError::Snapshot(_) => cx.throw_error(crate::js::ERR_SNAPSHOT, &e.to_string()),
        BloomError::OutOfMemory { .. } => cx.throw_error("ERR_MEMORY_ALLOCATION_FAILED", &e.to_string()),
        _ => cx.throw_range_error(&e.to_string()),
    }
}
