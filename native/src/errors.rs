//! Rejected images (a filter's, a fingerprint table's, or two generations that do not fit
//! together), thrown as the error classes the JS package defines, so that
//! `err instanceof BloomSnapshotError` holds whichever implementation read the bytes.
//!
//! The package hands its classes over once per env (`setErrorClasses`, called by its loader).
//! Used without them (the `.node` file loaded directly), the addon throws a plain `Error` with
//! the same `code` and `reason`.

use crate::js_helpers;
use crate::values::pending;
use cxone_bloom::{ImageError, TableImageError, WindowError};
use napi::bindgen_prelude::{FnArgs, FromNapiValue, Function, JsObjectValue, Object, Unknown};
use napi::{Env, Error, Result};

/// Which image was rejected: picks the class and the `code`.
#[derive(Clone, Copy)]
pub enum ImageKind {
    Bloom = 0,
    Table = 1,
    Window = 2,
}

impl ImageKind {
    pub fn code(self) -> &'static str {
        match self {
            ImageKind::Bloom => "ERR_BLOOM_SNAPSHOT",
            ImageKind::Table => "ERR_FINGERPRINT_SNAPSHOT",
            ImageKind::Window => "ERR_WINDOW_SNAPSHOT",
        }
    }
}

/// Throws `new <class>(reason, message)` (or a plain `Error` with `code` and `reason`).
pub fn throw_image_error(env: &Env, kind: ImageKind, reason: &str, message: &str) -> Error {
    match make_image_error(env, kind, reason, message).and_then(|e| env.throw(e)) {
        Ok(()) => pending(),
        // Could not even build it: napi-rs throws this one instead.
        Err(e) => Error::new(e.status, format!("{message} (and the error could not be built: {})", e.reason)),
    }
}

fn make_image_error<'e>(env: &'e Env, kind: ImageKind, reason: &str, message: &str) -> Result<Unknown<'e>> {
    if let Some(helpers) = js_helpers::current(env)? {
        let class = helpers.error_classes[kind as usize].get_value(env)?;
        return Function::<FnArgs<(&str, &str)>>::from_unknown(class)?.new_instance((reason, message).into());
    }
    let class = env.get_global()?.get_named_property::<Function<&str>>("Error")?;
    let err = class.new_instance(message)?;
    let mut obj = Object::from_unknown(err)?;
    obj.set_named_property("code", kind.code())?;
    obj.set_named_property("reason", reason)?;
    Ok(err)
}

/// A rejected filter image; `context` names the part being restored ("active generation").
pub fn bloom_image_error(env: &Env, e: &ImageError, context: Option<&str>) -> Error {
    let msg = format!("invalid Bloom filter snapshot: {e}");
    throw_image_error(env, ImageKind::Bloom, e.reason(), &with_context(context, msg))
}

/// A rejected fingerprint table image.
pub fn table_image_error(env: &Env, e: &TableImageError, context: Option<&str>) -> Error {
    let msg = format!("invalid fingerprint table snapshot: {e}");
    throw_image_error(env, ImageKind::Table, e.reason(), &with_context(context, msg))
}

/// Generations that do not fit together; None for errors that are not about images.
pub fn window_image_error(env: &Env, e: &WindowError, context: Option<&str>) -> Option<Error> {
    let reason = e.reason()?;
    Some(throw_image_error(env, ImageKind::Window, reason, &with_context(context, e.to_string())))
}

fn with_context(context: Option<&str>, msg: String) -> String {
    match context {
        Some(c) => format!("{c}: {msg}"),
        None => msg,
    }
}
