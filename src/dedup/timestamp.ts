/**
 * Strict RFC 3339 date-time parsing for `updatedTimestamp`, with a total order that keeps
 * full nanosecond precision (a JS Date keeps only milliseconds) and leap seconds.
 *
 * Accepted: `YYYY-MM-DD` `T` `HH:MM:SS` [`.` 1-9 digits] (`Z` | `+HH:MM` | `-HH:MM`)
 *   - the date/time separator may be `T`, `t` or a single space, and `Z` may be `z`
 *     (RFC 3339 §5.6 allows all three);
 *   - an offset is required: a local time without one cannot be ordered against others;
 *   - `-00:00` ("offset unknown", RFC 3339 §4.3) is read as UTC;
 *   - second 60 is a leap second and only valid where the UTC time is 23:59 (RFC 3339 §5.7);
 *   - years 0000-9999, proleptic Gregorian calendar, days checked against the month and
 *     leap years; offsets up to ±23:59.
 * Rejected: everything else, e.g. basic format (`20240115T…`), `+0100`, decimal commas,
 * more than 9 fraction digits, week or ordinal dates, surrounding whitespace.
 * `Date.parse` is never used: it guesses (e.g. treats offset-less times as local time).
 */

/** A parsed instant. Compare with {@link compareTimestamps}, not by `epochMs`. */
export interface ParsedTimestamp {
  /** Whole UTC seconds since 1970-01-01T00:00:00Z; a leap second carries the value of the …:59 second before it. */
  readonly epochSeconds: number;
  /** True for a leap second (…:60): it sorts after every instant of the …:59 second and before the next second. */
  readonly leap: boolean;
  /** Nanoseconds within the second, 0 … 999 999 999 (the fraction, zero-padded to 9 digits). */
  readonly nanos: number;
  /** Milliseconds since the epoch, truncated, for display and Date; a leap second maps to the last ms of …:59. */
  readonly epochMs: number;
}

/** Why a string is not a valid timestamp (for error messages; never includes the input). */
export type TimestampFault =
  | 'not a string'
  | 'too long'
  | 'bad format'
  | 'month out of range'
  | 'day out of range'
  | 'hour out of range'
  | 'minute out of range'
  | 'second out of range'
  | 'leap second not at 23:59 UTC'
  | 'too many fraction digits'
  | 'offset out of range';

/** What a valid timestamp looks like, for error messages. */
export const TIMESTAMP_FORMAT_HINT = 'an RFC 3339 date-time such as 2024-01-15T10:30:00.123Z or 2024-01-15T11:30:00+01:00';

// Longest valid form: "YYYY-MM-DDTHH:MM:SS.fffffffff+HH:MM" = 35 characters.
const MAX_LENGTH = 35;
const SECONDS_PER_DAY = 86_400;

/** Parses `input`; null when it is not a valid RFC 3339 date-time (see the module comment). */
export function parseTimestamp(input: unknown): ParsedTimestamp | null {
  const r = parse(input);
  return typeof r === 'string' ? null : r;
}

/** Why `input` is not a valid timestamp, or null when it is one. */
export function timestampFault(input: unknown): TimestampFault | null {
  const r = parse(input);
  return typeof r === 'string' ? r : null;
}

/** Negative, zero or positive as `a` is earlier than, the same instant as, or later than `b`. */
export function compareTimestamps(a: ParsedTimestamp, b: ParsedTimestamp): number {
  if (a.epochSeconds !== b.epochSeconds) return a.epochSeconds < b.epochSeconds ? -1 : 1;
  if (a.leap !== b.leap) return a.leap ? 1 : -1;
  if (a.nanos !== b.nanos) return a.nanos < b.nanos ? -1 : 1;
  return 0;
}

/**
 * A string that is equal for two timestamps exactly when they denote the same instant, whatever
 * their spelling (`…00Z`, `…00.000Z`, `…02:00+02:00`). Used in dedup keys.
 */
export function timestampKey(t: ParsedTimestamp): string {
  return t.leap ? `${t.epochSeconds}.L${t.nanos}` : `${t.epochSeconds}.${t.nanos}`;
}

/** The UTC form `YYYY-MM-DDTHH:MM:SS.fffffffffZ` (9 fraction digits), for logs and tests. */
export function formatTimestamp(t: ParsedTimestamp): string {
  const days = Math.floor(t.epochSeconds / SECONDS_PER_DAY);
  let rest = t.epochSeconds - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const hour = Math.floor(rest / 3600);
  rest -= hour * 3600;
  const minute = Math.floor(rest / 60);
  const second = rest - minute * 60 + (t.leap ? 1 : 0);
  return (
    `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}` +
    `.${pad(t.nanos, 9)}Z`
  );
}

function parse(s: unknown): ParsedTimestamp | TimestampFault {
  if (typeof s !== 'string') return 'not a string';
  const len = s.length;
  if (len > MAX_LENGTH) return 'too long';
  if (len < 20) return 'bad format';
  // Fixed positions: YYYY-MM-DD?HH:MM:SS
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return 'bad format';
  if (s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d || s.charCodeAt(13) !== 0x3a || s.charCodeAt(16) !== 0x3a) {
    return 'bad format';
  }
  const sep = s.charCodeAt(10);
  if (sep !== 0x54 /* T */ && sep !== 0x74 /* t */ && sep !== 0x20 /* space */) return 'bad format';

  let i = 19;
  let nanos = 0;
  if (s.charCodeAt(i) === 0x2e /* . */) {
    i++;
    const start = i;
    while (i < len) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      i++;
    }
    const count = i - start;
    if (count === 0) return 'bad format';
    if (count > 9) return 'too many fraction digits';
    nanos = digits(s, start, count) * POW10[9 - count]!;
  }

  let offsetMinutes: number;
  const z = s.charCodeAt(i);
  if (z === 0x5a /* Z */ || z === 0x7a /* z */) {
    if (i + 1 !== len) return 'bad format';
    offsetMinutes = 0;
  } else if (z === 0x2b /* + */ || z === 0x2d /* - */) {
    if (i + 6 !== len || s.charCodeAt(i + 3) !== 0x3a) return 'bad format';
    const oh = digits(s, i + 1, 2);
    const om = digits(s, i + 4, 2);
    if (oh < 0 || om < 0) return 'bad format';
    if (oh > 23 || om > 59) return 'offset out of range';
    offsetMinutes = (z === 0x2d ? -1 : 1) * (oh * 60 + om);
  } else {
    return 'bad format';
  }

  if (month < 1 || month > 12) return 'month out of range';
  if (day < 1 || day > daysInMonth(year, month)) return 'day out of range';
  if (hour > 23) return 'hour out of range';
  if (minute > 59) return 'minute out of range';
  if (second > 60) return 'second out of range';

  // Local minutes since midnight minus the offset gives UTC; a leap second must land on 23:59 UTC.
  const localMinutes = hour * 60 + minute;
  const leap = second === 60;
  if (leap && (((localMinutes - offsetMinutes) % 1440) + 1440) % 1440 !== 1439) return 'leap second not at 23:59 UTC';

  const epochSeconds =
    daysFromCivil(year, month, day) * SECONDS_PER_DAY + (localMinutes - offsetMinutes) * 60 + (leap ? 59 : second);
  const epochMs = leap ? epochSeconds * 1000 + 999 : epochSeconds * 1000 + Math.floor(nanos / 1e6);
  return { epochSeconds, leap, nanos, epochMs };
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** The decimal value of `count` ASCII digits at `at`, or -1 if any is not a digit (or missing). */
function digits(s: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 0x30; // NaN past the end, so the check below fails
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

function isLeapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
}

// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm). Date.UTC is
// avoided because it maps years 0-99 to 1900-1999.
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
