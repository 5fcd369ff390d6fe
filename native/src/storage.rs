//! Where a filter's words live: owned by Rust, or in a JS `SharedArrayBuffer`.

use crate::js::Ref;
use cxone_bloom::{BloomError, OwnedWords};
use std::alloc::{alloc_zeroed, Layout};
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicU64;

/// `count` zeroed words from the allocator's zeroing path (calloc): the pages of a big
/// filter are mapped lazily instead of all written at creation (a 1 GiB filter is
/// created in microseconds, and costs memory only as its bits get set).
/// (`cxone_bloom::zeroed_words` writes every word: the core crate forbids `unsafe`.)
pub fn zeroed_owned(count: usize) -> Result<OwnedWords, BloomError> {
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
    // SAFETY: `p` is a fresh allocation from the global allocator with exactly the layout
    // of `[AtomicU64; count]` (what `Box<[AtomicU64]>` frees with), and all-zero bytes
    // are a valid `AtomicU64` (it has the bit validity of `u64`).
    Ok(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, count)) })
}

/// The words of a filter; `cxone_bloom::BloomFilter<Storage>` reads them through `AsRef`.
pub enum Storage {
    Owned(OwnedWords),
    Shared(SharedWords),
}

/// Words inside a `SharedArrayBuffer`, kept alive by a strong N-API reference to it.
pub struct SharedWords {
    ptr: NonNull<AtomicU64>,
    len: usize,
    /// Strong reference to the SharedArrayBuffer; deleted by the owner's finalizer
    /// after this value is dropped (see `class.rs`).
    keepalive: Ref,
}

impl SharedWords {
    /// # Safety
    /// `data` must be the start of `len * 8` bytes inside the SharedArrayBuffer that
    /// `keepalive` strongly references, 8-byte aligned; the reference must stay alive
    /// for as long as this value exists.
    pub unsafe fn new(data: NonNull<u8>, len: usize, keepalive: Ref) -> Self {
        SharedWords { ptr: data.cast(), len, keepalive }
    }

    pub fn keepalive(&self) -> Ref {
        self.keepalive
    }
}

impl AsRef<[AtomicU64]> for SharedWords {
    fn as_ref(&self) -> &[AtomicU64] {
        // SAFETY (see `new`):
        // * The memory is valid for `len` words for as long as `self` lives: the strong
        //   reference keeps the SharedArrayBuffer, and so its backing store, alive; a
        //   SharedArrayBuffer can be neither detached nor shrunk (growable ones only grow,
        //   in place), so no JS action can move or free these bytes.
        // * Alignment to 8 was checked when the filter was attached.
        // * Other threads (workers holding the same buffer) access these bytes
        //   concurrently; we only ever touch them through `AtomicU64` operations. JS code
        //   that writes the same bytes with plain stores races with us as it would with
        //   another worker's `Atomics` calls: it can only garble the filter's bits, not
        //   break memory safety on the platforms Node supports.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
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
