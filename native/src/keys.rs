//! Keys from JS: a string (hashed as its UTF-8 bytes) or a `Uint8Array` / `Buffer`.
//!
//! This is the hot path: a string of up to ~250 UTF-8 bytes is read into a stack buffer
//! (napi-rs' `String` conversion asks for the length, then allocates), longer ones into one
//! heap buffer; bytes are hashed where they are.

use crate::values::{describe, type_error, uint8_bytes};
use cxone_bloom::key_hash;
use napi::{sys, Env, JsValue, Result, Unknown};
use std::ffi::c_char;
use std::mem::MaybeUninit;
use std::ptr;

const STACK_KEY: usize = 256;
/// A UTF-8 character is at most 4 bytes, so a string that filled less than this much of the
/// buffer was certainly read whole (N-API writes whole characters only).
const SURELY_WHOLE: usize = STACK_KEY - 1 - 4;

/// Where a key came from, for error messages.
#[derive(Clone, Copy)]
pub enum KeyName {
    Arg,
    Index(u32),
}

/// The XXH64 of the key's bytes, or a TypeError for anything but a string or bytes.
#[inline]
pub fn hash(env: &Env, v: &Unknown<'_>, name: KeyName) -> Result<u64> {
    let mut buf = [MaybeUninit::<u8>::uninit(); STACK_KEY];
    if let Some(bytes) = string_into(v, &mut buf)? {
        if bytes.len() < SURELY_WHOLE {
            return Ok(key_hash(bytes));
        }
        return long_string(v, bytes);
    }
    if let Some(view) = uint8_bytes(v)? {
        return Ok(key_hash(&view.arraybuffer));
    }
    Err(wrong_type(env, v, name))
}

#[cold]
fn long_string(v: &Unknown<'_>, head: &[u8]) -> Result<u64> {
    let full = string_len(v)?.unwrap_or(0);
    if full == head.len() {
        return Ok(key_hash(head));
    }
    let mut heap = vec![MaybeUninit::<u8>::uninit(); full + 1];
    let bytes = string_into(v, &mut heap)?.unwrap_or(&[]);
    Ok(key_hash(bytes))
}

#[cold]
fn wrong_type(env: &Env, v: &Unknown<'_>, name: KeyName) -> napi::Error {
    let what = match name {
        KeyName::Arg => "key".to_string(),
        KeyName::Index(i) => format!("keys[{i}]"),
    };
    type_error(env, &format!("{what} must be a string or a Uint8Array/Buffer, got {}", describe(v)))
}

/// Reads a JS string as UTF-8 into `buf` (NUL-terminated by N-API, so at most `buf.len() - 1`
/// bytes, whole characters only); None when `v` is not a string.
pub fn string_into<'b>(v: &Unknown<'_>, buf: &'b mut [MaybeUninit<u8>]) -> Result<Option<&'b [u8]>> {
    if buf.is_empty() {
        return Ok(Some(&[]));
    }
    let mut len = 0usize;
    let raw = v.value();
    // SAFETY: `raw` is a live value of the env of the current callback (an `Unknown` is only
    // made inside one); `buf` is writable for `buf.len()` bytes, which N-API never exceeds.
    let status = unsafe {
        sys::napi_get_value_string_utf8(raw.env, raw.value, buf.as_mut_ptr().cast::<c_char>(), buf.len(), &mut len)
    };
    match status {
        sys::Status::napi_ok => {
            let len = len.min(buf.len() - 1);
            // SAFETY: N-API initialised the first `len` bytes of `buf`.
            Ok(Some(unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) }))
        }
        sys::Status::napi_string_expected => Ok(None),
        s => Err(napi::Error::new(napi::Status::from(s), "napi_get_value_string_utf8 failed".to_string())),
    }
}

/// The UTF-8 length in bytes of a JS string; None when `v` is not a string.
pub fn string_len(v: &Unknown<'_>) -> Result<Option<usize>> {
    let mut len = 0usize;
    let raw = v.value();
    // SAFETY: as in `string_into`; a null buffer asks N-API for the length only.
    let status = unsafe { sys::napi_get_value_string_utf8(raw.env, raw.value, ptr::null_mut(), 0, &mut len) };
    match status {
        sys::Status::napi_ok => Ok(Some(len)),
        sys::Status::napi_string_expected => Ok(None),
        s => Err(napi::Error::new(napi::Status::from(s), "napi_get_value_string_utf8 failed".to_string())),
    }
}
