//! `cxone-gate`: what the daemon decides about one webhook, from its raw bytes, in one step:
//! the HMAC-SHA256 signature (constant time, before any parsing), the freshness of a signed
//! timestamp, the body parsed and validated with `src/http/event.ts`'s exact verdicts
//! (`cxone-webhook`), the dedup key's XXH64, and the exact window's verdict (`cxone-bloom`).
//!
//! The N-API face calls [`evaluate`] once per request (issue 12: one native call instead of an
//! HMAC call, a `JSON.parse`, the validation in JavaScript and a window call). The order of the
//! refusals is the TypeScript path's: a bad signature before a stale timestamp before a bad body,
//! and nothing is recorded unless everything passed.
#![forbid(unsafe_code)]

use cxone_bloom::{key_hash, DedupWindow};
use cxone_signature::KeyedHmac;
use cxone_webhook::{parse_event, Event, EventError, KeyField, KeyFields};
use std::sync::atomic::AtomicU64;

/// Whether the window records the key (no delivery: decide and record at once) or only answers
/// (an event to make durable first: recorded later with the returned hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Observe,
    Check,
}

/// Why a webhook is refused; nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The HMAC does not match (or the claimed digest is not 64 hex digits).
    BadSignature,
    /// Correctly signed, but its timestamp is outside the replay window.
    Replayed,
    /// The body is not a valid event (`reason`, `message` and `field` as the TypeScript says them).
    Event(EventError),
}

/// An accepted webhook: the parsed event (borrowing the body), its key hash, the window's answer.
#[derive(Debug)]
pub struct Accepted<'a> {
    pub event: Event<'a>,
    /// XXH64 of the dedup key, for `record_hash` when the mode was `Check`.
    pub hash: u64,
    /// `Observed::code()` (verdict | RECORD_* bits) for `Observe`, `Verdict::code()` for `Check`.
    pub window: u32,
}

/// The key fields as one small number (what the N-API face takes): base-4 digits, least
/// significant first, 1 = interactionId, 2 = dataActionId, 3 = updatedTimestamp; e.g. 1 is the
/// default `['interactionId']`, 1 + 3·4 = 13 is `['interactionId', 'updatedTimestamp']`.
pub fn key_fields_from_code(code: u32) -> Option<KeyFields> {
    let mut list = Vec::with_capacity(3);
    let mut rest = code;
    while rest != 0 {
        list.push(match rest % 4 {
            1 => KeyField::InteractionId,
            2 => KeyField::DataActionId,
            3 => KeyField::UpdatedTimestamp,
            _ => return None,
        });
        rest /= 4;
        if list.len() > 3 {
            return None;
        }
    }
    KeyFields::new(&list).ok()
}

/// Verifies, parses, hashes the key and asks the window (see the crate documentation).
/// `prefix` is what the signature covers before the body (`"<timestamp>."`, or empty); `fresh`
/// says whether that timestamp is within the replay window (true without one).
pub fn evaluate<'a, S: AsRef<[AtomicU64]>>(
    window: &DedupWindow<S>,
    hmac: &KeyedHmac,
    fields: &KeyFields,
    body: &'a [u8],
    claimed_hex: &[u8],
    prefix: &[u8],
    fresh: bool,
    mode: Mode,
) -> Result<Accepted<'a>, Refusal> {
    if !hmac.verify_hex(prefix, body, claimed_hex) {
        return Err(Refusal::BadSignature);
    }
    if !fresh {
        return Err(Refusal::Replayed);
    }
    let event = parse_event(body).map_err(Refusal::Event)?;
    // Event::key borrows the id for the default key; only a composite key is written out
    // (an empty Vec allocates nothing until then).
    let mut scratch = Vec::new();
    let hash = key_hash(event.key(fields, &mut scratch));
    let window = match mode {
        // The caller's window is owned and used from one thread: the single-writer variant.
        Mode::Observe => window.observe_hash_unshared(hash).code(),
        Mode::Check => window.check_hash(hash).code(),
    };
    Ok(Accepted { event, hash, window })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxone_bloom::Verdict;

    const VERDICT_NEW: u32 = Verdict::New as u32;
    const VERDICT_DUPLICATE: u32 = Verdict::Duplicate as u32;
    const VERDICT_MASK: u32 = 3;
    use cxone_signature::{encode_hex, sign};

    const KEY: &[u8] = b"test-secret-0123456789abcdef";

    fn body(id: &str, ts: &str) -> Vec<u8> {
        format!(r#"{{"interactionId":"{id}","dataActionId":"da","updatedTimestamp":"{ts}","payload":{{"a":1}}}}"#).into_bytes()
    }

    fn signed(body: &[u8], prefix: &[u8]) -> [u8; 64] {
        encode_hex(&sign(KEY, prefix, body))
    }

    fn window() -> DedupWindow<cxone_bloom::OwnedWords> {
        DedupWindow::new(1000, 0.001).unwrap()
    }

    #[test]
    fn a_valid_webhook_is_parsed_hashed_and_observed() {
        let w = window();
        let fields = KeyFields::default();
        let b = body("i-1", "2026-01-01T00:00:00Z");
        let a = evaluate(&w, &KeyedHmac::new(KEY), &fields, &b, &signed(&b, b""), b"", true, Mode::Observe).unwrap();
        assert_eq!(a.event.interaction_id, "i-1");
        assert_eq!(a.hash, key_hash(b"i-1"));
        assert_eq!(a.window & VERDICT_MASK, VERDICT_NEW);
        let again = evaluate(&w, &KeyedHmac::new(KEY), &fields, &b, &signed(&b, b""), b"", true, Mode::Observe).unwrap();
        assert_eq!(again.window & VERDICT_MASK, VERDICT_DUPLICATE);
    }

    #[test]
    fn check_mode_records_nothing() {
        let w = window();
        let b = body("i-2", "2026-01-01T00:00:00Z");
        let sig = signed(&b, b"");
        for _ in 0..3 {
            let a = evaluate(&w, &KeyedHmac::new(KEY), &KeyFields::default(), &b, &sig, b"", true, Mode::Check).unwrap();
            assert_eq!(a.window, VERDICT_NEW);
        }
        w.record_hash(key_hash(b"i-2"));
        let a = evaluate(&w, &KeyedHmac::new(KEY), &KeyFields::default(), &b, &sig, b"", true, Mode::Check).unwrap();
        assert_eq!(a.window, VERDICT_DUPLICATE);
    }

    #[test]
    fn refusals_come_in_the_typescript_order_and_record_nothing() {
        let w = window();
        let fields = KeyFields::default();
        let good = body("i-3", "2026-01-01T00:00:00Z");
        // A bad signature is refused before a stale timestamp is looked at.
        assert_eq!(evaluate(&w, &KeyedHmac::new(KEY), &fields, &good, &[b'0'; 64], b"", false, Mode::Observe).unwrap_err(), Refusal::BadSignature);
        assert_eq!(evaluate(&w, &KeyedHmac::new(KEY), &fields, &good, b"not hex", b"", true, Mode::Observe).unwrap_err(), Refusal::BadSignature);
        // The prefix is signed: the same digest without it fails.
        let with_ts = signed(&good, b"1767225600.");
        assert_eq!(evaluate(&w, &KeyedHmac::new(KEY), &fields, &good, &with_ts, b"", true, Mode::Observe).unwrap_err(), Refusal::BadSignature);
        assert_eq!(evaluate(&w, &KeyedHmac::new(KEY), &fields, &good, &with_ts, b"1767225600.", false, Mode::Observe).unwrap_err(), Refusal::Replayed);
        let bad = b"{\"interactionId\":\"x\"}".to_vec();
        match evaluate(&w, &KeyedHmac::new(KEY), &fields, &bad, &signed(&bad, b""), b"", true, Mode::Observe).unwrap_err() {
            Refusal::Event(e) => assert_eq!(e.reason.as_str(), "invalid_event"),
            other => panic!("expected an event refusal, got {other:?}"),
        }
        // None of them recorded the key.
        assert_eq!(w.check_hash(key_hash(b"i-3")).code(), VERDICT_NEW);
        let a = evaluate(&w, &KeyedHmac::new(KEY), &fields, &good, &with_ts, b"1767225600.", true, Mode::Observe).unwrap();
        assert_eq!(a.window & VERDICT_MASK, VERDICT_NEW);
    }

    #[test]
    fn multi_field_keys_hash_what_the_engine_hashes() {
        let fields = key_fields_from_code(1 + 3 * 4).unwrap();
        let w = window();
        let b = body("i-4", "2026-01-01T02:00:00+02:00");
        let a = evaluate(&w, &KeyedHmac::new(KEY), &fields, &b, &signed(&b, b""), b"", true, Mode::Observe).unwrap();
        // src/dedup/key.ts: `${id.length}:${id}${tk.length}:${tk}` with tk the instant's key.
        let tk = "1767225600.0";
        let key = format!("3:i-4{}:{tk}", tk.len());
        assert_eq!(a.hash, key_hash(key.as_bytes()));
    }

    #[test]
    fn key_field_codes() {
        assert!(key_fields_from_code(1).unwrap().is_interaction_id());
        assert!(key_fields_from_code(2).is_some());
        assert!(key_fields_from_code(1 + 2 * 4 + 3 * 16).is_some());
        assert!(key_fields_from_code(0).is_none(), "no field");
        assert!(key_fields_from_code(1 + 4).is_none(), "a field twice");
        assert!(key_fields_from_code(1 + 2 * 4 + 3 * 16 + 64).is_none(), "four fields");
    }
}
