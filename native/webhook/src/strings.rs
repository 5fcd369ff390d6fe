//! JSON string contents as JavaScript sees them: a sequence of UTF-16 code units, where an
//! escape is one unit and may be half of a surrogate pair, or a lone surrogate.

use std::borrow::Cow;

use crate::timestamp::utf16_len;

/// A decoded string: its JavaScript length and, when it is well-formed Unicode, its text.
pub(crate) struct Decoded<'a> {
    /// Length in UTF-16 code units (JavaScript's `length`).
    pub units: usize,
    /// The text; None when it holds a lone surrogate (TS `isWellFormed()` is false).
    pub text: Option<Cow<'a, str>>,
}

/// Decodes the raw bytes between a string's quotes, already validated by the scanner.
pub(crate) fn decode(raw: &str, escaped: bool) -> Decoded<'_> {
    if !escaped {
        return Decoded {
            units: utf16_len(raw),
            text: Some(Cow::Borrowed(raw)),
        };
    }
    let mut out = String::with_capacity(raw.len());
    let mut units = 0usize;
    let mut well_formed = true;
    // A high surrogate from a \u escape, waiting for a low one in the very next escape.
    let mut high: Option<u32> = None;
    let mut rest = raw;
    while !rest.is_empty() {
        let Some(at) = rest.find('\\') else {
            // Literal text after a pending high surrogate: that surrogate is lone (a literal
            // character is never a low surrogate: UTF-8 cannot encode one).
            well_formed &= high.take().is_none();
            units += utf16_len(rest);
            out.push_str(rest);
            break;
        };
        if at > 0 {
            well_formed &= high.take().is_none();
            units += utf16_len(&rest[..at]);
            out.push_str(&rest[..at]);
        }
        // The scanner validated every escape; the fallbacks below only keep this panic-free.
        let esc = rest.as_bytes().get(at + 1).copied().unwrap_or(b'\\');
        units += 1;
        if esc != b'u' {
            well_formed &= high.take().is_none();
            out.push(match esc {
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                other => char::from(other), // '"', '\\' or '/'
            });
            rest = rest.get(at + 2..).unwrap_or("");
            continue;
        }
        let unit = rest
            .get(at + 2..at + 6)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .unwrap_or(0xfffd);
        rest = rest.get(at + 6..).unwrap_or("");
        match unit {
            0xd800..=0xdbff => {
                well_formed &= high.replace(unit).is_none();
            }
            0xdc00..=0xdfff => match high.take() {
                Some(h) => {
                    let c = 0x10000 + ((h - 0xd800) << 10) + (unit - 0xdc00);
                    out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                None => well_formed = false,
            },
            _ => {
                well_formed &= high.take().is_none();
                out.push(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }
    well_formed &= high.is_none();
    Decoded {
        units,
        text: well_formed.then_some(Cow::Owned(out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(raw: &str) -> (usize, Option<String>) {
        let r = decode(raw, raw.contains('\\'));
        (r.units, r.text.map(Cow::into_owned))
    }

    #[test]
    fn plain_and_escaped_text() {
        assert_eq!(d("abc"), (3, Some("abc".into())));
        assert_eq!(d("é😀"), (3, Some("é😀".into())));
        assert_eq!(
            d(r#"a\"b\\c\/d\be\ff\ng\rh\ti"#),
            (17, Some("a\"b\\c/d\u{8}e\u{c}f\ng\rh\ti".into()))
        );
        assert_eq!(d(r"\u00e9\u65E5"), (2, Some("é日".into())));
        assert_eq!(d(r"\u0000"), (1, Some("\0".into())));
    }

    #[test]
    fn surrogate_pairs_from_escapes_combine() {
        assert_eq!(d(r"\ud83d\ude00"), (2, Some("😀".into())));
        assert_eq!(d(r"x\uD83D\uDE00y"), (4, Some("x😀y".into())));
        assert_eq!(d(r"\udbff\udfff"), (2, Some("\u{10ffff}".into())));
    }

    #[test]
    fn lone_surrogates_are_not_well_formed_but_still_counted() {
        for (raw, units) in [
            (r"\ud800", 1),
            (r"\udc00", 1),
            (r"a\ud800b", 3),
            (r"\ud800\ud800\udc00", 3),
            (r"\ude00\ud83d", 2),
            (r"\ud83d\n\ude00", 3),
            ("\\ud83d😀", 3),
            ("😀\\ude00", 3),
            (r"\ud83d\u0041", 2),
        ] {
            assert_eq!(d(raw), (units, None), "{raw}");
        }
    }
}
