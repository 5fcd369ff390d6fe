//! N-API face of the cxone-dedup native core: exports the classes `BloomFilter` and
//! `DedupWindow` (typed in `index.d.ts`, wrapped by `src/bloom/native.ts`) and the webhook
//! signature functions `hmacSha256Verify` / `hmacSha256Hex` (used by
//! `src/http/signature.ts`).
//!
//! napi-rs registers the module; the classes themselves are defined on raw N-API (`js.rs`)
//! because the generated class glue costs several times the per-call budget of the
//! hot path. Every callback runs under `js::run`, which turns a panic into a JS
//! `Error`: no unwind ever crosses into Node.

mod args;
mod class;
mod js;
mod key;
mod signature;
mod storage;
mod window;

// The #[napi] face, measured side by side with the hand-written one (bench/filter.ts).
mod bloom;
mod dedup_window;
mod errors;
mod hmac;
mod keys;
mod memory;
mod values;

use napi::bindgen_prelude::Object;
use napi::{Env, JsValue};
use napi_derive::napi;

#[napi(module_exports)]
pub fn init(exports: Object, env: Env) -> napi::Result<()> {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: module init runs on the JS thread that owns `env`.
        let cx = unsafe { js::Cx::from_raw(env.raw()) };
        class::register(&cx, exports.raw())?;
        window::register(&cx, exports.raw())?;
        signature::register(&cx, exports.raw())
    });
    match result {
        Ok(Ok(())) => Ok(()),
        // A JS exception is pending; napi-rs leaves a pending exception in place.
        Ok(Err(js::Thrown)) => Err(napi::Error::from_status(napi::Status::PendingException)),
        Err(_) => Err(napi::Error::from_reason("cxone-dedup native: panic while registering its exports")),
    }
}
