//! `hmacSha256Verify` / `hmacSha256Hex`: the webhook signature check of
//! `src/http/signature.ts`, on the plain `cxone-signature` crate. Node's `createHmac`
//! builds several objects per call (a few µs); this is one call and no allocation.

use crate::args::describe;
use crate::js::{self, callback, cstr, Cx, Info, JsResult, Value};
use cxone_signature::{encode_hex, sign, verify_hex, HEX_LEN};
use std::mem::MaybeUninit;
use std::ptr;

/// A timestamp prefix is short ("1767225600."); anything longer is refused.
const MAX_PREFIX: usize = 64;

/// Defines the two functions on `exports`.
pub fn register(cx: &Cx<'_>, exports: Value) -> JsResult<()> {
    cx.define_methods(
        exports,
        &[
            js::method(cstr!("hmacSha256Verify"), Some(verify), ptr::null_mut(), false),
            js::method(cstr!("hmacSha256Hex"), Some(hex), ptr::null_mut(), false),
        ],
    )
}

/// The bytes of a Uint8Array argument, or a TypeError naming it.
fn bytes<'a>(cx: &Cx<'a>, v: Value, name: &str) -> JsResult<&'a [u8]> {
    match cx.uint8_bytes(v)? {
        Some(b) => Ok(b),
        None => {
            let got = describe(cx, v);
            Err(cx.throw_type_error(&format!("{name} must be a Uint8Array/Buffer, got {got}")))
        }
    }
}

/// An optional prefix: undefined → empty; a string (UTF-8) or bytes of at most MAX_PREFIX.
fn prefix<'b>(cx: &Cx<'b>, v: Value, buf: &'b mut [MaybeUninit<u8>; MAX_PREFIX + 2]) -> JsResult<&'b [u8]> {
    if cx.type_of(v)? == napi::sys::ValueType::napi_undefined {
        return Ok(&[]);
    }
    if let Some(s) = cx.string_into(v, buf)? {
        if s.len() > MAX_PREFIX {
            return Err(cx.throw_range_error(&format!("prefix must be at most {MAX_PREFIX} bytes")));
        }
        return Ok(s);
    }
    if let Some(b) = cx.uint8_bytes(v)? {
        if b.len() > MAX_PREFIX {
            return Err(cx.throw_range_error(&format!("prefix must be at most {MAX_PREFIX} bytes")));
        }
        return Ok(b);
    }
    let got = describe(cx, v);
    Err(cx.throw_type_error(&format!("prefix must be a string, a Uint8Array or undefined, got {got}")))
}

callback!(verify => verify_impl);
/// `hmacSha256Verify(key, message, signatureHex, prefix?)`: true when `signatureHex` is 64
/// hex digits (either case) equal, in constant time, to HMAC-SHA256(key, prefix ‖ message).
fn verify_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (_, [key_v, msg_v, sig_v, prefix_v], _) = cx.args::<4>(info)?;
    let key = bytes(&cx, key_v, "key")?;
    let message = bytes(&cx, msg_v, "message")?;
    // One spare byte tells a 64-digit signature from a longer one.
    let mut sig_buf = [MaybeUninit::<u8>::uninit(); HEX_LEN + 2];
    let Some(signature) = cx.string_into(sig_v, &mut sig_buf)? else {
        let got = describe(&cx, sig_v);
        return Err(cx.throw_type_error(&format!("signatureHex must be a string, got {got}")));
    };
    let mut prefix_buf = [MaybeUninit::<u8>::uninit(); MAX_PREFIX + 2];
    let prefix = prefix(&cx, prefix_v, &mut prefix_buf)?;
    cx.boolean(verify_hex(key, prefix, message, signature))
}

callback!(hex => hex_impl);
/// `hmacSha256Hex(key, message, prefix?)`: the lowercase hex signature.
fn hex_impl(cx: Cx<'_>, info: Info) -> JsResult<Value> {
    let (_, [key_v, msg_v, prefix_v], _) = cx.args::<3>(info)?;
    let key = bytes(&cx, key_v, "key")?;
    let message = bytes(&cx, msg_v, "message")?;
    let mut prefix_buf = [MaybeUninit::<u8>::uninit(); MAX_PREFIX + 2];
    let prefix = prefix(&cx, prefix_v, &mut prefix_buf)?;
    let digest = encode_hex(&sign(key, prefix, message));
    // Hex digits are ASCII, so this is valid UTF-8.
    cx.string(std::str::from_utf8(&digest).unwrap_or_default())
}
