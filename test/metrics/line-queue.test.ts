import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineQueue } from '../../src/metrics/line-queue.js';

describe('LineQueue (the exporter buffer)', () => {
  it('keeps order across take, restore and wrap-around', () => {
    const q = new LineQueue(4);
    for (const l of ['a', 'b', 'c']) q.push(l);
    assert.deepEqual(q.take(2, 1e6), ['a', 'b']);
    assert.equal(q.total, 3);
    q.push('d');
    q.restore(['a', 'b']);
    assert.equal(q.inFlightCount, 0);
    assert.deepEqual(q.take(10, 1e6), ['a', 'b', 'c', 'd']);
    q.settle();
    assert.equal(q.total, 0);
  });

  it('counts in-flight lines against the bound and drops the oldest queued line when full', () => {
    const q = new LineQueue(3);
    for (const l of ['a', 'b', 'c']) assert.equal(q.push(l), 0);
    assert.deepEqual(q.take(1, 1e6), ['a']); // a in flight, b c queued: full
    assert.equal(q.push('d'), 1); // drops b, the oldest queued
    q.restore(['a']); // the failed batch goes back in front
    assert.deepEqual(q.take(10, 1e6), ['a', 'c', 'd']);
  });

  it('drops the new line when everything is in flight', () => {
    const q = new LineQueue(2);
    q.push('a');
    q.push('b');
    q.take(2, 1e6);
    assert.equal(q.push('c'), 1);
    q.restore(['a', 'b']);
    assert.deepEqual(q.take(5, 1e6), ['a', 'b']);
  });

  it('caps a batch by bytes but always takes at least one line', () => {
    const q = new LineQueue(10);
    q.push('x'.repeat(100));
    q.push('y'.repeat(100));
    assert.equal(q.take(10, 50).length, 1);
    q.settle();
    assert.equal(q.take(10, 50).length, 1);
  });

  it('refuses misuse clearly', () => {
    assert.throws(() => new LineQueue(0), /positive integer/);
    const q = new LineQueue(2);
    q.push('a');
    q.take(1, 1e6);
    assert.throws(() => q.take(1, 1e6), /already in flight/);
    assert.throws(() => q.restore(['a', 'b']), /exactly the batch/);
  });
});
