//! Time per `parse_event` on typical bodies (prints numbers; asserts nothing).
//!
//!     cargo run --release --manifest-path native/Cargo.toml -p cxone-webhook --example parse_speed
//!
//! Each figure is the best of 300 short batches (ns per call), so that a noisy shared machine
//! shows its quiet moments; compare rows of one run, not runs.

use std::hint::black_box;
use std::time::Instant;

use cxone_webhook::{nesting_within, parse_event, KeyField, KeyFields};

/// ~300 bytes, a payload of five string fields (issue 12's event).
const EVENT_300: &str = concat!(
    r#"{"interactionId":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","dataActionId":"da-0000042","#,
    r#""updatedTimestamp":"2026-01-15T10:30:00.123Z","payload":{"agentId":"agent-00417","#,
    r#""skill":"billing-support","state":"Active","queue":"emea-tier-2","#,
    r#""note":"customer asked for a callback after 17:00 local time"}}"#
);

/// bench/lib/bodies.ts's ~230-byte event (JSON.stringify output).
const EVENT_230: &str = concat!(
    r#"{"interactionId":"run1-123456","dataActionId":"da-3","updatedTimestamp":"2026-01-01T00:00:00.123Z","#,
    r#""payload":{"agentId":"agent-123","skill":"sales","state":"Active","seq":123}}"#
);

fn time<R>(label: &str, bytes: usize, mut f: impl FnMut() -> R) -> f64 {
    const BATCHES: usize = 300;
    const PER_BATCH: u32 = 2_000;
    for _ in 0..PER_BATCH {
        black_box(f());
    }
    let mut best = f64::INFINITY;
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..PER_BATCH {
            black_box(f());
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(PER_BATCH));
    }
    println!(
        "{label:<58} {bytes:>5} B  {best:>7.1} ns  ({:.2} GB/s)",
        bytes as f64 / best
    );
    best
}

fn main() {
    let body = EVENT_300.as_bytes();
    let event = parse_event(body).expect("the sample event is valid");
    assert!(event.canonical);
    let with_escapes = EVENT_300
        .replace("agent-00417", "agent-\\u00e9\\n")
        .replace("3f2504e0", "3f2504\\u0065\\u0030");
    let with_ws = serde_like_pretty(EVENT_300);
    let deep_payload = EVENT_300.replace(
        r#""state":"Active""#,
        &format!(r#""state":{}"Active"{}"#, "[".repeat(30), "]".repeat(30)),
    );
    // More than 33 opening brackets (inside a string): the depth check must scan byte by byte.
    let brackets = EVENT_300.replace("after 17:00", &"[".repeat(40));
    let by_time = KeyFields::new(&[KeyField::InteractionId, KeyField::UpdatedTimestamp]).unwrap();
    let mut scratch = Vec::with_capacity(128);

    println!("cxone-webhook parse_event, best of 300 batches of 2,000 calls");
    time(
        "parse_event, ~300 B event, 5 string payload fields",
        body.len(),
        || parse_event(black_box(body)),
    );
    time(
        "  + default key (interactionId) + XXH64",
        body.len(),
        || {
            let e = parse_event(black_box(body)).ok()?;
            Some(cxone_bloom::key_hash(
                e.key(&KeyFields::default(), &mut Vec::new()),
            ))
        },
    );
    time(
        "  + key interactionId,updatedTimestamp + XXH64",
        body.len(),
        || {
            let e = parse_event(black_box(body)).ok()?;
            Some(cxone_bloom::key_hash(e.key(&by_time, &mut scratch)))
        },
    );
    time(
        "parse_event, ~230 B bench event (bench/lib/bodies.ts)",
        EVENT_230.len(),
        || parse_event(black_box(EVENT_230.as_bytes())),
    );
    time(
        "parse_event, escapes in the id and payload",
        with_escapes.len(),
        || parse_event(black_box(with_escapes.as_bytes())),
    );
    time(
        "parse_event, pretty-printed (whitespace everywhere)",
        with_ws.len(),
        || parse_event(black_box(with_ws.as_bytes())),
    );
    time(
        "parse_event, 30-level array in the payload",
        deep_payload.len(),
        || parse_event(black_box(deep_payload.as_bytes())),
    );
    time(
        "parse_event, 40 brackets in a payload string",
        brackets.len(),
        || parse_event(black_box(brackets.as_bytes())),
    );
    time(
        "parse_event, malformed (truncated by one byte)",
        body.len() - 1,
        || parse_event(black_box(&body[..body.len() - 1])),
    );
    println!("parts");
    time(
        "  std::str::from_utf8 (the UTF-8 check)",
        body.len(),
        || std::str::from_utf8(black_box(body)).is_ok(),
    );
    time(
        "  nesting_within (opener count, fast path)",
        body.len(),
        || nesting_within(black_box(body), 33),
    );
    time("  nesting_within (byte scan)", brackets.len(), || {
        nesting_within(black_box(brackets.as_bytes()), 33)
    });
    time("  timestamp parse", 24, || {
        cxone_webhook::parse_timestamp(black_box("2026-01-15T10:30:00.123Z"))
    });
    time("  XXH64 of a 36-byte id", 36, || {
        cxone_bloom::key_hash(black_box(&body[18..54]))
    });
}

/// The event with a space or newline around every token, as a pretty-printer would leave it.
fn serde_like_pretty(compact: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in compact.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                out.push_str("\n  ");
            }
            '}' | ']' => {
                out.push('\n');
                out.push(c);
            }
            ',' => out.push_str(",\n  "),
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}
