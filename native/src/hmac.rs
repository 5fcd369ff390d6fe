//! `hmacSha256Verify` / `hmacSha256Hex`: the webhook signature check of the daemon's
//! `src/http/signature.ts`, on the plain `cxone-signature` crate. Node's `createHmac` builds
//! several objects per call (a few µs); this is one call and no allocation.

use crate::keys::string_into;
use crate::values::{bytes_arg, describe, range_error, type_error, uint8_bytes};
use cxone_signature::{encode_hex, sign, verify_hex, HEX_LEN};
use napi::{Env, Result, Unknown, ValueType};
use napi_derive::napi;
use std::mem::MaybeUninit;

/// A timestamp prefix is short ("1767225600."); anything longer is refused.
const MAX_PREFIX: usize = 64;

const BYTES: &str = "a Uint8Array/Buffer";

/// An optional prefix: undefined → empty; a string (UTF-8) or bytes of at most MAX_PREFIX.
fn with_prefix<R>(env: &Env, v: &Unknown, then: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
    if v.get_type()? == ValueType::Undefined {
        return then(&[]);
    }
    let too_long = || range_error(env, &format!("prefix must be at most {MAX_PREFIX} bytes"));
    let mut buf = [MaybeUninit::<u8>::uninit(); MAX_PREFIX + 2];
    if let Some(s) = string_into(v, &mut buf)? {
        return if s.len() > MAX_PREFIX { Err(too_long()) } else { then(s) };
    }
    if let Some(b) = uint8_bytes(v)? {
        return if b.arraybuffer.len() > MAX_PREFIX { Err(too_long()) } else { then(&b.arraybuffer) };
    }
    Err(type_error(env, &format!("prefix must be a string, a Uint8Array or undefined, got {}", describe(v))))
}

/// `hmacSha256Verify(key, message, signatureHex, prefix?)`: true when `signatureHex` is exactly 64
/// hex digits (either case) equal, in constant time, to HMAC-SHA256(key, prefix ‖ message).
/// `prefix` (a string, as UTF-8, or bytes; at most 64 bytes, else RangeError) is `"<timestamp>."`
/// for signed timestamps. TypeError for any argument of the wrong type. Called once per webhook,
/// so its N-API face is hand-written (hot.rs).
pub fn verify(env: &Env, [key, message, signature_hex, prefix]: &[Unknown; 4]) -> Result<bool> {
    let key = bytes_arg(env, key, "key", BYTES)?;
    let message = bytes_arg(env, message, "message", BYTES)?;
    // One spare byte tells a 64-digit signature from a longer one.
    let mut sig_buf = [MaybeUninit::<u8>::uninit(); HEX_LEN + 2];
    let Some(signature) = string_into(signature_hex, &mut sig_buf)? else {
        return Err(type_error(env, &format!("signatureHex must be a string, got {}", describe(signature_hex))));
    };
    with_prefix(env, prefix, |prefix| Ok(verify_hex(&key.arraybuffer, prefix, &message.arraybuffer, signature)))
}

/// Lowercase hex HMAC-SHA256(key, prefix ‖ message).
#[napi(
    catch_unwind,
    ts_args_type = "key: Uint8Array, message: Uint8Array, prefix?: string | Uint8Array"
)]
pub fn hmac_sha256_hex(env: &Env, key: Unknown, message: Unknown, prefix: Unknown) -> Result<String> {
    let key = bytes_arg(env, &key, "key", BYTES)?;
    let message = bytes_arg(env, &message, "message", BYTES)?;
    let digest = with_prefix(env, &prefix, |prefix| Ok(encode_hex(&sign(&key.arraybuffer, prefix, &message.arraybuffer))))?;
    // Hex digits are ASCII.
    Ok(digest.iter().map(|&b| b as char).collect())
}
