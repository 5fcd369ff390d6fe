import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StateCache } from '../../src/dedup/state-cache.js';
import { parseTimestamp, type ParsedTimestamp } from '../../src/dedup/timestamp.js';

function ts(s: string): ParsedTimestamp {
  const t = parseTimestamp(s);
  assert.ok(t, s);
  return t;
}

const T1 = ts('2024-01-15T10:00:00Z');
const T2 = ts('2024-01-15T10:00:01Z');
const T3 = ts('2024-01-15T10:00:02Z');

function ids<V, M>(cache: StateCache<V, M>): string[] {
  return [...cache.entries()].map(([id]) => id);
}

describe('StateCache', { timeout: 10_000 }, () => {
  it('rejects a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => new StateCache(bad), RangeError);
    }
  });

  it('stays within capacity, evicting the least recently updated and counting evictions', () => {
    const cache = new StateCache<string>(3);
    cache.offer('a', T1, 'a1');
    cache.offer('b', T1, 'b1');
    cache.offer('c', T1, 'c1');
    cache.offer('a', T2, 'a2'); // a becomes most recent
    assert.deepEqual(ids(cache), ['b', 'c', 'a']);
    cache.offer('d', T1, 'd1'); // evicts b
    assert.equal(cache.size, 3);
    assert.equal(cache.evictions, 1);
    assert.equal(cache.peek('b'), undefined);
    assert.deepEqual(ids(cache), ['c', 'a', 'd']);
    for (let i = 0; i < 10; i++) cache.offer(`x${i}`, T1, 'x');
    assert.equal(cache.size, 3);
    assert.equal(cache.evictions, 11);
    assert.deepEqual(ids(cache), ['x7', 'x8', 'x9']);
  });

  it('capacity 1 keeps only the latest interaction', () => {
    const cache = new StateCache<string>(1);
    cache.offer('a', T1, 'a');
    cache.offer('a', T2, 'a2');
    cache.offer('b', T1, 'b');
    assert.deepEqual(ids(cache), ['b']);
    assert.equal(cache.evictions, 1);
    cache.offer('a', T1, 'a3');
    assert.deepEqual(ids(cache), ['a']);
    assert.equal(cache.peek('a')?.value, 'a3');
  });

  it('an older event arriving late never overwrites a newer state, but still counts as activity', () => {
    const cache = new StateCache<string>(2);
    cache.offer('a', T3, 'newest');
    cache.offer('b', T1, 'b');
    const entry = cache.offer('a', T1, 'late');
    assert.equal(entry.value, 'newest');
    assert.equal(entry.timestamp, T3);
    assert.deepEqual(ids(cache), ['b', 'a']); // touched by the late event
    cache.offer('a', T2, 'also late');
    assert.equal(cache.peek('a')?.value, 'newest');
  });

  it('compares parsed instants, not strings', () => {
    const cache = new StateCache<string>(2);
    // "11:30+01:00" sorts after "10:45Z" as a string but is the earlier instant.
    cache.offer('a', ts('2024-01-15T10:45:00Z'), 'later instant');
    cache.offer('a', ts('2024-01-15T11:30:00+01:00'), 'earlier instant');
    assert.equal(cache.peek('a')?.value, 'later instant');
    cache.offer('a', ts('2024-01-15T10:45:00.000000001Z'), 'one ns later');
    assert.equal(cache.peek('a')?.value, 'one ns later');
  });

  it('equal timestamps: the later arrival wins', () => {
    const cache = new StateCache<string>(2);
    cache.offer('a', T2, 'first');
    const e = cache.offer('a', ts('2024-01-15T11:00:01.000+01:00'), 'second');
    assert.equal(e.value, 'second');
  });

  it('peek does not change recency', () => {
    const cache = new StateCache<string>(2);
    cache.offer('a', T1, 'a');
    cache.offer('b', T1, 'b');
    assert.equal(cache.peek('a')?.value, 'a');
    cache.offer('c', T1, 'c'); // a is still the least recent
    assert.equal(cache.peek('a'), undefined);
    assert.ok(cache.has('b') && cache.has('c'));
  });

  it('creates meta once per entry and keeps it when the value is replaced', () => {
    let made = 0;
    const cache = new StateCache<string, { n: number }>(2, () => ({ n: ++made }));
    const e1 = cache.offer('a', T1, 'a1');
    const e2 = cache.offer('a', T2, 'a2');
    assert.equal(e1, e2);
    assert.deepEqual(e2.meta, { n: 1 });
    cache.offer('b', T1, 'b');
    assert.equal(made, 2);
  });

  it('entries() + load() round-trip in recency order, dropping the oldest beyond capacity', () => {
    const cache = new StateCache<string>(3);
    cache.offer('a', T1, 'a');
    cache.offer('b', T2, 'b');
    cache.offer('c', T3, 'c');
    cache.offer('a', T2, 'a2');
    const saved = [...cache.entries()].map(([id, e]) => [id, { ...e }] as const);

    const copy = new StateCache<string>(3);
    copy.offer('z', T1, 'replaced by load');
    copy.load(saved);
    assert.deepEqual(ids(copy), ['b', 'c', 'a']);
    assert.equal(copy.peek('a')?.value, 'a2');
    assert.equal(copy.peek('z'), undefined);
    assert.equal(copy.evictions, 0);

    const small = new StateCache<string>(2);
    small.load(saved);
    assert.deepEqual(ids(small), ['c', 'a']);
    assert.equal(small.evictions, 1);
    // Loading keeps recency semantics: the next new id evicts the least recent loaded one.
    small.offer('d', T1, 'd');
    assert.deepEqual(ids(small), ['a', 'd']);
  });

  it('load() with a repeated id keeps the newer value at the later position', () => {
    const cache = new StateCache<string>(3);
    cache.load([
      ['a', { timestamp: T3, value: 'new', meta: undefined }],
      ['b', { timestamp: T1, value: 'b', meta: undefined }],
      ['a', { timestamp: T1, value: 'old', meta: undefined }],
    ]);
    assert.deepEqual(ids(cache), ['b', 'a']);
    assert.equal(cache.peek('a')?.value, 'new');
  });

  it('delete and clear', () => {
    const cache = new StateCache<string>(2);
    cache.offer('a', T1, 'a');
    cache.offer('b', T1, 'b');
    assert.equal(cache.delete('b'), true);
    assert.equal(cache.delete('b'), false);
    cache.offer('c', T1, 'c');
    cache.offer('b', T1, 'b'); // evicts a (least recent), not c
    assert.deepEqual(ids(cache), ['c', 'b']);
    cache.clear();
    assert.equal(cache.size, 0);
  });

  it('maxBytes bounds the summed weights, evicting the least recent but never the newest', () => {
    assert.throws(() => new StateCache<string>(10, undefined, { maxBytes: 0 }), RangeError);
    const cache = new StateCache<string>(100, undefined, { maxBytes: 100 });
    cache.offer('a', T1, 'a', 40);
    cache.offer('b', T1, 'b', 40);
    assert.equal(cache.bytes, 80);
    cache.offer('c', T1, 'c', 30); // 110 > 100: a goes
    assert.deepEqual(ids(cache), ['b', 'c']);
    assert.equal(cache.bytes, 70);
    assert.equal(cache.evictions, 1);
    // A newer version replaces the weight too.
    cache.offer('b', T2, 'b2', 10);
    assert.equal(cache.bytes, 40);
    // A late, older version changes neither the value nor the weight.
    cache.offer('b', T1, 'b-old', 90);
    assert.equal(cache.peek('b')?.value, 'b2');
    assert.equal(cache.bytes, 40);
    // One state heavier than the whole budget is still kept (alone).
    cache.offer('huge', T3, 'h', 500);
    assert.deepEqual(ids(cache), ['huge']);
    assert.equal(cache.bytes, 500);
    cache.offer('d', T1, 'd', 5); // huge is now least recent and over budget
    assert.deepEqual(ids(cache), ['d']);
    assert.equal(cache.bytes, 5);
    assert.equal(cache.delete('d'), true);
    assert.equal(cache.bytes, 0);
  });

  it('load() weighs restored values and applies maxBytes', () => {
    const cache = new StateCache<string>(10, undefined, { maxBytes: 10, weigh: (v) => v.length });
    cache.load([
      ['a', { timestamp: T1, value: 'aaaa', meta: undefined }],
      ['b', { timestamp: T1, value: 'bbbb', meta: undefined }],
      ['c', { timestamp: T1, value: 'cccc', meta: undefined }],
    ]);
    assert.deepEqual(ids(cache), ['b', 'c']);
    assert.equal(cache.bytes, 8);
    cache.clear();
    assert.equal(cache.bytes, 0);
  });
});
