import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, parseRetryAfter, resolveBackoffPolicy, sleep, DEFAULT_BACKOFF } from '../../src/backoff.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Backoff', { timeout: 10_000 }, () => {
  it('full jitter: uniform below min(cap, base·2^(n-1))', () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000, jitter: 'full' }, () => 0.5);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next()), [50, 100, 200, 400, 500, 500]);
    assert.equal(b.count, 6);
    b.reset();
    assert.equal(b.next(), 50);
  });

  it('full jitter stays within [0, cap) at the extremes of the random source', () => {
    const hi = new Backoff({ baseMs: 100, capMs: 1000 }, () => 0.999999);
    const lo = new Backoff({ baseMs: 100, capMs: 1000 }, () => 0);
    for (let i = 0; i < 50; i += 1) {
      const h = hi.next();
      assert.ok(h >= 0 && h < 1000, `delay ${h}`);
      assert.equal(lo.next(), 0);
    }
  });

  it('a broken random source cannot produce NaN or out-of-range delays', () => {
    for (const r of [Number.NaN, -1, 1, 7]) {
      const b = new Backoff({ baseMs: 100, capMs: 1000 }, () => r);
      const d = b.next();
      assert.ok(Number.isFinite(d) && d >= 0 && d < 1000, `random ${r} → ${d}`);
    }
  });

  it('decorrelated jitter: between base and 3× the previous delay, capped', () => {
    const top = new Backoff({ baseMs: 100, capMs: 2000, jitter: 'decorrelated' }, () => 0.999999);
    const seq = [1, 2, 3, 4, 5].map(() => top.next());
    // ≈ 300, 900, 2000 (cap), 2000, 2000
    assert.deepEqual(seq.map((d) => Math.round(d / 100) * 100), [300, 900, 2000, 2000, 2000]);
    const bottom = new Backoff({ baseMs: 100, capMs: 2000, jitter: 'decorrelated' }, () => 0);
    assert.deepEqual([1, 2, 3].map(() => bottom.next()), [100, 100, 100]);
  });

  it('never retries sooner than Retry-After, clamped to maxRetryAfterMs', () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000, maxRetryAfterMs: 10_000 }, () => 0.5);
    assert.equal(b.next(3000), 3000); // backoff 50 < Retry-After 3000
    assert.equal(b.next(0), 100); // Retry-After 0 → our own backoff
    assert.equal(b.next(60_000), 10_000); // clamped
  });

  it('rejects nonsensical policies with a clear error', () => {
    assert.throws(() => resolveBackoffPolicy({ baseMs: -1 }), /baseMs/);
    assert.throws(() => resolveBackoffPolicy({ baseMs: 500, capMs: 100 }), /capMs/);
    assert.throws(() => resolveBackoffPolicy({ jitter: 'none' as never }), /jitter/);
    assert.deepEqual(resolveBackoffPolicy({ baseMs: undefined }), { ...DEFAULT_BACKOFF });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2030, 0, 1, 12, 0, 0);

  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
  });

  it('reads an HTTP-date relative to now', () => {
    assert.equal(parseRetryAfter(new Date(now + 10_000).toUTCString(), now), 10_000);
    assert.equal(parseRetryAfter('Tue, 01 Jan 2030 12:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter(new Date(now - 60_000).toUTCString(), now), 0, 'a date in the past means now');
  });

  it('clamps to the maximum', () => {
    assert.equal(parseRetryAfter('999999999999', now, 60_000), 60_000);
    assert.equal(parseRetryAfter(new Date(now + 3_600_000).toUTCString(), now, 60_000), 60_000);
  });

  it('ignores absent or malformed values', () => {
    for (const v of [null, undefined, '', '-1', '1.5', '+3', 'soon', '10 s', 'Tue, 99 Foo 2030', 'x'.repeat(100)]) {
      assert.equal(parseRetryAfter(v, now), undefined, JSON.stringify(v));
    }
  });
});

describe('sleep', { timeout: 10_000 }, () => {
  it('waits on the (mockable) global setTimeout', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let done = false;
    const p = sleep(1000).then(() => {
      done = true;
    });
    t.mock.timers.tick(999);
    await flush();
    assert.equal(done, false);
    t.mock.timers.tick(1);
    await p;
    assert.equal(done, true);
  });

  it('stops waiting as soon as the signal aborts, with its reason', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort(new Error('shutdown'));
    await assert.rejects(p, /shutdown/);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await assert.rejects(sleep(60_000, AbortSignal.abort()), { name: 'AbortError' });
  });
});
