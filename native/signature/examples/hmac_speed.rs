//! Rough timing of one HMAC-SHA256 over a ~300-byte body (not a test; `cargo run --release --example hmac_speed`).
use std::time::Instant;
fn main() {
    let key = b"bench-secret-0123456789abcdef";
    let body = vec![b'x'; 300];
    let sig = cxone_signature::encode_hex(&cxone_signature::sign(key, b"", &body));
    let n = 1_000_000;
    let t = Instant::now();
    let mut ok = 0;
    for _ in 0..n {
        if cxone_signature::verify_hex(key, b"", std::hint::black_box(&body), &sig) {
            ok += 1;
        }
    }
    println!("verify_hex: {:.0} ns ({ok})", t.elapsed().as_nanos() as f64 / n as f64);
    let keyed = cxone_signature::KeyedHmac::new(key);
    let t = Instant::now();
    for _ in 0..n {
        if keyed.verify_hex(b"", std::hint::black_box(&body), &sig) {
            ok += 1;
        }
    }
    println!("KeyedHmac::verify_hex: {:.0} ns ({ok})", t.elapsed().as_nanos() as f64 / n as f64);
}
