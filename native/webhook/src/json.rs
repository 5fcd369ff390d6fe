//! A validating single-pass JSON scanner over bytes that are already known to be UTF-8,
//! accepting exactly what `JSON.parse` accepts (ECMA-404 / RFC 8259 grammar):
//! - whitespace is only space, tab, LF and CR (no BOM, no NBSP);
//! - strings: no raw control characters below U+0020; escapes `\" \\ \/ \b \f \n \r \t` and
//!   `\uXXXX` with any hex digits, lone surrogates included (JSON.parse accepts them);
//! - numbers `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, of any size (V8 rounds, we skip);
//! - `true`, `false`, `null`; any value at the top level.
//!
//! It builds nothing: values are skipped, strings reported as byte ranges.

/// Why a scan stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A syntax error: the body is not JSON.
    Syntax,
    /// An object or array opened deeper than the scanner's `max_depth`. Everything before it
    /// was valid JSON, so `nesting_within` (the TypeScript pre-scan) counts the same depth at
    /// the same byte and fails there too.
    TooDeep,
}

/// A string token: the bytes between its quotes, and whether any escape occurs in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Str {
    pub start: usize,
    pub end: usize,
    pub escaped: bool,
}

/// What a scanned value was, as far as the event rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String(Str),
    Object,
    Array,
    /// A number, `true`, `false` or `null`.
    Scalar,
}

pub(crate) struct Scanner<'a> {
    pub b: &'a [u8],
    pub pos: usize,
    /// Deepest nesting allowed (the top-level value's own brackets are level 1); also bounds
    /// the recursion.
    max_depth: u32,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of each byte of `w` that is `"`, `\` or below 0x20. Borrows can only mark bytes above
/// (later than) a real match, so the lowest set bit is exact.
#[inline(always)]
fn specials(w: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
}

#[inline(always)]
fn is_special(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

impl<'a> Scanner<'a> {
    pub fn new(b: &'a [u8], max_depth: u32) -> Self {
        Scanner {
            b,
            pos: 0,
            max_depth,
        }
    }

    #[inline(always)]
    pub fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline(always)]
    pub fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Consumes `c` or fails.
    #[inline(always)]
    pub fn expect(&mut self, c: u8) -> Result<(), Stop> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Stop::Syntax)
        }
    }

    /// A string starting at `pos` (which must hold `"`); leaves `pos` after the closing quote.
    #[inline(always)]
    pub fn string(&mut self) -> Result<Str, Stop> {
        let b = self.b;
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            // Eight bytes at a time to the next quote, backslash or control character.
            while let Some(chunk) = b.get(i..i + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let hits = specials(u64::from_le_bytes(word));
                if hits != 0 {
                    i += (hits.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            while i < b.len() && !is_special(b[i]) {
                i += 1;
            }
            match b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Str {
                        start,
                        end: i,
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    match b.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        Some(b'u') => match b.get(i + 2..i + 6) {
                            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => i += 6,
                            _ => return Err(Stop::Syntax),
                        },
                        _ => return Err(Stop::Syntax),
                    }
                }
                // A raw control character, or the end of the body inside the string.
                _ => return Err(Stop::Syntax),
            }
        }
    }

    /// Any value starting at `pos` (after whitespace); `depth` is the nesting it sits in.
    pub fn value(&mut self, depth: u32) -> Result<Kind, Stop> {
        match self.peek() {
            Some(b'"') => self.string().map(Kind::String),
            Some(b'{') => self.object(depth + 1).map(|()| Kind::Object),
            Some(b'[') => self.array(depth + 1).map(|()| Kind::Array),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Stop::Syntax),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<Kind, Stop> {
        if self.b.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(Kind::Scalar)
        } else {
            Err(Stop::Syntax)
        }
    }

    fn number(&mut self) -> Result<Kind, Stop> {
        let b = self.b;
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = skip_digits(b, i + 1),
            _ => return Err(Stop::Syntax),
        }
        if b.get(i) == Some(&b'.') {
            let end = skip_digits(b, i + 1);
            if end == i + 1 {
                return Err(Stop::Syntax);
            }
            i = end;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let end = skip_digits(b, i);
            if end == i {
                return Err(Stop::Syntax);
            }
            i = end;
        }
        // What follows (a delimiter or not) is the caller's grammar to check: "01" fails there.
        self.pos = i;
        Ok(Kind::Scalar)
    }

    /// An object at `pos` (`{`), nested `depth` levels deep counting itself.
    pub fn object(&mut self, depth: u32) -> Result<(), Stop> {
        if depth > self.max_depth {
            return Err(Stop::TooDeep);
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(Stop::Syntax);
            }
            self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            self.value(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Stop::Syntax),
            }
        }
    }

    fn array(&mut self, depth: u32) -> Result<(), Stop> {
        if depth > self.max_depth {
            return Err(Stop::TooDeep);
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Stop::Syntax),
            }
        }
    }
}

fn skip_digits(b: &[u8], mut i: usize) -> usize {
    while let Some(b'0'..=b'9') = b.get(i) {
        i += 1;
    }
    i
}

/// True when `text` is exactly one JSON value with optional surrounding whitespace
/// (what `JSON.parse` accepts).
#[cfg(test)]
pub(crate) fn is_valid_json(text: &[u8]) -> bool {
    let mut s = Scanner::new(text, 64);
    s.skip_ws();
    if s.value(0).is_err() {
        return false;
    }
    s.skip_ws();
    s.pos == text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_json_parse_accepts() {
        for ok in [
            "0",
            "-0",
            "1",
            "-1",
            "10",
            "1.5",
            "-1.5e10",
            "1E+2",
            "1e-2",
            "1e999",
            "123456789012345678901234567890",
            "0.0",
            "0e0",
            "true",
            "false",
            "null",
            "\"\"",
            "\"a\"",
            " \t\n\r1 \r\n",
            "[]",
            "{}",
            "[1,2,[3,{}]]",
            "{\"a\":1,\"a\":2}",
            "{\"__proto__\":{\"x\":1}}",
            "\"\\ud800\"",
            "\"\\uDC00\\ud800x\"",
            "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uABCD\"",
            "\"\u{7f}\u{2028}\u{2029}é😀\"",
            "{ \"a\" : [ 1 , 2 ] }",
            "[\"0123456789abcdef0123\\\"\"]",
        ] {
            assert!(is_valid_json(ok.as_bytes()), "{ok:?} should be accepted");
        }
    }

    #[test]
    fn rejects_what_json_parse_rejects() {
        for bad in [
            "",
            " ",
            "01",
            "-01",
            "00",
            "1.",
            ".5",
            "-",
            "+1",
            "1e",
            "1e+",
            "0x1",
            "1.e5",
            "NaN",
            "Infinity",
            "-Infinity",
            "tru",
            "truex",
            "nul",
            "True",
            "\"",
            "\"abc",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12G4\"",
            "\"\\U0041\"",
            "\"a\u{1}b\"",
            "\"tab\there\"",
            "\"\n\"",
            "[1,]",
            "[,1]",
            "{\"a\":1,}",
            "{,}",
            "{\"a\"}",
            "{\"a\" 1}",
            "{a:1}",
            "{'a':1}",
            "[1 2]",
            "[1",
            "{",
            "}",
            "]",
            "1 2",
            "{}{}",
            "{\"a\":1}//c",
            "\u{feff}{}",
            "\u{a0}1",
            "1\u{b}",
            "\u{c}1",
            "[1]]",
            "\"\\",
            "\"\\u",
        ] {
            assert!(!is_valid_json(bad.as_bytes()), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn strings_report_their_content_range_and_escapes() {
        let mut s = Scanner::new(b"\"abc\" ", 64);
        assert_eq!(
            s.string(),
            Ok(Str {
                start: 1,
                end: 4,
                escaped: false
            })
        );
        assert_eq!(s.pos, 5);
        let mut s = Scanner::new(b"\"a\\nb\"", 64);
        assert_eq!(
            s.string(),
            Ok(Str {
                start: 1,
                end: 5,
                escaped: true
            })
        );
        // Long enough for the eight-byte path, with the quote at each position of a word.
        for n in 0..40 {
            let text = format!("\"{}\"", "x".repeat(n));
            let mut s = Scanner::new(text.as_bytes(), 64);
            assert_eq!(
                s.string(),
                Ok(Str {
                    start: 1,
                    end: n + 1,
                    escaped: false
                }),
                "{n}"
            );
            let text = format!("\"{}\\\"{}\"", "é".repeat(n), "y".repeat(n));
            let mut s = Scanner::new(text.as_bytes(), 64);
            assert_eq!(
                s.string().map(|t| (t.end, t.escaped)),
                Ok((text.len() - 1, true)),
                "{n}"
            );
            let text = format!("\"{}\u{1f}\"", "z".repeat(n));
            assert!(Scanner::new(text.as_bytes(), 64).string().is_err(), "{n}");
        }
    }

    #[test]
    fn the_word_test_finds_exactly_the_special_bytes() {
        for c in 0u8..=255 {
            let expected = c == b'"' || c == b'\\' || c < 0x20;
            for at in 0..8 {
                let mut w = [b'a'; 8];
                w[at] = c;
                let hits = specials(u64::from_le_bytes(w));
                assert_eq!(hits != 0, expected, "byte {c:#x} at {at}");
                if expected {
                    assert_eq!(hits.trailing_zeros() / 8, at as u32);
                }
            }
        }
        // Several specials and high bytes in one word: the first one is found.
        let w = u64::from_le_bytes([0xff, 0x80, 0x1f, b'"', 0x00, b'\\', 0xc3, 0xa9]);
        assert_eq!(specials(w).trailing_zeros() / 8, 2);
    }
}
