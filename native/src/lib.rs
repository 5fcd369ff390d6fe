//! N-API face of the cxone-dedup native core, the addon of the `@cxone-dedup/bloom` package:
//! the classes `BloomFilter` (bloom.rs) and `DedupWindow` (dedup_window.rs), the webhook
//! signature functions `hmacSha256Verify` / `hmacSha256Hex` (hmac.rs), and
//! `registerJsHelpers`, by which the package's loader hands over its error classes and batch
//! helpers (js_helpers.rs).
//!
//! napi-rs (`#[napi]`) defines everything and generates the type definitions, except the calls
//! of the hot path, the one-key methods `has`, `add`, `check`, `observe` and `record` and the
//! function `hmacSha256Verify`, which are hand-written N-API (hot.rs) because the generated glue
//! would more than double their cost. No panic crosses into Node: every `#[napi]` function is
//! `catch_unwind`, and so is hot.rs.

mod bloom;
mod dedup_window;
mod errors;
mod hmac;
mod hot;
mod js_helpers;
mod keys;
mod memory;
mod values;
mod webhook;

use napi::bindgen_prelude::{JsObjectValue, Object};
use napi_derive::napi;

/// Adds the hand-written functions to the module's exports (the methods join their classes in
/// hot.rs).
#[napi(module_exports)]
pub fn exports(mut exports: Object) -> napi::Result<()> {
    exports.create_named_method("hmacSha256Verify", hot::hmac_sha256_verify)
}
