//! The nesting pre-scan of `src/json-depth.ts`, byte for byte. The TypeScript runs it on
//! the raw body before any JSON syntax is checked, so a too-deep body is reported as such even
//! when it is also malformed; `parse_event` enforces the same limit while parsing and calls
//! this only for malformed bodies. Outside strings it counts `{`/`[` up and `}`/`]` down
//! (unmatched closers included); inside a string a backslash skips the next byte.

/// True when no object/array in `body` nests deeper than `max_depth` levels (as the scan counts).
pub fn nesting_within(body: &[u8], max_depth: usize) -> bool {
    // The scanned depth never exceeds the number of opening brackets, strings or not: when there
    // are at most `max_depth` of them, the answer is known without the byte-by-byte scan.
    // (Counted in byte-wide lanes over blocks of at most 255 bytes, which the compiler vectorises.)
    let mut openers = 0usize;
    for block in body.chunks(255) {
        let n = block
            .iter()
            .fold(0u8, |n, &c| n + u8::from((c == b'{') | (c == b'[')));
        openers += usize::from(n);
    }
    if openers <= max_depth {
        return true;
    }
    scan(body, max_depth)
}

fn scan(body: &[u8], max_depth: usize) -> bool {
    let max = max_depth as i64;
    let mut depth: i64 = 0;
    let mut in_string = false;
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if in_string {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        } else if c == b'{' || c == b'[' {
            depth += 1;
            if depth > max {
                return false;
            }
        } else if c == b'}' || c == b']' {
            depth -= 1;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nest(depth: usize) -> String {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn limits_at_the_boundary() {
        assert!(nesting_within(nest(33).as_bytes(), 33));
        assert!(!nesting_within(nest(34).as_bytes(), 33));
        assert!(nesting_within(b"", 0));
        assert!(!nesting_within(b"{", 0));
    }

    #[test]
    fn brackets_in_strings_do_not_count_and_escapes_skip_a_byte() {
        let inside = format!("{{\"a\":\"{}\"}}", "[".repeat(100));
        assert!(nesting_within(inside.as_bytes(), 1));
        // \" does not end the string, so the brackets after it are still inside.
        let escaped = format!("[\"\\\"{}\"]", "{".repeat(50));
        assert!(nesting_within(escaped.as_bytes(), 1));
        // \\ ends the escape; the quote after it closes the string.
        let closed = format!("[\"\\\\\"{}]", "[".repeat(50));
        assert!(!nesting_within(closed.as_bytes(), 33));
    }

    #[test]
    fn unmatched_closers_lower_the_depth_like_the_ts_scan() {
        let s = format!("{}{}", "]".repeat(10), "[".repeat(40));
        assert!(nesting_within(s.as_bytes(), 33)); // -10 + 40 = 30
        let s = format!("{}{}", "]".repeat(5), "[".repeat(40));
        assert!(!nesting_within(s.as_bytes(), 33));
        // Malformed bodies are scanned too: an unterminated string hides everything after it.
        let s = format!("\"{}", "[".repeat(40));
        assert!(nesting_within(s.as_bytes(), 33));
    }

    #[test]
    fn the_opener_count_spans_blocks() {
        // 300 openers inside one string: more than a block's 255, so the fast path is not taken.
        let s = format!("\"{}\"", "[".repeat(300));
        assert!(nesting_within(s.as_bytes(), 33));
        let s = format!("{}{}", " ".repeat(250), "[".repeat(34));
        assert!(!nesting_within(s.as_bytes(), 33));
    }

    #[test]
    fn the_fast_path_agrees_with_the_scan() {
        for body in [
            &b"[[[\"[[[[\"]]]"[..],
            b"{\"a\":[{\"b\":[1]}]}",
            b"[[[[[",
            b"]]]][[[[[[",
        ] {
            for max in 0..8 {
                assert_eq!(
                    nesting_within(body, max),
                    scan(body, max),
                    "{:?} {max}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }
}
