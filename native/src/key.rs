//! Keys from JS: a string (hashed as its UTF-8 bytes) or a `Uint8Array`/`Buffer`.
//! This is the hot path: a key of up to ~250 UTF-8 bytes is read into a stack
//! buffer, longer ones into one heap buffer; bytes are hashed in place.

use crate::args::describe;
use crate::js::{Cx, JsResult, Value};
use cxone_bloom::key_hash;
use std::mem::MaybeUninit;

const STACK_KEY: usize = 256;
/// A UTF-8 character is at most 4 bytes, so a string that filled less than this much
/// of the buffer was certainly read whole (N-API writes whole characters only).
const SURELY_WHOLE: usize = STACK_KEY - 1 - 4;

/// Where a key came from, for error messages.
#[derive(Clone, Copy)]
pub enum KeyName {
    Arg,
    Index(u32),
}

/// The XXH64 of the key's bytes, or a TypeError for anything but a string or bytes.
#[inline]
pub fn hash(cx: &Cx<'_>, v: Value, name: KeyName) -> JsResult<u64> {
    let mut buf = [MaybeUninit::<u8>::uninit(); STACK_KEY];
    if let Some(bytes) = cx.string_into(v, &mut buf)? {
        if bytes.len() < SURELY_WHOLE {
            return Ok(key_hash(bytes));
        }
        return long_string(cx, v, bytes);
    }
    if let Some(view) = cx.typed_array(v)? {
        if view.is_uint8() {
            return Ok(key_hash(view.bytes()));
        }
    }
    Err(wrong_type(cx, v, name))
}

#[cold]
fn long_string(cx: &Cx<'_>, v: Value, head: &[u8]) -> JsResult<u64> {
    let full = cx.string_len(v)?.unwrap_or(0);
    if full == head.len() {
        return Ok(key_hash(head));
    }
    let mut heap = vec![MaybeUninit::<u8>::uninit(); full + 1];
    let bytes = cx.string_into(v, &mut heap)?.unwrap_or(&[]);
    Ok(key_hash(bytes))
}

#[cold]
fn wrong_type(cx: &Cx<'_>, v: Value, name: KeyName) -> crate::js::Thrown {
    if cx.is_exception_pending() {
        return crate::js::Thrown;
    }
    let what = match name {
        KeyName::Arg => "key".to_string(),
        KeyName::Index(i) => format!("keys[{i}]"),
    };
    let got = describe(cx, v);
    cx.throw_type_error(&format!("{what} must be a string or a Uint8Array/Buffer, got {got}"))
}
