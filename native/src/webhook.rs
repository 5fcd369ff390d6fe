//! `DedupWindow.webhook(...)`: issue 12's one native call per webhook, on the plain `cxone-gate`
//! crate: the HMAC check, the event parse and validation, the dedup key's hash and the window's
//! verdict. The answer is a small code; the details go into a caller-owned `Float64Array` (no
//! object is allocated per request). Hand-written like the other hot calls (hot.rs).

use crate::dedup_window::DedupWindow;
use crate::keys::string_into;
use crate::values::{bytes_arg, describe, number, range_error, type_error};
use cxone_gate::{evaluate, key_fields_from_code, Mode, Refusal};
use cxone_signature::{KeyedHmac, HEX_LEN};
use cxone_webhook::Field;
use napi::bindgen_prelude::{FromNapiValue, TypedArray, TypedArrayType, Unknown};
// (FromNapiValue: TypedArray::from_unknown)
use napi::{Env, JsValue, Result, ValueType};
use napi_derive::napi;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;

/// `webhook()`'s answers.
pub const ACCEPTED: u32 = 0;
pub const BAD_SIGNATURE: u32 = 1;
pub const REPLAYED: u32 = 2;
pub const MALFORMED_JSON: u32 = 3;
pub const INVALID_EVENT: u32 = 4;

/// Slots of the `out` array (`OUT_*` in the TypeScript that reads them).
const OUT_WINDOW: usize = 0;
const OUT_ID_START: usize = 1;
const OUT_ID_END: usize = 2;
const OUT_FLAGS: usize = 3;
const OUT_EPOCH_SECONDS: usize = 4;
const OUT_NANOS: usize = 5;
const OUT_LEAP: usize = 6;
const OUT_OBJECT_START: usize = 7;
const OUT_OBJECT_END: usize = 8;
const OUT_HASH_HI: usize = 9;
const OUT_HASH_LO: usize = 10;
const OUT_FIELD: usize = 11;
const OUT_LEN: usize = 12;
/// Flags: the object's bytes can stand for the state; the id is ASCII.
const FLAG_CANONICAL: f64 = 1.0;
const FLAG_ASCII_ID: f64 = 2.0;

/// A signed-timestamp prefix ("1767225600.") is short.
const MAX_PREFIX: usize = 64;

thread_local! {
    /// The message of the last refused body on this thread: read only on that rare path.
    static LAST_MESSAGE: Cell<&'static str> = const { Cell::new("") };
}

/// The message of the last body `webhook()` refused (code 3 or 4) on this thread, exactly as
/// `src/http/event.ts` words it.
#[napi(catch_unwind)]
pub fn webhook_last_message() -> String {
    LAST_MESSAGE.with(|m| m.get().to_string())
}

/// `flags` bits of `webhook()`.
const FLAG_FRESH: u32 = 1;
const FLAG_OBSERVE: u32 = 2;

thread_local! {
    /// The last key made ready (its HMAC pads absorbed): a daemon uses one key for every call.
    static KEYED: RefCell<Option<(Vec<u8>, KeyedHmac)>> = const { RefCell::new(None) };
}

/// `window.webhook(hmacKey, keyFieldsCode, body, claimedHex, prefix, flags, out)`.
pub fn call(env: &Env, window: &DedupWindow, args: &[Unknown; 7]) -> Result<u32> {
    let [key_v, fields_v, body_v, claimed_v, prefix_v, flags_v, out_v] = args;
    let key = bytes_arg(env, key_v, "hmacKey", "a Uint8Array/Buffer")?;
    let fields_code = small_uint(env, fields_v, "keyFieldsCode")?;
    let Some(fields) = key_fields_from_code(fields_code) else {
        return Err(range_error(env, &format!("keyFieldsCode {fields_code} names no valid key field list")));
    };
    let body = bytes_arg(env, body_v, "body", "a Uint8Array/Buffer")?;
    // One spare byte tells a 64-digit claim from a longer one (which cannot verify).
    let mut claimed_buf = [MaybeUninit::<u8>::uninit(); HEX_LEN + 2];
    let Some(claimed) = string_into(claimed_v, &mut claimed_buf)? else {
        return Err(type_error(env, &format!("claimedHex must be a string, got {}", describe(claimed_v))));
    };
    let mut prefix_buf = [MaybeUninit::<u8>::uninit(); MAX_PREFIX + 2];
    let prefix: &[u8] = match prefix_v.get_type()? {
        ValueType::Undefined => &[],
        _ => match string_into(prefix_v, &mut prefix_buf)? {
            Some(p) if p.len() <= MAX_PREFIX => p,
            Some(_) => return Err(range_error(env, &format!("prefix must be at most {MAX_PREFIX} bytes"))),
            None => return Err(type_error(env, &format!("prefix must be a string or undefined, got {}", describe(prefix_v)))),
        },
    };
    let flags = small_uint(env, flags_v, "flags")?;
    let fresh = flags & FLAG_FRESH != 0;
    let mode = if flags & FLAG_OBSERVE != 0 { Mode::Observe } else { Mode::Check };
    let mut out = out_array(env, out_v, &[&key.arraybuffer, &body.arraybuffer])?;

    let answer = KEYED.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.as_ref().map_or(true, |(k, _)| k.as_slice() != &*key.arraybuffer) {
            *cached = Some((key.arraybuffer.to_vec(), KeyedHmac::new(&key.arraybuffer)));
        }
        let (_, hmac) = cached.as_ref().expect("just set");
        evaluate(window.core(), hmac, &fields, &body.arraybuffer, claimed, prefix, fresh, mode)
    });
    let a = match answer {
        Ok(a) => a,
        Err(Refusal::BadSignature) => return Ok(BAD_SIGNATURE),
        Err(Refusal::Replayed) => return Ok(REPLAYED),
        Err(Refusal::Event(e)) => {
            LAST_MESSAGE.with(|m| m.set(e.message));
            out.set(OUT_FIELD, e.field.map_or(0.0, field_index));
            return Ok(if e.reason.as_str() == "malformed_json" { MALFORMED_JSON } else { INVALID_EVENT });
        }
    };
    let base = body.arraybuffer.as_ptr() as usize;
    let ev = &a.event;
    let mut flags = if ev.canonical { FLAG_CANONICAL } else { 0.0 };
    // A borrowed id lies in the body: its byte range. One with escapes was decoded: -1.
    let (start, end) = match &ev.interaction_id {
        Cow::Borrowed(s) => {
            if s.is_ascii() {
                flags += FLAG_ASCII_ID;
            }
            let start = s.as_ptr() as usize - base;
            (start as f64, (start + s.len()) as f64)
        }
        Cow::Owned(_) => (-1.0, -1.0),
    };
    out.set(OUT_WINDOW, f64::from(a.window));
    out.set(OUT_ID_START, start);
    out.set(OUT_ID_END, end);
    out.set(OUT_FLAGS, flags);
    out.set(OUT_EPOCH_SECONDS, ev.timestamp.epoch_seconds as f64);
    out.set(OUT_NANOS, f64::from(ev.timestamp.nanos));
    out.set(OUT_LEAP, if ev.timestamp.leap { 1.0 } else { 0.0 });
    out.set(OUT_OBJECT_START, ev.object.start as f64);
    out.set(OUT_OBJECT_END, ev.object.end as f64);
    out.set(OUT_HASH_HI, (a.hash >> 32) as f64);
    out.set(OUT_HASH_LO, (a.hash & 0xffff_ffff) as f64);
    Ok(ACCEPTED)
}

fn field_index(f: Field) -> f64 {
    match f {
        Field::InteractionId => 1.0,
        Field::DataActionId => 2.0,
        Field::UpdatedTimestamp => 3.0,
        Field::Payload => 4.0,
    }
}

fn small_uint(env: &Env, v: &Unknown, name: &str) -> Result<u32> {
    let n = number(env, v, name)?;
    if !(n >= 0.0 && n <= 255.0 && n.fract() == 0.0) {
        return Err(range_error(env, &format!("{name} must be an integer in 0..255, got {n}")));
    }
    Ok(n as u32)
}

/// The caller's `out` array: a Float64Array of at least OUT_LEN elements that shares no memory
/// with the other arguments (it is written while they are read).
struct Out<'a> {
    bytes: &'a mut [u8],
    _of: std::marker::PhantomData<&'a Unknown<'a>>,
}

impl Out<'_> {
    fn set(&mut self, slot: usize, v: f64) {
        self.bytes[slot * 8..slot * 8 + 8].copy_from_slice(&v.to_ne_bytes());
    }
}

fn out_array<'a>(env: &Env, v: &'a Unknown, inputs: &[&[u8]]) -> Result<Out<'a>> {
    let bad = || type_error(env, &format!("out must be a Float64Array of at least {OUT_LEN} elements, got {}", describe(v)));
    if !v.is_typedarray()? {
        return Err(bad());
    }
    let view = TypedArray::from_unknown(*v)?;
    if view.typed_array_type != TypedArrayType::Float64 || view.arraybuffer.len() < OUT_LEN * 8 {
        return Err(bad());
    }
    let (o_start, o_end) = (view.arraybuffer.as_ptr() as usize, view.arraybuffer.as_ptr() as usize + view.arraybuffer.len());
    for input in inputs {
        let (s, e) = (input.as_ptr() as usize, input.as_ptr() as usize + input.len());
        if s < o_end && o_start < e {
            return Err(type_error(env, "out must not share memory with hmacKey or body"));
        }
    }
    let (ptr, len) = (view.arraybuffer.as_ptr().cast_mut(), view.arraybuffer.len());
    // SAFETY: the view's bytes belong to V8 and stay valid for this callback (no JS runs until it
    // returns, so nothing detaches or resizes them); `ptr..ptr+len` was checked above not to
    // overlap the inputs read while `out` is written, and nothing else reads it meanwhile.
    Ok(Out { bytes: unsafe { std::slice::from_raw_parts_mut(ptr, len) }, _of: std::marker::PhantomData })
}
