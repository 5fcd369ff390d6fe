//! `parse_event`: the verdicts of `parseEvent` in `src/http/event.ts`, from the raw body bytes.
//!
//! Order of checks, as in the TypeScript: empty body → UTF-8 → nesting pre-scan → the whole
//! document's JSON syntax → a top-level object → interactionId → dataActionId →
//! updatedTimestamp (string rules, then RFC 3339) → payload. A field's value is its last
//! occurrence at the top level (JSON.parse keeps the last duplicate); `__proto__` is a plain key.
//!
//! The pre-scan and the syntax check run as one pass: on valid JSON the parser's nesting is the
//! pre-scan's count byte for byte, so the parser stops at the same too-deep bracket. Only a
//! malformed body needs the separate byte scan, which may still find too deep a nesting after
//! the syntax error (the TypeScript would have reported that first).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::depth::nesting_within;
use crate::json::{Kind, Scanner, Stop, Str};
use crate::key::{write_key, KeyFields};
use crate::strings::decode;
use crate::timestamp::{parse_with_utf16_len, Timestamp, TimestampFault};
use crate::{MAX_ID_LENGTH, MAX_PAYLOAD_DEPTH, MAX_TIMESTAMP_LENGTH};

/// A valid event, borrowing from the body where it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// Borrowed from the body unless the JSON string had escapes.
    pub interaction_id: Cow<'a, str>,
    pub data_action_id: Cow<'a, str>,
    /// The timestamp as written (decoded), e.g. for the state.
    pub updated_timestamp: Cow<'a, str>,
    /// `updated_timestamp`, parsed.
    pub timestamp: Timestamp,
    /// Byte range of the `payload` object in the body, or None when the field is absent
    /// (the event's payload is then `{}`).
    pub payload: Option<Range<usize>>,
    /// Byte range of the top-level object (the body without surrounding whitespace).
    pub object: Range<usize>,
    /// Exactly the four contract fields, each once, payload present: the object's bytes can
    /// stand for the state as they are.
    pub canonical: bool,
    /// Top-level members whose key is none of the four contract fields (ignored by the contract).
    pub unknown_fields: u32,
    /// Some contract field occurs more than once (the last one was used).
    pub repeated_fields: bool,
}

impl Event<'_> {
    /// The dedup key's UTF-8 bytes: the id itself for the default key, otherwise written into
    /// `scratch` (cleared first). `cxone_bloom::key_hash` of them is the engine's key hash.
    pub fn key<'s>(&'s self, fields: &KeyFields, scratch: &'s mut Vec<u8>) -> &'s [u8] {
        if fields.is_interaction_id() {
            return self.interaction_id.as_bytes();
        }
        scratch.clear();
        write_key(
            fields,
            &self.interaction_id,
            &self.data_action_id,
            &self.timestamp,
            scratch,
        );
        scratch
    }
}

/// Why a body was refused: TS `EventError`'s `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    MalformedJson,
    InvalidEvent,
}

impl Reason {
    /// `"malformed_json"` or `"invalid_event"`, the rejection reasons the daemon counts.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MalformedJson => "malformed_json",
            Reason::InvalidEvent => "invalid_event",
        }
    }
}

/// The field an `invalid_event` error names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    InteractionId,
    DataActionId,
    UpdatedTimestamp,
    Payload,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::InteractionId => "interactionId",
            Field::DataActionId => "dataActionId",
            Field::UpdatedTimestamp => "updatedTimestamp",
            Field::Payload => "payload",
        }
    }
}

/// TS `EventError`: the reason, the exact message and the field (never any input echoed back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventError {
    pub reason: Reason,
    pub message: &'static str,
    pub field: Option<Field>,
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for EventError {}

const fn malformed(message: &'static str) -> EventError {
    EventError {
        reason: Reason::MalformedJson,
        message,
        field: None,
    }
}
const fn invalid(message: &'static str, field: Option<Field>) -> EventError {
    EventError {
        reason: Reason::InvalidEvent,
        message,
        field,
    }
}

const EMPTY_BODY: EventError = malformed("malformed JSON: empty body");
const NOT_UTF8: EventError = malformed("malformed JSON: body is not valid UTF-8");
const MALFORMED: EventError = malformed("malformed JSON");
const TOO_DEEP: EventError = invalid(
    "payload must not nest deeper than 32 levels",
    Some(Field::Payload),
);
const NOT_AN_OBJECT: EventError = invalid("body must be a JSON object", None);
const PAYLOAD_NOT_AN_OBJECT: EventError =
    invalid("payload must be a JSON object", Some(Field::Payload));

/// The messages of TS `idFault` for one field.
struct IdMessages {
    field: Field,
    max: usize,
    required: &'static str,
    not_string: &'static str,
    empty: &'static str,
    too_long: &'static str,
    lone_surrogate: &'static str,
}

macro_rules! id_messages {
    ($field:expr, $name:literal, $max:expr, $max_text:literal) => {
        IdMessages {
            field: $field,
            max: $max,
            required: concat!($name, " is required"),
            not_string: concat!($name, " must be a string"),
            empty: concat!($name, " must not be empty"),
            too_long: concat!($name, " must be at most ", $max_text, " characters"),
            lone_surrogate: concat!($name, " must be valid Unicode (no lone surrogates)"),
        }
    };
}

const INTERACTION_ID: IdMessages =
    id_messages!(Field::InteractionId, "interactionId", MAX_ID_LENGTH, "256");
const DATA_ACTION_ID: IdMessages =
    id_messages!(Field::DataActionId, "dataActionId", MAX_ID_LENGTH, "256");
const UPDATED_TIMESTAMP: IdMessages = id_messages!(
    Field::UpdatedTimestamp,
    "updatedTimestamp",
    MAX_TIMESTAMP_LENGTH,
    "64"
);

macro_rules! timestamp_message {
    ($fault:literal) => {
        concat!(
            "updatedTimestamp must be ",
            timestamp_format_hint!(),
            " (",
            $fault,
            ")"
        )
    };
}

fn timestamp_error(fault: TimestampFault) -> EventError {
    use TimestampFault::*;
    let message = match fault {
        TooLong => timestamp_message!("too long"),
        BadFormat => timestamp_message!("bad format"),
        MonthOutOfRange => timestamp_message!("month out of range"),
        DayOutOfRange => timestamp_message!("day out of range"),
        HourOutOfRange => timestamp_message!("hour out of range"),
        MinuteOutOfRange => timestamp_message!("minute out of range"),
        SecondOutOfRange => timestamp_message!("second out of range"),
        LeapSecondNotAt2359 => timestamp_message!("leap second not at 23:59 UTC"),
        TooManyFractionDigits => timestamp_message!("too many fraction digits"),
        OffsetOutOfRange => timestamp_message!("offset out of range"),
    };
    invalid(message, Some(Field::UpdatedTimestamp))
}

/// The last value seen for one contract field, and how often the field occurred.
#[derive(Clone, Copy, Default)]
struct Slot {
    /// The value's kind and byte range.
    last: Option<(Kind, usize, usize)>,
    count: u32,
}

impl Slot {
    #[inline(always)]
    fn set(&mut self, kind: Kind, start: usize, end: usize) {
        self.last = Some((kind, start, end));
        self.count = self.count.saturating_add(1);
    }
}

const INTERACTION: usize = 0;
const DATA_ACTION: usize = 1;
const TIMESTAMP: usize = 2;
const PAYLOAD: usize = 3;

/// Which contract field a top-level key names, comparing decoded keys like JSON.parse does.
#[inline]
fn contract_field(text: &str, key: Str) -> Option<usize> {
    let raw = text.get(key.start..key.end)?;
    let by_name = |name: &str| match name {
        "interactionId" => Some(INTERACTION),
        "dataActionId" => Some(DATA_ACTION),
        "updatedTimestamp" => Some(TIMESTAMP),
        "payload" => Some(PAYLOAD),
        _ => None,
    };
    if !key.escaped {
        return by_name(raw);
    }
    // Rare: an escaped key such as "payl\u006fad" is still "payload".
    decode(raw, true).text.and_then(|name| by_name(&name))
}

/// Parses and validates a webhook body: `parseEvent` of `src/http/event.ts`, same verdicts.
pub fn parse_event(body: &[u8]) -> Result<Event<'_>, EventError> {
    if body.is_empty() {
        return Err(EMPTY_BODY);
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(NOT_UTF8);
    };
    match scan_document(body, text) {
        Ok(Some(top)) => validate(text, top),
        Ok(None) => Err(NOT_AN_OBJECT),
        Err(Stop::TooDeep) => Err(TOO_DEEP),
        // The TypeScript scans the raw bytes for depth before parsing: a malformed body that
        // also nests too deep somewhere (even after the syntax error) is "too deep".
        Err(Stop::Syntax) if !nesting_within(body, MAX_DEPTH as usize) => Err(TOO_DEEP),
        Err(Stop::Syntax) => Err(MALFORMED),
    }
}

/// The top-level object is one level, so payload may use MAX_PAYLOAD_DEPTH more.
const MAX_DEPTH: u32 = MAX_PAYLOAD_DEPTH as u32 + 1;

/// What the scan of a top-level object keeps.
struct TopLevel {
    slots: [Slot; 4],
    object: Range<usize>,
    unknown_fields: u32,
}

/// Checks the whole document's syntax and depth (JSON.parse and the pre-scan, in one pass):
/// the top-level object's layout, or None for a valid document that is not an object.
fn scan_document(body: &[u8], text: &str) -> Result<Option<TopLevel>, Stop> {
    let mut s = Scanner::new(body, MAX_DEPTH);
    s.skip_ws();
    let top = if s.peek() == Some(b'{') {
        Some(scan_top_object(&mut s, text)?)
    } else {
        s.value(0)?;
        None
    };
    s.skip_ws();
    if s.pos != body.len() {
        return Err(Stop::Syntax);
    }
    Ok(top)
}

/// The field rules, in the TypeScript order, on the last value of each field.
fn validate(text: &str, top: TopLevel) -> Result<Event<'_>, EventError> {
    let TopLevel {
        slots,
        object,
        unknown_fields,
    } = top;
    let interaction_id = id_value(text, &slots[INTERACTION], &INTERACTION_ID)?.0;
    let data_action_id = id_value(text, &slots[DATA_ACTION], &DATA_ACTION_ID)?.0;
    let (updated_timestamp, units) = id_value(text, &slots[TIMESTAMP], &UPDATED_TIMESTAMP)?;
    let timestamp =
        parse_with_utf16_len(updated_timestamp.as_bytes(), units).map_err(timestamp_error)?;
    let payload = match &slots[PAYLOAD].last {
        None => None,
        Some((Kind::Object, start, end)) => Some(*start..*end),
        Some(_) => return Err(PAYLOAD_NOT_AN_OBJECT),
    };

    let repeated_fields = slots.iter().any(|slot| slot.count > 1);
    Ok(Event {
        interaction_id,
        data_action_id,
        updated_timestamp,
        timestamp,
        payload,
        object,
        canonical: unknown_fields == 0 && slots.iter().all(|slot| slot.count == 1),
        unknown_fields,
        repeated_fields,
    })
}

/// The top-level object at `s.pos`: the contract fields' last values, the object's range and
/// the number of other members. Every value is validated; only the contract fields are kept.
/// `text` is the whole body (`s.b`) as a string.
fn scan_top_object(s: &mut Scanner<'_>, text: &str) -> Result<TopLevel, Stop> {
    let text_start = s.pos;
    let mut slots = [Slot::default(); 4];
    let mut unknown = 0u32;
    s.pos += 1;
    s.skip_ws();
    if s.peek() == Some(b'}') {
        s.pos += 1;
        return Ok(TopLevel {
            slots,
            object: text_start..s.pos,
            unknown_fields: 0,
        });
    }
    loop {
        if s.peek() != Some(b'"') {
            return Err(Stop::Syntax);
        }
        let key = s.string()?;
        s.skip_ws();
        s.expect(b':')?;
        s.skip_ws();
        let start = s.pos;
        let kind = s.value(1)?;
        match contract_field(text, key) {
            Some(i) => slots[i].set(kind, start, s.pos),
            None => unknown = unknown.saturating_add(1),
        }
        s.skip_ws();
        match s.peek() {
            Some(b',') => {
                s.pos += 1;
                s.skip_ws();
            }
            Some(b'}') => {
                s.pos += 1;
                return Ok(TopLevel {
                    slots,
                    object: text_start..s.pos,
                    unknown_fields: unknown,
                });
            }
            _ => return Err(Stop::Syntax),
        }
    }
}

/// TS `idFault` on a field's last value: its text and UTF-16 length, or the error.
fn id_value<'a>(
    text: &'a str,
    slot: &Slot,
    m: &IdMessages,
) -> Result<(Cow<'a, str>, usize), EventError> {
    let field = Some(m.field);
    let str = match &slot.last {
        None => return Err(invalid(m.required, field)),
        Some((Kind::String(str), _, _)) => *str,
        Some(_) => return Err(invalid(m.not_string, field)),
    };
    let raw = text.get(str.start..str.end).ok_or(MALFORMED)?;
    let decoded = decode(raw, str.escaped);
    if decoded.units == 0 {
        return Err(invalid(m.empty, field));
    }
    if decoded.units > m.max {
        return Err(invalid(m.too_long, field));
    }
    match decoded.text {
        Some(value) => Ok((value, decoded.units)),
        None => Err(invalid(m.lone_surrogate, field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyField;

    const TS: &str = "2026-01-15T10:30:00.123Z";

    fn body(id: &str, extra: &str) -> String {
        format!(
            r#"{{"interactionId":{id},"dataActionId":"da-9","updatedTimestamp":"{TS}"{extra}}}"#
        )
    }
    fn err(b: &str) -> (&'static str, &'static str, Option<&'static str>) {
        match parse_event(b.as_bytes()) {
            Ok(e) => panic!("{b:?} should fail, got {e:?}"),
            Err(e) => (e.reason.as_str(), e.message, e.field.map(Field::name)),
        }
    }
    fn ok(b: &str) -> Event<'_> {
        parse_event(b.as_bytes()).unwrap_or_else(|e| panic!("{b:?} should parse, got {e:?}"))
    }

    #[test]
    fn a_canonical_event_borrows_everything() {
        let b = format!(
            r#"{{"interactionId":"i-123","dataActionId":"da-9","updatedTimestamp":"{TS}","payload":{{"any":"object"}}}}"#
        );
        let e = ok(&b);
        assert!(matches!(e.interaction_id, Cow::Borrowed("i-123")));
        assert!(matches!(e.data_action_id, Cow::Borrowed("da-9")));
        assert!(matches!(e.updated_timestamp, Cow::Borrowed(TS)));
        assert_eq!(e.timestamp.epoch_ms(), 1_768_473_000_123);
        assert_eq!(&b[e.payload.clone().unwrap()], r#"{"any":"object"}"#);
        assert_eq!(e.object, 0..b.len());
        assert!(e.canonical && !e.repeated_fields);
        assert_eq!(e.unknown_fields, 0);
    }

    #[test]
    fn flags_for_the_lead() {
        let e = ok(" \n{\"payload\" : {} , \"x\":1,\"interactionId\":\"a\",\"dataActionId\":\"d\",\"updatedTimestamp\":\"2026-01-15T10:30:00Z\"}\r\n");
        assert_eq!(
            (e.canonical, e.unknown_fields, e.repeated_fields),
            (false, 1, false)
        );
        assert_eq!(e.payload, Some(15..17));
        assert_eq!(e.object, 2..e.object.end);
        let b = body("\"a\"", "");
        let e = ok(&b);
        assert_eq!((e.canonical, e.payload.clone()), (false, None));
        let b = body("5,\"interactionId\":\"z\"", ",\"payload\":{}");
        let e = ok(&b);
        assert_eq!(
            (e.canonical, e.repeated_fields, &*e.interaction_id),
            (false, true, "z")
        );
    }

    #[test]
    fn escaped_values_are_decoded_and_owned() {
        let b = body(r#""a\u00e9\ud83d\ude00\"""#, "");
        let e = ok(&b);
        assert!(matches!(e.interaction_id, Cow::Owned(_)));
        assert_eq!(e.interaction_id, "aé😀\"");
        // An escaped key names its field like the plain one.
        let b = format!(
            r#"{{"interaction\u0049d":"x","dataActionId":"d","updatedTimestamp":"{TS}","payl\u006fad":[]}}"#
        );
        assert_eq!(
            err(&b),
            (
                "invalid_event",
                "payload must be a JSON object",
                Some("payload")
            )
        );
    }

    #[test]
    fn body_level_errors_in_their_order() {
        assert_eq!(
            err(""),
            ("malformed_json", "malformed JSON: empty body", None)
        );
        assert_eq!(
            parse_event(&[0x7b, 0xc3, 0x28]).unwrap_err().message,
            "malformed JSON: body is not valid UTF-8"
        );
        assert_eq!(
            parse_event(&[0xed, 0xa0, 0x80]).unwrap_err().message,
            "malformed JSON: body is not valid UTF-8"
        );
        assert_eq!(err(" "), ("malformed_json", "malformed JSON", None));
        assert_eq!(
            err("\u{feff}{}"),
            ("malformed_json", "malformed JSON", None)
        );
        // Depth comes before syntax: a too-deep malformed body is "too deep".
        let deep = format!("{}x", "[".repeat(34));
        assert_eq!(
            err(&deep),
            (
                "invalid_event",
                "payload must not nest deeper than 32 levels",
                Some("payload")
            )
        );
        let shallow = format!("{}x", "[".repeat(33));
        assert_eq!(err(&shallow), ("malformed_json", "malformed JSON", None));
        for top in ["[]", "\"s\"", "42", "null", "true", " [1, {\"a\":2}] "] {
            assert_eq!(
                err(top),
                ("invalid_event", "body must be a JSON object", None),
                "{top}"
            );
        }
        for bad in [
            "[] x",
            "{} x",
            "{}}",
            "{\"a\":1,}",
            "{\"interactionId\":\"a\"",
            "nul",
        ] {
            assert_eq!(
                err(bad),
                ("malformed_json", "malformed JSON", None),
                "{bad}"
            );
        }
    }

    #[test]
    fn depth_is_found_on_either_side_of_a_syntax_error() {
        let deep = "[".repeat(34);
        // Too deep before the error: the parser stops at the 34th bracket.
        let b = format!(r#"{{"a":{deep}x"#);
        assert_eq!(err(&b).1, "payload must not nest deeper than 32 levels");
        // Too deep only after the error: the byte scan finds it.
        let b = format!(r#"{{"a":x,"b":{deep}"#);
        assert_eq!(err(&b).1, "payload must not nest deeper than 32 levels");
        // Inside an unterminated string the brackets do not count for either.
        let b = format!(r#"{{"a":"{deep}"#);
        assert_eq!(err(&b).1, "malformed JSON");
        // A valid document nesting 34 levels in an unknown field.
        let b = body("\"i\"", &format!(r#","x":{deep}{}"#, "]".repeat(34)));
        assert_eq!(err(&b).1, "payload must not nest deeper than 32 levels");
    }

    #[test]
    fn payload_depth_limit_is_32_levels() {
        let nest = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        let b = body("\"a\"", &format!(",\"payload\":{}", nest(32)));
        ok(&b);
        let b = body("\"a\"", &format!(",\"payload\":{}", nest(33)));
        assert_eq!(err(&b).1, "payload must not nest deeper than 32 levels");
        // Brackets inside strings do not count.
        let b = body(
            "\"a\"",
            &format!(",\"payload\":{{\"s\":\"{}\"}}", "[".repeat(100)),
        );
        ok(&b);
    }

    #[test]
    fn id_rules_in_order() {
        let msg = |id: &str| err(&body(id, "")).1;
        assert_eq!(
            err(&format!(
                r#"{{"dataActionId":"d","updatedTimestamp":"{TS}"}}"#
            ))
            .1,
            "interactionId is required"
        );
        assert_eq!(msg("null"), "interactionId must be a string");
        assert_eq!(msg("{}"), "interactionId must be a string");
        assert_eq!(msg("\"\""), "interactionId must not be empty");
        assert_eq!(
            msg(&format!("\"{}\"", "x".repeat(257))),
            "interactionId must be at most 256 characters"
        );
        ok(&body(&format!("\"{}\"", "x".repeat(256)), ""));
        // 128 astral characters are 256 UTF-16 units; 129 are too many.
        ok(&body(&format!("\"{}\"", "😀".repeat(128)), ""));
        assert_eq!(
            msg(&format!("\"{}\"", "😀".repeat(129))),
            "interactionId must be at most 256 characters"
        );
        assert_eq!(
            msg(r#""\ud800""#),
            "interactionId must be valid Unicode (no lone surrogates)"
        );
        // Length is checked before well-formedness.
        assert_eq!(
            msg(&format!("\"{}\\ud800\"", "x".repeat(256))),
            "interactionId must be at most 256 characters"
        );
        // interactionId before dataActionId before updatedTimestamp before payload.
        let b = r#"{"payload":1,"updatedTimestamp":5,"dataActionId":5,"interactionId":5}"#;
        assert_eq!(err(b).2, Some("interactionId"));
        let b = r#"{"payload":1,"updatedTimestamp":5,"dataActionId":5,"interactionId":"i"}"#;
        assert_eq!(
            err(b),
            (
                "invalid_event",
                "dataActionId must be a string",
                Some("dataActionId")
            )
        );
    }

    #[test]
    fn timestamp_rules() {
        let with_ts = |ts: &str| {
            format!(r#"{{"interactionId":"i","dataActionId":"d","updatedTimestamp":{ts}}}"#)
        };
        assert_eq!(err(&with_ts("1")).1, "updatedTimestamp must be a string");
        assert_eq!(
            err(&with_ts(&format!("\"{}\"", "1".repeat(65)))).1,
            "updatedTimestamp must be at most 64 characters"
        );
        assert_eq!(
            err(&with_ts(&format!("\"{}\"", "1".repeat(64)))).1,
            "updatedTimestamp must be an RFC 3339 date-time such as 2024-01-15T10:30:00.123Z or 2024-01-15T11:30:00+01:00 (too long)"
        );
        assert_eq!(
            err(&with_ts("\"2024-02-30T00:00:00Z\"")),
            (
                "invalid_event",
                "updatedTimestamp must be an RFC 3339 date-time such as 2024-01-15T10:30:00.123Z or 2024-01-15T11:30:00+01:00 (day out of range)",
                Some("updatedTimestamp")
            )
        );
        // Escapes are decoded before the timestamp is read.
        let e = ok(&with_ts(r#""2016-12-31T23:59:60\u002e5\u005a""#)).timestamp;
        assert!(e.leap && e.nanos == 500_000_000);
    }

    #[test]
    fn json_parse_oddities() {
        // __proto__ is a plain key, at the top and in the payload; numbers of any size.
        let b = body(
            "\"i\"",
            r#","__proto__":{"polluted":1},"payload":{"__proto__":1,"n":1e999,"m":-123456789012345678901234567890.5e-7}"#,
        );
        let e = ok(&b);
        assert_eq!(e.unknown_fields, 1);
        // Lone surrogates inside the payload are accepted, as JSON.parse does.
        ok(&body("\"i\"", r#","payload":{"\udc00":"\ud800"}"#));
        // The last duplicate wins, whatever the earlier ones were.
        ok(&body("\"i\"", r#","payload":[],"payload":{}"#));
        assert_eq!(
            err(&body("\"i\"", r#","payload":{},"payload":null"#)).1,
            "payload must be a JSON object"
        );
    }

    #[test]
    fn keys_from_events() {
        let b = body("\"abc\"", "");
        let e = ok(&b);
        let mut scratch = Vec::new();
        assert_eq!(e.key(&KeyFields::default(), &mut scratch), b"abc");
        let fields =
            KeyFields::new(&[KeyField::InteractionId, KeyField::UpdatedTimestamp]).unwrap();
        assert_eq!(
            e.key(&fields, &mut scratch),
            b"3:abc20:1768473000.123000000"
        );
    }

    #[test]
    fn messages_name_the_crate_constants() {
        assert_eq!(
            INTERACTION_ID.too_long,
            format!("interactionId must be at most {MAX_ID_LENGTH} characters")
        );
        assert_eq!(
            DATA_ACTION_ID.too_long,
            format!("dataActionId must be at most {MAX_ID_LENGTH} characters")
        );
        assert_eq!(
            UPDATED_TIMESTAMP.too_long,
            format!("updatedTimestamp must be at most {MAX_TIMESTAMP_LENGTH} characters")
        );
        assert_eq!(
            TOO_DEEP.message,
            format!("payload must not nest deeper than {MAX_PAYLOAD_DEPTH} levels")
        );
        assert_eq!(
            timestamp_error(TimestampFault::BadFormat).message,
            format!(
                "updatedTimestamp must be {} (bad format)",
                crate::TIMESTAMP_FORMAT_HINT
            )
        );
    }
}
