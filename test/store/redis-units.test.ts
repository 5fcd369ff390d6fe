/** Pieces of the Redis store that need no server: the deadline guard and the key layout. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlineGuard } from '../../src/store/redis/deadline.js';
import { escapeTag, fnv1a32, KeyLayout } from '../../src/store/redis/keys.js';

describe('DeadlineGuard', () => {
  it('passes results and errors through, and rejects what does not settle in time', async () => {
    const guard = new DeadlineGuard(50);
    assert.equal(await guard.run(Promise.resolve(7), () => new Error('late')), 7);
    await assert.rejects(guard.run(Promise.reject(new Error('boom')), () => new Error('late')), /boom/);
    const t0 = performance.now();
    const never = new Promise<never>(() => {});
    const results = await Promise.allSettled([guard.run(never, () => new Error('late 1')), guard.run(never, () => new Error('late 2'))]);
    const ms = performance.now() - t0;
    assert.deepEqual(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')), ['late 1', 'late 2']);
    assert.ok(ms >= 49 && ms < 500, `expired after ${ms.toFixed(0)} ms`);
    assert.equal(guard.pending, 0);
  });

  it('keeps no settled entry once its deadline passed', async () => {
    const guard = new DeadlineGuard(20);
    await Promise.all(Array.from({ length: 5000 }, (_, i) => guard.run(Promise.resolve(i), () => new Error('late'))));
    const late = guard.run(new Promise<never>(() => {}), () => new Error('late'));
    await assert.rejects(late, /late/);
    assert.equal(guard.pending, 0);
    assert.throws(() => new DeadlineGuard(0), RangeError);
  });
});

describe('KeyLayout', () => {
  it('tags by interaction, escaping braces and percent signs', () => {
    const l = new KeyLayout({ prefix: 'cx:', keyFields: ['interactionId'] });
    assert.equal(l.dedupKey('i-1', 'i-1'), 'cx:{i-1}:k');
    assert.equal(l.stateKey('i-1'), 'cx:{i-1}:s');
    assert.equal(escapeTag('a{b}%c'), 'a%7Bb%7D%25c');
    assert.equal(l.stateKey('}'), 'cx:{%7D}:s');
    const multi = new KeyLayout({ prefix: 'cx:', keyFields: ['interactionId', 'updatedTimestamp'] });
    assert.equal(multi.dedupKey('i-1', '3:i-112:1705314600.0'), 'cx:{i-1}:k:3:i-112:1705314600.0');
    const spanning = new KeyLayout({ prefix: 'cx:', keyFields: ['dataActionId'] });
    assert.equal(spanning.dedupKey('i-1', 'da-{9}'), 'cx:{da-%7B9%7D}:k');
    assert.deepEqual(new KeyLayout({ prefix: 'cx:', keyFields: ['interactionId'], stream: 'ev' }).streamKeys(), ['ev']);
  });

  it('partitions deterministically and puts the stream in the partition', () => {
    const l = new KeyLayout({ prefix: 'cx:', keyFields: ['interactionId'], stream: 'ev', partitions: 16 });
    const n = fnv1a32('i-1') % 16;
    assert.equal(l.partitionOf('i-1'), n);
    assert.equal(l.dedupKey('i-1', 'i-1'), `cx:{p${n}}:k:i-1`);
    assert.equal(l.stateKey('i-1'), `cx:{p${n}}:s:i-1`);
    assert.equal(l.streamKey('i-1'), `ev:{p${n}}`);
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[l.partitionOf(`interaction-${i}`)]!++;
    assert.ok(Math.min(...counts) > 800 && Math.max(...counts) < 1200, `spread: ${counts.join(',')}`);
  });

  it('refuses braces in the prefix or stream, and a partitioned layout without interactionId', () => {
    assert.throws(() => new KeyLayout({ prefix: 'a{', keyFields: ['interactionId'] }), /prefix/);
    assert.throws(() => new KeyLayout({ prefix: 'a', keyFields: ['interactionId'], stream: 's{1}' }), /stream/);
    assert.throws(() => new KeyLayout({ prefix: 'a', keyFields: ['dataActionId'], stream: 's', partitions: 4 }), /interactionId/);
  });
});
