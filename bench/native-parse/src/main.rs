//! `parse_event` of cxone-webhook against serde_json, sonic-rs and simd-json on the ~300-byte
//! event of issue 12, each doing the same job (the three ids borrowed where possible, the payload
//! kept as raw text or a tree, the timestamp parsed with cxone-webhook's parser), then a table of
//! how each one treats the JSON.parse details that decide the daemon's verdicts.
//!
//!     cargo run --release --manifest-path bench/native-parse/Cargo.toml
//!     cargo build --release --manifest-path bench/native-parse/Cargo.toml &&
//!       perf stat -e task-clock bench/native-parse/target/release/native-parse-bench ours 2000000
//!       (one parser, N times: CPU time per parse; also `serde`, `sonic`, `simd`, `none`)
//!
//! Times are the best of 300 batches of 2,000 calls: compare rows of one run.

use std::borrow::Cow;
use std::hint::black_box;
use std::time::Instant;

use serde::Deserialize;

const EVENT_300: &str = concat!(
    r#"{"interactionId":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","dataActionId":"da-0000042","#,
    r#""updatedTimestamp":"2026-01-15T10:30:00.123Z","payload":{"agentId":"agent-00417","#,
    r#""skill":"billing-support","state":"Active","queue":"emea-tier-2","#,
    r#""note":"customer asked for a callback after 17:00 local time"}}"#
);

#[derive(Deserialize)]
struct SerdeEv<'a> {
    #[serde(borrow, rename = "interactionId")]
    interaction_id: Cow<'a, str>,
    #[serde(borrow, rename = "dataActionId")]
    data_action_id: Cow<'a, str>,
    #[serde(borrow, rename = "updatedTimestamp")]
    updated_timestamp: Cow<'a, str>,
    #[serde(borrow)]
    payload: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize)]
struct SonicEv<'a> {
    #[serde(borrow, rename = "interactionId")]
    interaction_id: Cow<'a, str>,
    #[serde(borrow, rename = "dataActionId")]
    data_action_id: Cow<'a, str>,
    #[serde(borrow, rename = "updatedTimestamp")]
    updated_timestamp: Cow<'a, str>,
    #[serde(borrow)]
    payload: Option<sonic_rs::LazyValue<'a>>,
}

fn time<R>(label: &str, mut f: impl FnMut() -> R) {
    for _ in 0..20_000 {
        black_box(f());
    }
    let mut best = f64::INFINITY;
    for _ in 0..300 {
        let start = Instant::now();
        for _ in 0..2_000 {
            black_box(f());
        }
        best = best.min(start.elapsed().as_nanos() as f64 / 2000.0);
    }
    println!("{label:<62} {best:>7.1} ns");
}

fn serde_parse(b: &[u8]) -> Option<(usize, i64)> {
    let e: SerdeEv = serde_json::from_slice(b).ok()?;
    let t = cxone_webhook::parse_timestamp(&e.updated_timestamp).ok()?;
    Some((
        e.interaction_id.len() + e.data_action_id.len() + e.payload.map_or(0, |p| p.get().len()),
        t.epoch_seconds,
    ))
}
fn sonic_parse(b: &[u8]) -> Option<(usize, i64)> {
    let e: SonicEv = sonic_rs::from_slice(b).ok()?;
    let t = cxone_webhook::parse_timestamp(&e.updated_timestamp).ok()?;
    Some((
        e.interaction_id.len()
            + e.data_action_id.len()
            + e.payload.map_or(0, |p| p.as_raw_str().len()),
        t.epoch_seconds,
    ))
}
fn simd_parse(buf: &mut Vec<u8>, b: &[u8]) -> Option<(usize, i64)> {
    buf.clear();
    buf.extend_from_slice(b);
    simd_tree(buf)
}
fn simd_tree(buf: &mut [u8]) -> Option<(usize, i64)> {
    use simd_json::prelude::*;
    let v = simd_json::to_borrowed_value(buf).ok()?;
    let o = v.as_object()?;
    let id = o.get("interactionId")?.as_str()?;
    let da = o.get("dataActionId")?.as_str()?;
    let ts = o.get("updatedTimestamp")?.as_str()?;
    let t = cxone_webhook::parse_timestamp(ts).ok()?;
    let p = o.get("payload").map_or(true, |p| p.is_object());
    if !p {
        return None;
    }
    Some((id.len() + da.len(), t.epoch_seconds))
}

fn main() {
    let b = EVENT_300.as_bytes();
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 {
        // perf stat mode: run one parser N times.
        let n: u64 = args[2].parse().unwrap();
        let mut buf = Vec::with_capacity(1024);
        let mut acc = 0usize;
        for _ in 0..n {
            acc += match args[1].as_str() {
                "ours" => {
                    cxone_webhook::parse_event(black_box(b)).map_or(0, |e| e.interaction_id.len())
                }
                "serde" => serde_parse(black_box(b)).map_or(0, |x| x.0),
                "sonic" => sonic_parse(black_box(b)).map_or(0, |x| x.0),
                "simd" => simd_parse(&mut buf, black_box(b)).map_or(0, |x| x.0),
                "none" => black_box(b).len(),
                _ => panic!("which?"),
            };
        }
        println!("{acc}");
        return;
    }
    println!("{} bytes", b.len());
    assert!(serde_parse(b).is_some() && sonic_parse(b).is_some());
    let mut buf = Vec::with_capacity(1024);
    assert!(simd_parse(&mut buf, b).is_some());
    time(
        "cxone-webhook parse_event (JSON.parse-exact, flags, ranges)",
        || cxone_webhook::parse_event(black_box(b)),
    );
    time(
        "serde_json from_slice, borrowed struct + RawValue payload + ts",
        || serde_parse(black_box(b)),
    );
    time(
        "sonic-rs from_slice, borrowed struct + LazyValue payload + ts",
        || sonic_parse(black_box(b)),
    );
    time(
        "simd-json to_borrowed_value (copy, tree) + fields + ts",
        || simd_parse(&mut buf, black_box(b)),
    );
    time(
        "serde_json::from_slice::<serde_json::Value> (owned tree)",
        || serde_json::from_slice::<serde_json::Value>(black_box(b)).is_ok(),
    );

    // Compatibility with JSON.parse on the points that matter.
    // (name, body, what parseEvent answers)
    let cases: &[(&str, &str, &str)] = &[
        ("lone surrogate in payload", r#"{"interactionId":"i","dataActionId":"d","updatedTimestamp":"2026-01-15T10:30:00Z","payload":{"s":"\ud800"}}"#, "accept"),
        ("lone surrogate in payload key", r#"{"interactionId":"i","dataActionId":"d","updatedTimestamp":"2026-01-15T10:30:00Z","payload":{"\udc00":1}}"#, "accept"),
        ("lone surrogate in unknown top key", r#"{"\ud800":1,"interactionId":"i","dataActionId":"d","updatedTimestamp":"2026-01-15T10:30:00Z"}"#, "accept"),
        ("duplicate interactionId (last wins)", r#"{"interactionId":5,"interactionId":"i","dataActionId":"d","updatedTimestamp":"2026-01-15T10:30:00Z"}"#, "accept"),
        ("1e999 in payload", r#"{"interactionId":"i","dataActionId":"d","updatedTimestamp":"2026-01-15T10:30:00Z","payload":{"n":1e999}}"#, "accept"),
        ("escaped key payl\\u006fad", r#"{"interactionId":"i","dataActionId":"d","updatedTimestamp":"2026-01-15T10:30:00Z","payl\u006fad":{}}"#, "accept"),
        ("raw control char in payload string", "{\"interactionId\":\"i\",\"dataActionId\":\"d\",\"updatedTimestamp\":\"2026-01-15T10:30:00Z\",\"payload\":{\"s\":\"a\u{1}b\"}}", "malformed"),
        ("leading zero 01 in payload", r#"{"interactionId":"i","dataActionId":"d","updatedTimestamp":"2026-01-15T10:30:00Z","payload":{"n":01}}"#, "malformed"),
        ("interactionId lone surrogate", r#"{"interactionId":"\ud800","dataActionId":"d","updatedTimestamp":"2026-01-15T10:30:00Z"}"#, "invalid"),
    ];
    println!(
        "\n{:<40} {:>10} {:>10} {:>8} {:>8} {:>8}",
        "JSON.parse details", "parseEvent", "ours", "serde", "sonic", "simd"
    );
    for (name, body, ts) in cases {
        let b = body.as_bytes();
        let v = |r: bool| if r { "accept" } else { "reject" };
        let ours = match cxone_webhook::parse_event(b) {
            Ok(_) => "accept",
            Err(e) if e.reason == cxone_webhook::Reason::MalformedJson => "malformed",
            Err(_) => "invalid",
        };
        println!(
            "{name:<40} {ts:>10} {ours:>10} {:>8} {:>8} {:>8}",
            v(serde_json::from_slice::<SerdeEv>(b).is_ok()),
            v(sonic_rs::from_slice::<SonicEv>(b).is_ok()),
            v({
                let mut m = b.to_vec();
                simd_tree(&mut m).is_some()
            }),
        );
    }
}
