//! The differential vectors of test/vectors/webhook.json, generated from the TypeScript
//! reference (test/vectors/webhook-corpus.ts): every verdict, message, field, extracted value,
//! instant, byte range, flag and key must agree. `WEBHOOK_VECTORS=<path>` checks another
//! (e.g. a larger, uncommitted) vectors file instead.

use std::fmt::Write as _;

use cxone_webhook::{parse_event, parse_timestamp, write_key, KeyField, KeyFields, Timestamp};
use serde_json::Value;

fn load() -> Value {
    let path = std::env::var("WEBHOOK_VECTORS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../test/vectors/webhook.json"
        )
        .to_owned()
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn field_lists(v: &Value) -> Vec<KeyFields> {
    v["keyFieldLists"]
        .as_array()
        .expect("keyFieldLists")
        .iter()
        .map(|list| {
            let names: Vec<&str> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect();
            KeyFields::from_names(&names).expect("a valid field list")
        })
        .collect()
}

fn instant(v: &Value) -> (i64, bool, u32, i64) {
    (
        v["epochSeconds"].as_i64().expect("epochSeconds"),
        v["leap"].as_bool().expect("leap"),
        v["nanos"].as_u64().expect("nanos") as u32,
        v["epochMs"].as_i64().expect("epochMs"),
    )
}

fn ours(t: &Timestamp) -> (i64, bool, u32, i64) {
    (t.epoch_seconds, t.leap, t.nanos, t.epoch_ms())
}

fn range(v: &Value) -> Option<std::ops::Range<usize>> {
    let a = v.as_array()?;
    Some(a[0].as_u64().unwrap() as usize..a[1].as_u64().unwrap() as usize)
}

fn xxh64_hex(bytes: &[u8]) -> String {
    format!("{:016x}", cxone_bloom::key_hash(bytes))
}

/// Runs `check` on every case, then fails once with the first disagreements listed.
fn each<'v>(
    cases: &'v [Value],
    what: &str,
    mut check: impl FnMut(&'v Value) -> Result<(), String>,
) {
    let mut failures = Vec::new();
    for case in cases {
        if let Err(why) = check(case) {
            failures.push(why);
        }
    }
    if !failures.is_empty() {
        let mut msg = format!(
            "{} of {} {what} disagree with the TypeScript:\n",
            failures.len(),
            cases.len()
        );
        for f in failures.iter().take(25) {
            let _ = writeln!(msg, "  {f}");
        }
        panic!("{msg}");
    }
}

macro_rules! same {
    ($name:expr, $what:literal, $ours:expr, $theirs:expr) => {
        if $ours != $theirs {
            return Err(format!(
                "{}: {}: ours {:?}, TypeScript {:?}",
                $name, $what, $ours, $theirs
            ));
        }
    };
}

#[test]
fn events_agree_with_parse_event() {
    let v = load();
    let lists = field_lists(&v);
    let events = v["events"].as_array().expect("events");
    assert!(events.len() >= 2000, "only {} event vectors", events.len());
    let valid = events.iter().filter(|e| e["ok"] == true).count();
    assert!(valid >= 400, "only {valid} valid events");
    let mut scratch = Vec::new();
    each(events, "events", |case| {
        let name = case["name"].as_str().unwrap();
        let body = match (case["text"].as_str(), case["hex"].as_str()) {
            (Some(text), _) => text.as_bytes().to_vec(),
            (None, Some(h)) => hex(h),
            _ => return Err(format!("{name}: no body")),
        };
        match (parse_event(&body), case["ok"].as_bool().unwrap()) {
            (Err(e), false) => {
                same!(
                    name,
                    "reason",
                    e.reason.as_str(),
                    case["reason"].as_str().unwrap()
                );
                same!(
                    name,
                    "message",
                    e.message,
                    case["message"].as_str().unwrap()
                );
                same!(
                    name,
                    "field",
                    e.field.map(|f| f.name()),
                    case["field"].as_str()
                );
            }
            (Ok(e), true) => {
                same!(
                    name,
                    "interactionId",
                    &*e.interaction_id,
                    case["interactionId"].as_str().unwrap()
                );
                same!(
                    name,
                    "dataActionId",
                    &*e.data_action_id,
                    case["dataActionId"].as_str().unwrap()
                );
                same!(
                    name,
                    "updatedTimestamp",
                    &*e.updated_timestamp,
                    case["updatedTimestamp"].as_str().unwrap()
                );
                same!(
                    name,
                    "instant",
                    ours(&e.timestamp),
                    instant(&case["timestamp"])
                );
                same!(
                    name,
                    "payload range",
                    e.payload.clone(),
                    range(&case["payload"])
                );
                same!(
                    name,
                    "object range",
                    Some(e.object.clone()),
                    range(&case["object"])
                );
                same!(
                    name,
                    "canonical",
                    e.canonical,
                    case["canonical"].as_bool().unwrap()
                );
                same!(
                    name,
                    "unknownFields",
                    u64::from(e.unknown_fields),
                    case["unknownFields"].as_u64().unwrap()
                );
                same!(
                    name,
                    "repeatedFields",
                    e.repeated_fields,
                    case["repeatedFields"].as_bool().unwrap()
                );
                for k in case["keys"].as_array().unwrap() {
                    let fields = &lists[k[0].as_u64().unwrap() as usize];
                    let key = e.key(fields, &mut scratch);
                    same!(
                        name,
                        "key",
                        String::from_utf8_lossy(key),
                        k[1].as_str().unwrap()
                    );
                    same!(name, "key hash", xxh64_hex(key), k[2].as_str().unwrap());
                }
            }
            (Ok(e), false) => {
                return Err(format!(
                    "{name}: accepted ({:?}), TypeScript: {}",
                    e.interaction_id, case["message"]
                ))
            }
            (Err(e), true) => {
                return Err(format!(
                    "{name}: rejected ({}), TypeScript accepted it",
                    e.message
                ))
            }
        }
        Ok(())
    });
}

#[test]
fn timestamps_agree_with_parse_timestamp() {
    let v = load();
    let cases = v["timestamps"].as_array().expect("timestamps");
    assert!(
        cases.len() >= 1000,
        "only {} timestamp vectors",
        cases.len()
    );
    each(cases, "timestamps", |case| {
        let input = case["input"].as_str().unwrap();
        let name = format!("{input:?}");
        match (parse_timestamp(input), case["ok"].as_bool().unwrap()) {
            (Ok(t), true) => {
                same!(name, "instant", ours(&t), instant(case));
                same!(name, "timestampKey", t.key(), case["key"].as_str().unwrap());
            }
            (Err(f), false) => same!(name, "fault", f.as_str(), case["fault"].as_str().unwrap()),
            (Ok(t), false) => {
                return Err(format!(
                    "{name}: parsed as {t:?}, TypeScript: {}",
                    case["fault"]
                ))
            }
            (Err(f), true) => return Err(format!("{name}: {f}, TypeScript parsed it")),
        }
        Ok(())
    });
}

#[test]
fn keys_agree_with_key_builder_for_every_field_list() {
    let v = load();
    let lists = field_lists(&v);
    assert_eq!(lists.len(), 15, "every ordered list of distinct fields");
    for list in &lists {
        assert!(list.as_slice().iter().all(|f| KeyField::ALL.contains(f)));
    }
    let cases = v["keys"].as_array().expect("keys");
    assert!(cases.len() >= 5);
    each(cases, "key inputs", |case| {
        let id = case["interactionId"].as_str().unwrap();
        let da = case["dataActionId"].as_str().unwrap();
        let ts = parse_timestamp(case["updatedTimestamp"].as_str().unwrap())
            .map_err(|f| f.to_string())?;
        for (fields, expected) in lists.iter().zip(case["keys"].as_array().unwrap()) {
            let name = format!("{id:?}/{da:?} {:?}", fields.as_slice());
            let mut out = Vec::new();
            write_key(fields, id, da, &ts, &mut out);
            same!(
                name,
                "key",
                String::from_utf8_lossy(&out),
                expected[0].as_str().unwrap()
            );
            same!(
                name,
                "key hash",
                xxh64_hex(&out),
                expected[1].as_str().unwrap()
            );
        }
        Ok(())
    });
}
