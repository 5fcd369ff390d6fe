//! Where a filter's words live: owned by Rust (lazily zeroed pages), or in a JS
//! `SharedArrayBuffer` that worker threads share. All `unsafe` about memory is here.

use crate::values::{describe, range_error, type_error};
use cxone_bloom::{BloomError, OwnedWords, Params};
use napi::bindgen_prelude::{Function, JsObjectValue, Unknown};
use napi::{sys, Env, JsValue, Result, ValueType};
use std::alloc::{alloc_zeroed, Layout};
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicU64;

/// `count` zeroed words from the allocator's zeroing path (calloc): the pages of a big filter
/// are mapped lazily instead of all written at creation (a 1 GiB filter is created in
/// microseconds, and costs memory only as its bits get set). (`cxone_bloom::zeroed_words`
/// writes every word: the core crate forbids `unsafe`.)
pub fn zeroed_owned(count: usize) -> std::result::Result<OwnedWords, BloomError> {
    let oom = || BloomError::OutOfMemory { bytes: (count as u64).saturating_mul(8) };
    if count == 0 {
        return Ok(Box::new([]));
    }
    let layout = Layout::array::<AtomicU64>(count).map_err(|_| oom())?;
    // SAFETY: `layout` has a non-zero size (count > 0).
    let p = unsafe { alloc_zeroed(layout) }.cast::<AtomicU64>();
    if p.is_null() {
        return Err(oom());
    }
    // SAFETY: `p` is a fresh allocation from the global allocator with exactly the layout of
    // `[AtomicU64; count]` (what `Box<[AtomicU64]>` frees with), and all-zero bytes are a
    // valid `AtomicU64` (it has the bit validity of `u64`).
    Ok(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, count)) })
}

/// The words of a filter; `cxone_bloom::BloomFilter<Storage>` reads them through `AsRef`.
pub enum Storage {
    Owned(OwnedWords),
    Shared(SharedWords),
}

impl AsRef<[AtomicU64]> for Storage {
    #[inline]
    fn as_ref(&self) -> &[AtomicU64] {
        match self {
            Storage::Owned(words) => words,
            Storage::Shared(words) => words.as_ref(),
        }
    }
}

/// Words inside a `SharedArrayBuffer`. Whoever holds this also holds a strong reference to
/// the buffer (see `bloom.rs`), and drops this first.
pub struct SharedWords {
    ptr: NonNull<AtomicU64>,
    len: usize,
}

impl AsRef<[AtomicU64]> for SharedWords {
    fn as_ref(&self) -> &[AtomicU64] {
        // SAFETY (see `attach`):
        // * The memory is valid for `len` words for as long as `self` lives: its owner holds a
        //   strong reference to the SharedArrayBuffer, which keeps the backing store alive; a
        //   SharedArrayBuffer can be neither detached nor shrunk (growable ones only grow, in
        //   place), so no JS action can move or free these bytes.
        // * Alignment to 8 was checked in `attach`.
        // * Other threads (workers holding the same buffer) access these bytes concurrently;
        //   we only ever touch them through `AtomicU64` operations. JS code that writes the
        //   same bytes with plain stores races with us as it would with another worker's
        //   `Atomics` calls: it can only garble the filter's bits, not break memory safety on
        //   the platforms Node supports.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

/// The words of `memory` (a SharedArrayBuffer, or a typed array over one) for a filter of
/// `params`, and the SharedArrayBuffer itself (to keep alive). TypeError / RangeError when the
/// memory does not fit.
///
/// The caller must keep a strong reference to the returned buffer for as long as the words
/// are used.
pub fn attach<'e>(env: &'e Env, memory: Unknown<'e>, params: &Params) -> Result<(SharedWords, Unknown<'e>)> {
    let view = match typed_array_info(&memory)? {
        Some(view) => view,
        None => {
            // N-API (Node 20) has no SharedArrayBuffer accessors, but a view over one works.
            let global = env.get_global()?;
            let sab_class = global.get_named_property::<Function>("SharedArrayBuffer")?;
            if memory.get_type()? != ValueType::Object || !memory.instanceof(sab_class)? {
                return Err(type_error(
                    env,
                    &format!("memory must be a SharedArrayBuffer or a typed array over one, got {}", describe(&memory)),
                ));
            }
            let u8_class = global.get_named_property::<Function<Unknown>>("Uint8Array")?;
            let whole = u8_class.new_instance(memory)?;
            match typed_array_info(&whole)? {
                Some(v) => v,
                None => return Err(napi::Error::from_reason("could not view the SharedArrayBuffer")),
            }
        }
    };
    if view.buffer_is_plain {
        return Err(type_error(
            env,
            "memory must be backed by a SharedArrayBuffer: a plain ArrayBuffer can be detached or transferred under the filter",
        ));
    }
    let expected = params.byte_length();
    if view.byte_len as u64 != expected {
        return Err(range_error(
            env,
            &format!("memory has {} bytes but a filter of {} bits needs exactly {expected}", view.byte_len, params.bit_count()),
        ));
    }
    let Some(data) = NonNull::new(view.data) else {
        return Err(range_error(env, "memory has no bytes"));
    };
    if (data.as_ptr() as usize) % 8 != 0 {
        return Err(range_error(env, "memory must start on an 8-byte boundary (check the view's byteOffset)"));
    }
    Ok((SharedWords { ptr: data.cast(), len: params.word_count() }, view.buffer))
}

/// What `napi_get_typedarray_info` says about a view.
struct ViewInfo<'e> {
    data: *mut u8,
    byte_len: usize,
    /// The ArrayBuffer or SharedArrayBuffer under the view.
    buffer: Unknown<'e>,
    /// True for a plain (detachable) ArrayBuffer.
    buffer_is_plain: bool,
}

/// The view's facts, or None when `v` is not a typed array. (napi-rs' `TypedArray` does not
/// give the buffer under the view, which decides whether it can be detached.)
fn typed_array_info<'e>(v: &Unknown<'e>) -> Result<Option<ViewInfo<'e>>> {
    if v.get_type()? != ValueType::Object || !v.is_typedarray()? {
        return Ok(None);
    }
    let raw = v.value();
    let (mut kind, mut len, mut data, mut buffer, mut offset) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
    // SAFETY: `raw` is a live typed array (checked above) of the current callback's env; all
    // out-pointers are live locals.
    let status = unsafe {
        sys::napi_get_typedarray_info(raw.env, raw.value, &mut kind, &mut len, &mut data, &mut buffer, &mut offset)
    };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(napi::Status::from(status), "napi_get_typedarray_info failed".to_string()));
    }
    let element = match kind {
        sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
        sys::TypedarrayType::int32_array | sys::TypedarrayType::uint32_array | sys::TypedarrayType::float32_array => 4,
        sys::TypedarrayType::float64_array | sys::TypedarrayType::bigint64_array | sys::TypedarrayType::biguint64_array => 8,
        _ => 1,
    };
    // SAFETY: `buffer` was just returned by N-API for this env and callback.
    let buffer = unsafe { Unknown::from_raw_unchecked(raw.env, buffer) };
    let buffer_is_plain = buffer.is_arraybuffer()?;
    Ok(Some(ViewInfo { data: data.cast(), byte_len: len.saturating_mul(element), buffer, buffer_is_plain }))
}
