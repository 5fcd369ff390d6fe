import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareTimestamps,
  formatTimestamp,
  parseTimestamp,
  timestampFault,
  timestampKey,
  type ParsedTimestamp,
} from '../../src/dedup/timestamp.js';

function parsed(s: string): ParsedTimestamp {
  const t = parseTimestamp(s);
  assert.ok(t, `expected ${JSON.stringify(s)} to parse`);
  return t;
}

describe('parseTimestamp: valid forms', { timeout: 10_000 }, () => {
  it('reads UTC with Z and agrees with Date for millisecond inputs', () => {
    for (const s of [
      '2024-01-15T10:30:00Z',
      '2024-01-15T10:30:00.123Z',
      '1970-01-01T00:00:00Z',
      '1969-12-31T23:59:59.999Z',
      '2000-02-29T12:00:00Z',
      '9999-12-31T23:59:59.999Z',
      '1600-03-01T00:00:00Z',
    ]) {
      assert.equal(parsed(s).epochMs, Date.UTC(...(fields(s) as [number, number, number, number, number, number, number])), s);
    }
  });

  it('applies offsets, including -00:00 and non-hour offsets', () => {
    assert.equal(parsed('2024-01-15T11:30:00+01:00').epochMs, parsed('2024-01-15T10:30:00Z').epochMs);
    assert.equal(parsed('2024-01-15T05:00:00-05:30').epochMs, parsed('2024-01-15T10:30:00Z').epochMs);
    assert.equal(parsed('2024-01-15T10:30:00-00:00').epochMs, parsed('2024-01-15T10:30:00Z').epochMs);
    assert.equal(parsed('2024-01-01T00:30:00+23:59').epochMs, Date.UTC(2023, 11, 31, 0, 31));
  });

  it('accepts lowercase t and z and a space separator (RFC 3339 §5.6)', () => {
    const ref = parsed('2024-01-15T10:30:00Z');
    for (const s of ['2024-01-15t10:30:00z', '2024-01-15 10:30:00Z', '2024-01-15t10:30:00Z']) {
      assert.equal(compareTimestamps(parsed(s), ref), 0, s);
    }
  });

  it('keeps all 9 fraction digits', () => {
    const t = parsed('2024-01-15T10:30:00.123456789Z');
    assert.equal(t.nanos, 123_456_789);
    assert.equal(t.epochMs, Date.UTC(2024, 0, 15, 10, 30, 0, 123));
    assert.equal(parsed('2024-01-15T10:30:00.5Z').nanos, 500_000_000);
    assert.equal(parsed('2024-01-15T10:30:00.000000001Z').nanos, 1);
  });

  it('handles years 0000-0099 without the Date.UTC two-digit-year trap', () => {
    assert.equal(formatTimestamp(parsed('0050-06-01T00:00:00Z')), '0050-06-01T00:00:00.000000000Z');
    assert.equal(formatTimestamp(parsed('0000-02-29T00:00:00Z')), '0000-02-29T00:00:00.000000000Z');
    assert.equal(parsed('0001-01-01T00:00:00Z').epochMs, -62_135_596_800_000);
  });

  it('accepts a leap second only at 23:59 UTC and orders it inside its minute', () => {
    const leap = parsed('2016-12-31T23:59:60.5Z');
    assert.equal(leap.leap, true);
    assert.ok(compareTimestamps(parsed('2016-12-31T23:59:59.999999999Z'), leap) < 0);
    assert.ok(compareTimestamps(leap, parsed('2017-01-01T00:00:00Z')) < 0);
    assert.ok(compareTimestamps(parsed('2016-12-31T23:59:60Z'), leap) < 0);
    // The same UTC instant written with an offset.
    assert.equal(compareTimestamps(parsed('2017-01-01T05:29:60.5+05:30'), leap), 0);
    assert.equal(parsed('2016-12-31T15:59:60-08:00').leap, true);
    assert.equal(leap.epochMs, Date.UTC(2016, 11, 31, 23, 59, 59, 999));
    assert.equal(formatTimestamp(leap), '2016-12-31T23:59:60.500000000Z');
  });
});

describe('parseTimestamp: rejects', { timeout: 10_000 }, () => {
  const cases: Array<[string, string]> = [
    ['2024-02-30T00:00:00Z', 'day out of range'],
    ['2023-02-29T00:00:00Z', 'day out of range'],
    ['1900-02-29T00:00:00Z', 'day out of range'],
    ['2024-04-31T00:00:00Z', 'day out of range'],
    ['2024-01-00T00:00:00Z', 'day out of range'],
    ['2024-00-10T00:00:00Z', 'month out of range'],
    ['2024-13-10T00:00:00Z', 'month out of range'],
    ['2024-01-15T24:00:00Z', 'hour out of range'],
    ['2024-01-15T10:60:00Z', 'minute out of range'],
    ['2024-01-15T10:30:61Z', 'second out of range'],
    ['2024-01-15T10:30:60Z', 'leap second not at 23:59 UTC'],
    ['2016-12-31T23:59:60+01:00', 'leap second not at 23:59 UTC'],
    ['2024-01-15T10:30:00+24:00', 'offset out of range'],
    ['2024-01-15T10:30:00+01:60', 'offset out of range'],
    ['2024-01-15T10:30:00.1234567890Z', 'too many fraction digits'],
    ['2024-01-15T10:30:00', 'bad format'], // no offset: local time cannot be ordered
    ['2024-01-15T10:30:00+0100', 'bad format'],
    ['2024-01-15T10:30:00+01', 'bad format'],
    ['2024-01-15T10:30:00+1:00', 'bad format'],
    ['2024-01-15T10:30:00.Z', 'bad format'],
    ['2024-01-15T10:30:00,5Z', 'bad format'],
    ['2024-01-15T10:30Z', 'bad format'],
    ['2024-01-15', 'bad format'],
    ['20240115T103000Z', 'bad format'],
    ['2024-1-15T10:30:00Z', 'bad format'],
    ['2024-01-15X10:30:00Z', 'bad format'],
    ['2024-01-15T10:30:00ZZ', 'bad format'],
    ['2024-01-15T10:30:00Z ', 'bad format'],
    [' 2024-01-15T10:30:00Z', 'bad format'],
    ['+2024-01-15T10:30:00Z', 'bad format'],
    ['2024-01-15T10:30:00.12a3Z', 'bad format'],
    ['2024-01-15T10:30:00+01:00junk', 'bad format'],
    ['２０２４-01-15T10:30:00Z', 'bad format'], // full-width digits
    ['junk', 'bad format'],
    ['', 'bad format'],
    ['2024-01-15T10:30:00.000000000000000000000000Z', 'too long'],
  ];
  for (const [input, fault] of cases) {
    it(`${JSON.stringify(input)} → ${fault}`, () => {
      assert.equal(parseTimestamp(input), null);
      assert.equal(timestampFault(input), fault);
    });
  }

  it('rejects non-strings', () => {
    for (const v of [undefined, null, 1705314600000, new Date(), {}, ['2024-01-15T10:30:00Z']]) {
      assert.equal(parseTimestamp(v), null);
      assert.equal(timestampFault(v), 'not a string');
    }
  });

  it('reports no fault for a valid timestamp', () => {
    assert.equal(timestampFault('2024-01-15T10:30:00Z'), null);
  });
});

describe('compareTimestamps and timestampKey', { timeout: 10_000 }, () => {
  it('orders by instant, with fractions beyond milliseconds', () => {
    const sorted = [
      '2024-01-15T10:29:59.999999999Z',
      '2024-01-15T10:30:00Z',
      '2024-01-15T10:30:00.000000001Z',
      '2024-01-15T10:30:00.0001Z',
      '2024-01-15T10:30:00.000999999Z',
      '2024-01-15T10:30:00.001Z',
      '2024-01-15T11:30:00.002+01:00',
      '2024-01-15T10:30:00.0021Z',
      '2024-01-15T05:00:01-05:30',
    ];
    const shuffled = [...sorted].reverse();
    shuffled.sort((a, b) => compareTimestamps(parsed(a), parsed(b)));
    assert.deepEqual(shuffled, sorted);
    // Same millisecond, different nanoseconds: epochMs alone cannot tell them apart.
    const a = parsed('2024-01-15T10:30:00.001000001Z');
    const b = parsed('2024-01-15T10:30:00.001000002Z');
    assert.equal(a.epochMs, b.epochMs);
    assert.ok(compareTimestamps(a, b) < 0 && compareTimestamps(b, a) > 0);
  });

  it('offsets: a later wall-clock time can be an earlier instant', () => {
    assert.ok(compareTimestamps(parsed('2024-01-15T12:00:00+03:00'), parsed('2024-01-15T10:00:00Z')) < 0);
  });

  it('timestampKey is equal exactly for equal instants', () => {
    const same = ['2024-01-15T10:30:00Z', '2024-01-15T10:30:00.000Z', '2024-01-15T11:30:00.000000000+01:00', '2024-01-15 10:30:00z'];
    const keys = new Set(same.map((s) => timestampKey(parsed(s))));
    assert.equal(keys.size, 1);
    assert.notEqual(timestampKey(parsed('2024-01-15T10:30:00.000000001Z')), timestampKey(parsed(same[0]!)));
    assert.notEqual(timestampKey(parsed('2016-12-31T23:59:60Z')), timestampKey(parsed('2016-12-31T23:59:59Z')));
  });
});

function fields(s: string): number[] {
  const frac = s.length > 20 ? Number(`0${s.slice(19, -1)}`) : 0;
  return [+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10), +s.slice(11, 13), +s.slice(14, 16), +s.slice(17, 19), Math.round(frac * 1000)];
}
