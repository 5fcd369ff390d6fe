//! Strict RFC 3339 date-times for `updatedTimestamp`, a port of `src/dedup/timestamp.ts`
//! (same accepted forms, same faults in the same order of checks, same instant).
//!
//! Accepted: `YYYY-MM-DD` `T` `HH:MM:SS` [`.` 1-9 digits] (`Z` | `+HH:MM` | `-HH:MM`), with
//! `t` or a space for `T` and `z` for `Z`; `-00:00` reads as UTC; second 60 only where the
//! UTC time is 23:59; years 0000-9999, proleptic Gregorian; offsets up to ±23:59.

use std::fmt;

/// A parsed instant. The derived order (seconds, then leap, then nanos) is the TypeScript
/// `compareTimestamps` order: a leap second sorts after every instant of the …:59 second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole UTC seconds since 1970-01-01T00:00:00Z; a leap second carries the …:59 second's value.
    pub epoch_seconds: i64,
    /// True for a leap second (…:60).
    pub leap: bool,
    /// Nanoseconds within the second, 0 … 999 999 999.
    pub nanos: u32,
}

impl Timestamp {
    /// Milliseconds since the epoch, truncated; a leap second maps to the last ms of …:59 (TS `epochMs`).
    pub fn epoch_ms(&self) -> i64 {
        if self.leap {
            self.epoch_seconds * 1000 + 999
        } else {
            self.epoch_seconds * 1000 + i64::from(self.nanos / 1_000_000)
        }
    }

    /// Appends TS `timestampKey`: `<epochSeconds>.<nanos>`, or `<epochSeconds>.L<nanos>` for a
    /// leap second. Equal for two timestamps exactly when they denote the same instant.
    pub fn write_key(&self, out: &mut Vec<u8>) {
        push_decimal(out, self.epoch_seconds);
        out.push(b'.');
        if self.leap {
            out.push(b'L');
        }
        push_decimal(out, i64::from(self.nanos));
    }

    /// Length of the key `write_key` writes (ASCII: bytes and UTF-16 units alike).
    pub fn key_len(&self) -> usize {
        decimal_len(self.epoch_seconds)
            + 1
            + usize::from(self.leap)
            + decimal_len(i64::from(self.nanos))
    }

    /// TS `timestampKey` as a string.
    pub fn key(&self) -> String {
        let mut out = Vec::with_capacity(24);
        self.write_key(&mut out);
        // Only ASCII digits, '-', '.' and 'L' were written.
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Characters of `v` in decimal, with its sign.
fn decimal_len(v: i64) -> usize {
    let mut n = v.unsigned_abs();
    let mut len = usize::from(v < 0) + 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Appends `v` in decimal, as JavaScript writes a safe integer.
pub(crate) fn push_decimal(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

/// Why a string is not a valid timestamp (TS `TimestampFault`; `'not a string'` has no
/// counterpart here, the input is always a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampFault {
    TooLong,
    BadFormat,
    MonthOutOfRange,
    DayOutOfRange,
    HourOutOfRange,
    MinuteOutOfRange,
    SecondOutOfRange,
    LeapSecondNotAt2359,
    TooManyFractionDigits,
    OffsetOutOfRange,
}

impl TimestampFault {
    /// The TS fault string, e.g. `"day out of range"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimestampFault::TooLong => "too long",
            TimestampFault::BadFormat => "bad format",
            TimestampFault::MonthOutOfRange => "month out of range",
            TimestampFault::DayOutOfRange => "day out of range",
            TimestampFault::HourOutOfRange => "hour out of range",
            TimestampFault::MinuteOutOfRange => "minute out of range",
            TimestampFault::SecondOutOfRange => "second out of range",
            TimestampFault::LeapSecondNotAt2359 => "leap second not at 23:59 UTC",
            TimestampFault::TooManyFractionDigits => "too many fraction digits",
            TimestampFault::OffsetOutOfRange => "offset out of range",
        }
    }
}

impl fmt::Display for TimestampFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a valid timestamp looks like (TS `TIMESTAMP_FORMAT_HINT`).
pub const TIMESTAMP_FORMAT_HINT: &str = timestamp_format_hint!();

// Longest valid form: "YYYY-MM-DDTHH:MM:SS.fffffffff+HH:MM" = 35 characters.
const MAX_LENGTH: usize = 35;
const SECONDS_PER_DAY: i64 = 86_400;
const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Parses `s` (TS `parseTimestamp` / `timestampFault`).
pub fn parse_timestamp(s: &str) -> Result<Timestamp, TimestampFault> {
    parse_with_utf16_len(s.as_bytes(), utf16_len(s))
}

/// Length of `s` in UTF-16 code units (JavaScript's `length`).
pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        // Each char is one unit, two above U+FFFF: count the UTF-8 lead bytes, plus one per 4-byte lead.
        s.bytes()
            .map(|b| usize::from(b & 0xc0 != 0x80) + usize::from(b >= 0xf0))
            .sum()
    }
}

/// `s` is UTF-8 whose JavaScript length is `len16`. The TS code indexes UTF-16 units; every
/// check past the two length checks needs ASCII at the positions it reads, and the ASCII prefix
/// is the same in both encodings, so reading bytes gives the same verdict (a non-ASCII character
/// fails the digit, separator or end-of-string check that would meet it).
pub(crate) fn parse_with_utf16_len(s: &[u8], len16: usize) -> Result<Timestamp, TimestampFault> {
    use TimestampFault::*;
    if len16 > MAX_LENGTH {
        return Err(TooLong);
    }
    if len16 < 20 {
        return Err(BadFormat);
    }
    let len = s.len();
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(s, 0, 4),
        digits(s, 5, 2),
        digits(s, 8, 2),
        digits(s, 11, 2),
        digits(s, 14, 2),
        digits(s, 17, 2),
    ) else {
        return Err(BadFormat);
    };
    if s[4] != b'-' || s[7] != b'-' || s[13] != b':' || s[16] != b':' {
        return Err(BadFormat);
    }
    if !matches!(s[10], b'T' | b't' | b' ') {
        return Err(BadFormat);
    }

    let mut i = 19;
    let mut nanos = 0u32;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < len && s[i].is_ascii_digit() {
            i += 1;
        }
        let count = i - start;
        if count == 0 {
            return Err(BadFormat);
        }
        if count > 9 {
            return Err(TooManyFractionDigits);
        }
        nanos = digits(s, start, count).unwrap_or(0) * POW10[9 - count];
    }

    let offset_minutes: i64 = match s.get(i) {
        Some(b'Z' | b'z') => {
            if i + 1 != len {
                return Err(BadFormat);
            }
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            if i + 6 != len || s[i + 3] != b':' {
                return Err(BadFormat);
            }
            let (Some(oh), Some(om)) = (digits(s, i + 1, 2), digits(s, i + 4, 2)) else {
                return Err(BadFormat);
            };
            if oh > 23 || om > 59 {
                return Err(OffsetOutOfRange);
            }
            let m = i64::from(oh * 60 + om);
            if sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return Err(BadFormat),
    };

    if !(1..=12).contains(&month) {
        return Err(MonthOutOfRange);
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(DayOutOfRange);
    }
    if hour > 23 {
        return Err(HourOutOfRange);
    }
    if minute > 59 {
        return Err(MinuteOutOfRange);
    }
    if second > 60 {
        return Err(SecondOutOfRange);
    }

    // Local minutes since midnight minus the offset gives UTC; a leap second must land on 23:59 UTC.
    let utc_minutes = i64::from(hour * 60 + minute) - offset_minutes;
    let leap = second == 60;
    if leap && utc_minutes.rem_euclid(1440) != 1439 {
        return Err(LeapSecondNotAt2359);
    }
    let epoch_seconds = days_from_civil(i64::from(year), i64::from(month), i64::from(day))
        * SECONDS_PER_DAY
        + utc_minutes * 60
        + if leap { 59 } else { i64::from(second) };
    Ok(Timestamp {
        epoch_seconds,
        leap,
        nanos,
    })
}

/// The decimal value of `count` ASCII digits at `at`, or None if any is not a digit (or missing).
fn digits(s: &[u8], at: usize, count: usize) -> Option<u32> {
    let mut v = 0u32;
    for &c in s.get(at..at + count)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn is_leap_year(y: u32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

const DAYS_IN_MONTH: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

fn days_in_month(year: u32, month: u32) -> u32 {
    if month == 2 && is_leap_year(year) {
        29
    } else {
        DAYS_IN_MONTH[(month - 1) as usize]
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Timestamp {
        parse_timestamp(s).unwrap_or_else(|f| panic!("{s:?} should parse, got {f}"))
    }
    fn fault(s: &str) -> &'static str {
        match parse_timestamp(s) {
            Ok(t) => panic!("{s:?} should fail, got {t:?}"),
            Err(f) => f.as_str(),
        }
    }

    #[test]
    fn utc_forms_and_epoch_values() {
        assert_eq!(
            ok("1970-01-01T00:00:00Z"),
            Timestamp {
                epoch_seconds: 0,
                leap: false,
                nanos: 0
            }
        );
        assert_eq!(ok("2024-01-15T10:30:00Z").epoch_seconds, 1_705_314_600);
        assert_eq!(ok("2024-01-15T10:30:00.123Z").epoch_ms(), 1_705_314_600_123);
        assert_eq!(ok("1969-12-31T23:59:59.999Z").epoch_ms(), -1);
        assert_eq!(ok("0001-01-01T00:00:00Z").epoch_ms(), -62_135_596_800_000);
        assert_eq!(ok("0000-02-29T00:00:00Z").epoch_seconds, -62_162_121_600);
        assert_eq!(
            ok("9999-12-31T23:59:59.999999999Z").epoch_seconds,
            253_402_300_799
        );
        assert_eq!(ok("2000-02-29T12:00:00Z").epoch_seconds, 951_825_600);
    }

    #[test]
    fn offsets_including_minus_zero_and_the_extremes() {
        let z = ok("2024-01-15T10:30:00Z");
        assert_eq!(ok("2024-01-15T11:30:00+01:00"), z);
        assert_eq!(ok("2024-01-15T05:00:00-05:30"), z);
        assert_eq!(ok("2024-01-15T10:30:00-00:00"), z);
        assert_eq!(ok("2024-01-15T10:30:00+00:00"), z);
        assert_eq!(
            ok("2024-01-01T00:30:00+23:59").epoch_seconds,
            ok("2023-12-31T00:31:00Z").epoch_seconds
        );
        assert_eq!(
            ok("2023-12-31T23:59:00-23:59").epoch_seconds,
            ok("2024-01-01T23:58:00Z").epoch_seconds
        );
        assert_eq!(fault("2024-01-15T10:30:00+24:00"), "offset out of range");
        assert_eq!(fault("2024-01-15T10:30:00-01:60"), "offset out of range");
        // An offset fault is found before a date fault (the TS order of checks).
        assert_eq!(fault("2024-13-45T10:30:00+24:00"), "offset out of range");
    }

    #[test]
    fn separators_and_lowercase() {
        let z = ok("2024-01-15T10:30:00Z");
        for s in [
            "2024-01-15t10:30:00z",
            "2024-01-15 10:30:00Z",
            "2024-01-15t10:30:00Z",
        ] {
            assert_eq!(ok(s), z, "{s}");
        }
        for s in [
            "2024-01-15_10:30:00Z",
            "2024-01-15\t10:30:00Z",
            "2024-01-15T10:30:00z ",
            "2024/01/15T10:30:00Z",
        ] {
            assert_eq!(fault(s), "bad format", "{s}");
        }
    }

    #[test]
    fn fraction_digits() {
        assert_eq!(ok("2024-01-15T10:30:00.5Z").nanos, 500_000_000);
        assert_eq!(ok("2024-01-15T10:30:00.000000001Z").nanos, 1);
        assert_eq!(ok("2024-01-15T10:30:00.123456789+01:00").nanos, 123_456_789);
        assert_eq!(ok("2024-01-15T10:30:00.000Z"), ok("2024-01-15T10:30:00Z"));
        assert_eq!(
            fault("2024-01-15T10:30:00.1234567890Z"),
            "too many fraction digits"
        );
        // Counted before what follows is looked at.
        assert_eq!(
            fault("2024-01-15T10:30:00.1234567890"),
            "too many fraction digits"
        );
        assert_eq!(fault("2024-01-15T10:30:00.Z"), "bad format");
        assert_eq!(fault("2024-01-15T10:30:00,5Z"), "bad format");
        assert_eq!(fault("2024-01-15T10:30:00.12a3Z"), "bad format");
    }

    #[test]
    fn day_and_month_ranges() {
        assert_eq!(fault("2024-02-30T00:00:00Z"), "day out of range");
        assert_eq!(fault("2023-02-29T00:00:00Z"), "day out of range");
        assert_eq!(fault("1900-02-29T00:00:00Z"), "day out of range");
        ok("2000-02-29T00:00:00Z");
        ok("2024-02-29T00:00:00Z");
        assert_eq!(fault("2024-04-31T00:00:00Z"), "day out of range");
        ok("2024-12-31T00:00:00Z");
        assert_eq!(fault("2024-01-00T00:00:00Z"), "day out of range");
        assert_eq!(fault("2024-00-10T00:00:00Z"), "month out of range");
        assert_eq!(fault("2024-13-10T00:00:00Z"), "month out of range");
        // Month is checked before day, day before hour.
        assert_eq!(fault("2024-13-99T99:99:99Z"), "month out of range");
        assert_eq!(fault("2024-12-99T99:99:99Z"), "day out of range");
        assert_eq!(fault("2024-01-15T24:00:00Z"), "hour out of range");
        assert_eq!(fault("2024-01-15T10:60:00Z"), "minute out of range");
        assert_eq!(fault("2024-01-15T10:30:61Z"), "second out of range");
    }

    #[test]
    fn leap_seconds() {
        let leap = ok("2016-12-31T23:59:60.5Z");
        assert!(leap.leap);
        assert_eq!(leap.epoch_ms(), ok("2016-12-31T23:59:59.999Z").epoch_ms());
        assert!(ok("2016-12-31T23:59:59.999999999Z") < leap);
        assert!(leap < ok("2017-01-01T00:00:00Z"));
        assert!(ok("2016-12-31T23:59:60Z") < leap);
        assert_eq!(ok("2017-01-01T05:29:60.5+05:30"), leap);
        assert!(ok("2016-12-31T15:59:60-08:00").leap);
        assert!(ok("2017-01-01T00:00:60+00:01").leap);
        assert_eq!(
            fault("2024-01-15T10:30:60Z"),
            "leap second not at 23:59 UTC"
        );
        assert_eq!(
            fault("2016-12-31T23:59:60+01:00"),
            "leap second not at 23:59 UTC"
        );
        assert_eq!(leap.key(), "1483228799.L500000000");
    }

    #[test]
    fn keys_denote_instants() {
        assert_eq!(ok("2024-01-15T10:30:00Z").key(), "1705314600.0");
        assert_eq!(ok("2024-01-15T12:30:00.000+02:00").key(), "1705314600.0");
        assert_eq!(ok("2024-01-15T10:30:00.000000001Z").key(), "1705314600.1");
        assert_eq!(ok("1969-12-31T23:59:59.5Z").key(), "-1.500000000");
        assert_eq!(ok("0000-01-01T00:00:00Z").key(), "-62167219200.0");
        for s in [
            "2016-12-31T23:59:60.5Z",
            "1969-12-31T23:59:59.5Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
        ] {
            let t = ok(s);
            assert_eq!(t.key_len(), t.key().len(), "{s}");
        }
    }

    #[test]
    fn bad_formats_and_lengths() {
        for s in [
            "2024-01-15T10:30:00",
            "2024-01-15T10:30:00+0100",
            "2024-01-15T10:30:00+01",
            "2024-01-15T10:30:00+1:00",
            "2024-01-15T10:30Z",
            "2024-01-15",
            "20240115T103000Z",
            "2024-1-15T10:30:00Z",
            "2024-01-15T10:30:00ZZ",
            " 2024-01-15T10:30:00Z",
            "+2024-01-15T10:30:00Z",
            "2024-01-15T10:30:00+01:00junk",
            "２０２４-01-15T10:30:00Z",
            "2024-01-15T10:30:00Zé",
            "2024-01-15T10:30:00+01:0é",
            "junk",
            "",
        ] {
            assert_eq!(fault(s), "bad format", "{s:?}");
        }
        assert_eq!(
            fault("2024-01-15T10:30:00.000000000000000000000000Z"),
            "too long"
        );
        // 36 UTF-16 units is too long, 35 is not; é counts 1, 😀 counts 2.
        assert_eq!(fault("2024-01-15T10:30:00.123456789+01:00é"), "too long");
        assert_eq!(fault("2024-01-15T10:30:00.12345678+01:00é"), "bad format");
        assert_eq!(fault("2024-01-15T10:30:00.12345678+01:0😀"), "bad format"); // 35 units, 37 bytes
        assert_eq!(fault("2024-01-15T10:30:00.123456789+01:0😀"), "too long");
        assert_eq!(fault(&"é".repeat(19)), "bad format"); // 19 units, 38 bytes
        assert_eq!(fault(&"é".repeat(20)), "bad format"); // 20 units, 40 bytes: not "too long"
    }

    #[test]
    fn utf16_lengths() {
        assert_eq!(utf16_len(""), 0);
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("é日"), 2);
        assert_eq!(utf16_len("😀"), 2);
        assert_eq!(utf16_len("a\u{10ffff}b"), 4);
    }

    #[test]
    fn decimal_writer() {
        for v in [
            0i64,
            7,
            -7,
            10,
            1_705_314_600,
            -62_167_219_200,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            push_decimal(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
            assert_eq!(decimal_len(v), v.to_string().len());
        }
    }
}
