//! `cxone-webhook`: parses and validates a NICE CXone Data Action webhook body with exactly the
//! verdicts of the TypeScript reference (`src/http/event.ts`, `src/json-depth.ts`,
//! `src/dedup/timestamp.ts`, `src/dedup/key.ts`), without any N-API types.
//!
//! - [`parse_event`]: the raw body bytes → an [`Event`] (ids borrowed from the body unless
//!   escaped, the instant, the payload's byte range, flags) or an [`EventError`] with the same
//!   `reason`, `message` and `field` as `parseEvent`. JSON syntax is what `JSON.parse` accepts:
//!   lone-surrogate escapes inside strings, duplicate keys (the last wins), `__proto__` as a
//!   plain key, numbers of any size.
//! - [`parse_timestamp`]: strict RFC 3339 → [`Timestamp`] or a [`TimestampFault`].
//! - [`write_key`] / [`Event::key`]: the dedup key's UTF-8 bytes for a [`KeyFields`] list, whose
//!   `cxone_bloom::key_hash` is the hash the TypeScript engine uses.
//!
//! ```
//! use cxone_webhook::{parse_event, Field, KeyFields, Reason};
//!
//! let body = br#"{"interactionId":"i-1","dataActionId":"da-9","updatedTimestamp":"2026-01-15T12:30:00+02:00","payload":{"a":1}}"#;
//! let event = parse_event(body).unwrap();
//! assert_eq!(event.interaction_id, "i-1");
//! assert_eq!(event.timestamp.key(), "1768473000.0"); // the instant: 10:30:00Z
//! assert_eq!(&body[event.payload.clone().unwrap()], br#"{"a":1}"#);
//! assert!(event.canonical);
//!
//! let fields = KeyFields::from_names(&["interactionId", "updatedTimestamp"]).unwrap();
//! let mut scratch = Vec::new();
//! assert_eq!(event.key(&fields, &mut scratch), b"3:i-112:1768473000.0");
//!
//! let err = parse_event(br#"{"interactionId":""}"#).unwrap_err();
//! assert_eq!(err.reason, Reason::InvalidEvent);
//! assert_eq!(err.message, "interactionId must not be empty");
//! assert_eq!(err.field, Some(Field::InteractionId));
//! ```
//!
//! `test/vectors/webhook.json`, generated from the TypeScript, holds the differential cases
//! (`tests/vectors.rs`); `examples/parse_speed.rs` measures a parse.
#![forbid(unsafe_code)]

/// The TS `TIMESTAMP_FORMAT_HINT`, as a literal so error messages can be built with `concat!`.
macro_rules! timestamp_format_hint {
    () => {
        "an RFC 3339 date-time such as 2024-01-15T10:30:00.123Z or 2024-01-15T11:30:00+01:00"
    };
}

mod depth;
mod event;
mod json;
mod key;
mod strings;
mod timestamp;

pub use depth::nesting_within;
pub use event::{parse_event, Event, EventError, Field, Reason};
pub use key::{write_key, KeyField, KeyFields, KeyFieldsError};
pub use timestamp::{parse_timestamp, utf16_len, Timestamp, TimestampFault, TIMESTAMP_FORMAT_HINT};

/// How deep `payload` may nest (objects and arrays), as the README documents.
pub const MAX_PAYLOAD_DEPTH: usize = 32;
/// Longest `interactionId` / `dataActionId`, in UTF-16 code units.
pub const MAX_ID_LENGTH: usize = 256;
/// Longest `updatedTimestamp` string before it is parsed, in UTF-16 code units.
pub const MAX_TIMESTAMP_LENGTH: usize = 64;
