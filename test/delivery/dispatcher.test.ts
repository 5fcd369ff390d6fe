import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher, type DispatcherOptions } from '../../src/delivery/dispatcher.js';
import type { DeliveryOutcome } from '../../src/delivery/sink.js';
import { MemorySource } from '../helpers/memory-source.js';
import { until } from '../helpers/wait.js';
import { FakeTime, MemoryDeadLetters, ScriptedSink, T0, captureLogger, interleaved, newRecord, settle } from './support.js';

const delivered: DeliveryOutcome = { kind: 'delivered' };
const retry = (error = 'HTTP 503 Service Unavailable', retryAfterMs?: number): DeliveryOutcome => ({ kind: 'retry', error, retryAfterMs });

function setup(sink: ScriptedSink, options: Partial<DispatcherOptions> = {}) {
  const source = new MemorySource();
  const dead = new MemoryDeadLetters();
  const time = new FakeTime();
  const dispatcher = new Dispatcher({ source, sink, deadLetters: dead, now: time.now, sleep: time.sleep, random: () => 0.5, ...options });
  return { source, dead, time, dispatcher };
}

describe('Dispatcher', { timeout: 60_000 }, () => {
  it('keeps at most `concurrency` attempts running and per-interaction order, while other interactions go on', async () => {
    const sink = new ScriptedSink();
    const time = new FakeTime({ auto: false });
    const { source, dispatcher } = setup(sink, { concurrency: 3, now: time.now, sleep: time.sleep });
    source.push(newRecord('a', 1), newRecord('a', 2), newRecord('b', 1), newRecord('b', 2), newRecord('c', 1));
    dispatcher.start();
    await until('three attempts', () => sink.calls.length === 3);
    await settle();
    assert.deepEqual(sink.ids(), ['a#1', 'b#1', 'c#1'], 'a#2 and b#2 wait for their predecessors');

    sink.calls[2]!.resolve(delivered); // c#1
    await settle();
    assert.equal(sink.calls.length, 3, 'a free slot, but nothing may start');

    sink.calls[0]!.resolve(retry()); // a#1 fails: it waits for its retry, a#2 still may not start
    await until('a#1 to wait for its retry', () => time.pending().length === 1);
    source.push(newRecord('d', 1));
    await until('d#1 to start meanwhile', () => sink.calls.length === 4);
    assert.equal(sink.calls[3]!.record.id, 'd#1');
    assert.equal(dispatcher.stats().waitingRetry, 1);

    sink.calls[1]!.resolve(delivered); // b#1 → b#2 starts
    await until('b#2', () => sink.calls.length === 5);
    assert.equal(sink.calls[4]!.record.id, 'b#2');

    time.pending()[0]!.fire(); // a#1's retry
    await until('a#1 again', () => sink.calls.length === 6);
    assert.deepEqual([sink.calls[5]!.record.id, sink.calls[5]!.attempt], ['a#1', 2]);
    sink.calls[5]!.resolve(delivered);
    await until('a#2', () => sink.calls.length === 7);
    assert.equal(sink.calls[6]!.record.id, 'a#2');
    for (const c of sink.pending()) c.resolve(delivered);
    await until('all acked', () => source.unacked('fake').length === 0);

    assert.ok(sink.maxRunning <= 3);
    assert.deepEqual(source.violations, []);
    const s = dispatcher.stats();
    assert.deepEqual({ delivered: s.delivered, retried: s.retried, deadLettered: s.deadLettered, inFlight: s.inFlight, held: s.held, heldBytes: s.heldBytes }, { delivered: 6, retried: 1, deadLettered: 0, inFlight: 0, held: 0, heldBytes: 0 });
    assert.equal(s.lastError?.message, 'HTTP 503 Service Unavailable');
    assert.equal(s.lastError?.seq, 1);
    await dispatcher.stop({ timeoutMs: 1000 });
    assert.equal(sink.closed, true);
  });

  it('holds a bounded number of records while an interaction is blocked, then stops pulling; all go through once it unblocks', async () => {
    const time = new FakeTime({ auto: false });
    let failFirst = true;
    const sink = new ScriptedSink((r) => {
      if (r.id === 'a#1' && failFirst) {
        failFirst = false;
        return retry();
      }
      return delivered;
    });
    const { source, dispatcher } = setup(sink, { concurrency: 2, maxHeldRecords: 10, now: time.now, sleep: time.sleep });
    const records = [...Array.from({ length: 30 }, (_, i) => newRecord('a', i + 1)), newRecord('b', 1)];
    source.push(...records);
    dispatcher.start();
    await until('a#1 to wait for its retry', () => time.pending().length === 1);
    await settle();
    assert.equal(dispatcher.stats().held, 10);
    assert.equal(source.maxOutstanding('fake'), 10, 'never more than maxHeldRecords handed and unacked');
    assert.equal(sink.calls.length, 1);

    time.pending()[0]!.fire();
    await until('all delivered', () => source.unacked('fake').length === 0);
    assert.deepEqual(sink.ids().filter((id) => id.startsWith('a#')), ['a#1', ...records.filter((r) => r.interactionId === 'a').map((r) => r.id)]);
    assert.ok(sink.ids().includes('b#1'));
    assert.ok(source.maxOutstanding('fake') <= 10);
    assert.deepEqual(source.violations, []);
    await dispatcher.stop({ timeoutMs: 1000 });
  });

  it('the byte bound stops pulling too (but a lone record larger than it still goes)', async () => {
    const time = new FakeTime({ auto: false });
    const sink = new ScriptedSink((r, attempt) => (r.id === 'a#1' && attempt === 1 ? retry() : delivered));
    const big = (i: string, n: number) => newRecord(i, n, { body: Buffer.from(JSON.stringify({ interactionId: i, pad: 'x'.repeat(1000) })) });
    const { source, dispatcher } = setup(sink, { concurrency: 4, maxHeldBytes: 3000, pullBatch: 1, now: time.now, sleep: time.sleep });
    source.push(big('a', 1), big('a', 2), big('a', 3), big('a', 4), big('a', 5), big('b', 1));
    dispatcher.start();
    await until('a#1 to wait', () => time.pending().length === 1);
    await settle();
    assert.equal(dispatcher.stats().held, 3, 'pulling stopped at the byte bound');
    time.pending()[0]!.fire();
    await until('all delivered', () => source.unacked('fake').length === 0);
    await dispatcher.stop({ timeoutMs: 1000 });

    const solo = setup(new ScriptedSink(() => delivered), { maxHeldBytes: 10 });
    solo.source.push(big('z', 1));
    solo.dispatcher.start();
    await until('the oversized record', () => solo.source.unacked('fake').length === 0);
    await solo.dispatcher.stop({ timeoutMs: 1000 });
  });

  it('retries with full-jitter exponential backoff, never sooner than Retry-After (clamped to an hour)', async () => {
    const answers = [retry(), retry('HTTP 429', 7000), retry('HTTP 503', 0), retry('HTTP 429', 10 * 3_600_000), retry(), delivered];
    const sink = new ScriptedSink(() => answers.shift()!);
    const { source, time, dispatcher } = setup(sink);
    source.push(newRecord('a', 1));
    dispatcher.start();
    await until('delivered', () => source.acked('fake').length === 1);
    // base 1 s, random 0.5 → 500, 1000, 2000, 4000, 8000; Retry-After wins when longer.
    assert.deepEqual(time.delays(), [500, 7000, 2000, 3_600_000, 8000]);
    assert.deepEqual(sink.calls.map((c) => c.attempt), [1, 2, 3, 4, 5, 6]);
    const s = dispatcher.stats();
    assert.deepEqual([s.delivered, s.retried, s.deadLettered], [1, 5, 0]);
    await dispatcher.stop({ timeoutMs: 1000 });
  });

  it("a downstream's Retry-After pauses every new attempt of the sink, not just the record's", async () => {
    const time = new FakeTime({ auto: false });
    const sink = new ScriptedSink((r, attempt) => (r.id === 'a#1' && attempt === 1 ? retry('HTTP 429 Too Many Requests', 5000) : delivered));
    const { source, dispatcher } = setup(sink, { concurrency: 1, now: time.now, sleep: time.sleep });
    source.push(newRecord('a', 1), newRecord('b', 1));
    dispatcher.start();
    await until('the record retry and the pause', () => time.pending().length === 2);
    await settle();
    assert.deepEqual(sink.ids(), ['a#1'], 'b#1 does not start during the pause');
    assert.equal(dispatcher.stats().pausedForMs, 5000);
    assert.deepEqual(time.delays(), [5000, 5000]);
    time.pending()[1]!.fire(); // the pause ends
    await until('b#1', () => sink.calls.length === 2);
    assert.equal(sink.calls[1]!.record.id, 'b#1');
    time.pending()[0]!.fire();
    await until('all delivered', () => source.unacked('fake').length === 0);
    await dispatcher.stop({ timeoutMs: 1000 });
  });

  it('dead-letters after DELIVERY_MAX_ATTEMPTS, acks it, then the next record of the interaction goes', async () => {
    const sink = new ScriptedSink((r) => (r.id === 'a#1' ? retry('HTTP 503 Service Unavailable from http://x/hook') : delivered));
    const { source, dead, dispatcher } = setup(sink, { maxAttempts: 3 });
    source.push(newRecord('a', 1), newRecord('a', 2));
    dispatcher.start();
    await until('both finished', () => source.unacked('fake').length === 0);
    assert.deepEqual(sink.ids(), ['a#1', 'a#1', 'a#1', 'a#2']);
    assert.equal(dead.entries.length, 1);
    const e = dead.entries[0]!;
    assert.deepEqual([e.sink, e.record.id, e.attempts, e.atMs], ['fake', 'a#1', 3, T0 + 500 + 1000]);
    assert.equal(e.error, 'gave up after 3 attempts (DELIVERY_MAX_ATTEMPTS): HTTP 503 Service Unavailable from http://x/hook');
    const s = dispatcher.stats();
    assert.deepEqual([s.delivered, s.retried, s.deadLettered], [1, 2, 1]);
    await dispatcher.stop({ timeoutMs: 1000 });
  });

  it('dead-letters once the next retry would start past DELIVERY_MAX_AGE_SECONDS after acceptance; an old record still gets one attempt', async () => {
    const sink = new ScriptedSink(() => retry('HTTP 502 Bad Gateway'));
    const { source, dead, time, dispatcher } = setup(sink, { maxAgeMs: 10_000 });
    source.push(newRecord('a', 1));
    dispatcher.start();
    await until('dead-lettered', () => dead.entries.length === 1);
    // 500 + 1000 + 2000 + 4000 = 7500 ms after acceptance; the next (8000 more) would be past 10 s.
    assert.deepEqual(time.delays(), [500, 1000, 2000, 4000]);
    assert.equal(sink.calls.length, 5);
    assert.match(dead.entries[0]!.error, /^gave up after 5 attempts: the next would start more than 10 s after acceptance \(DELIVERY_MAX_AGE_SECONDS\): HTTP 502 Bad Gateway$/);

    source.push(newRecord('old', 1, { acceptedAtMs: T0 - 3_600_000 }));
    await until('the old record dead-lettered', () => dead.entries.length === 2);
    assert.equal(sink.calls.filter((c) => c.record.id === 'old#1').length, 1);
    await dispatcher.stop({ timeoutMs: 1000 });
  });

  it('a permanent failure is dead-lettered at once with its detail; a throwing or misbehaving sink is retried, never fatal', async () => {
    let n = 0;
    const sink = new ScriptedSink((r) => {
      if (r.id === 'p#1') return { kind: 'permanent', error: 'HTTP 400 Bad Request', detail: '{"error":"bad"}' };
      n += 1;
      if (n === 1) throw new Error('sink bug');
      if (n === 2) return Promise.reject(new TypeError('async sink bug'));
      if (n === 3) return { kind: 'nonsense' } as unknown as DeliveryOutcome;
      return delivered;
    });
    const { source, dead, dispatcher } = setup(sink);
    source.push(newRecord('p', 1), newRecord('q', 1));
    dispatcher.start();
    await until('both finished', () => source.unacked('fake').length === 0);
    assert.equal(dead.entries.length, 1);
    assert.deepEqual([dead.entries[0]!.record.id, dead.entries[0]!.attempts, dead.entries[0]!.error, dead.entries[0]!.detail], ['p#1', 1, 'HTTP 400 Bad Request', '{"error":"bad"}']);
    assert.equal(sink.calls.filter((c) => c.record.id === 'q#1').length, 4);
    assert.equal(dispatcher.stats().retried, 3);
    await dispatcher.stop({ timeoutMs: 1000 });
  });

  it('a failed dead-letter write leaves the record unacked and its interaction blocked, and is tried again', async () => {
    const sink = new ScriptedSink((r) => (r.id === 'a#1' ? { kind: 'permanent', error: 'HTTP 410 Gone' } : delivered));
    const { source, dead, dispatcher } = setup(sink);
    dead.failures = 2;
    source.push(newRecord('a', 1), newRecord('a', 2));
    dispatcher.start();
    await until('written on the third try', () => dead.entries.length === 1);
    assert.equal(dead.attempts, 3);
    await until('both finished', () => source.unacked('fake').length === 0);
    assert.deepEqual(sink.ids(), ['a#1', 'a#2'], 'a#2 only after a#1 was dead-lettered');
    assert.deepEqual(source.violations, []);
    await dispatcher.stop({ timeoutMs: 1000 });
  });

  it('logs dead-letters at most once per interval, with the count', async () => {
    const { logger, lines } = captureLogger();
    const sink = new ScriptedSink(() => ({ kind: 'permanent', error: 'HTTP 404 Not Found' }));
    const { source, dispatcher } = setup(sink, { logger, deadLetterLogIntervalMs: 3_600_000 });
    source.push(...interleaved(['a', 'b', 'c', 'd', 'e'], 1));
    dispatcher.start();
    await until('all dead-lettered', () => dispatcher.stats().deadLettered === 5);
    const dl = () => lines.filter((l) => l.msg === 'records dead-lettered');
    assert.equal(dl().length, 1);
    assert.deepEqual([dl()[0]!.count, dl()[0]!.sink, dl()[0]!.level], [1, 'fake', 'warn']);
    await dispatcher.stop({ timeoutMs: 1000 });
    assert.equal(dl().length, 2, 'the rest is flushed at stop');
    assert.deepEqual([dl()[1]!.count, dl()[1]!.total, dl()[1]!.lastError], [4, 5, 'HTTP 404 Not Found']);
  });

  it('stop(): attempts in progress finish within the timeout and are acked; waiting and queued records stay unacked and come again after a restart', async () => {
    const time = new FakeTime({ auto: false });
    const sink = new ScriptedSink();
    const { source, dispatcher } = setup(sink, { concurrency: 2, now: time.now, sleep: time.sleep });
    source.push(newRecord('a', 1), newRecord('b', 1), newRecord('c', 1), newRecord('d', 1));
    dispatcher.start();
    await until('two attempts', () => sink.calls.length === 2);
    sink.calls[0]!.resolve(retry()); // a#1 waits for a retry
    await until('c#1 starts', () => sink.calls.length === 3);
    const stopping = dispatcher.stop({ timeoutMs: 30_000 });
    await settle();
    assert.equal(sink.calls.length, 3, 'nothing new starts once stopping');
    sink.calls[1]!.resolve(delivered); // b#1
    sink.calls[2]!.resolve(retry()); // c#1 fails while stopping: no retry, stays unacked
    assert.deepEqual(await stopping, { drained: true, aborted: 0, unfinished: 3 });
    assert.deepEqual(source.acked('fake'), [2]);
    assert.equal(dispatcher.stats().waitingRetry, 0);
    assert.equal(time.pending().length, 0, 'the retry wait was cancelled');

    source.restart();
    const again = new ScriptedSink(() => delivered);
    const d2 = new Dispatcher({ source, sink: again, deadLetters: new MemoryDeadLetters() });
    d2.start();
    await until('the rest delivered', () => source.unacked('fake').length === 0);
    assert.deepEqual(again.ids().sort(), ['a#1', 'c#1', 'd#1']);
    assert.deepEqual(source.violations, []);
    await d2.stop({ timeoutMs: 1000 });
    assert.throws(() => dispatcher.start(), /stopped/);
  });

  it('stop(): when the timeout passes, attempts still running are aborted (even if the sink ignores the signal) and stay unacked', async () => {
    const sink = new ScriptedSink();
    const { source, dispatcher } = setup(sink, { concurrency: 2 });
    source.push(newRecord('a', 1), newRecord('b', 1), newRecord('c', 1));
    dispatcher.start();
    await until('two attempts', () => sink.calls.length === 2);
    const result = await dispatcher.stop({ timeoutMs: 20 });
    assert.deepEqual(result, { drained: false, aborted: 2, unfinished: 3 });
    assert.ok(sink.calls.every((c) => c.signal.aborted));
    sink.calls[0]!.resolve(delivered); // too late: not acked
    await settle();
    assert.deepEqual(source.acked('fake'), []);
    assert.deepEqual(source.violations, []);
    assert.equal(await dispatcher.stop({ timeoutMs: 20 }), result, 'stop is idempotent');
  });

  it('a failing source is retried and reported, not fatal', async () => {
    const sink = new ScriptedSink(() => delivered);
    const source = new MemorySource();
    let failures = 2;
    const flaky = {
      next: (s: string, max: number, signal?: AbortSignal) => (failures-- > 0 ? Promise.reject(new Error('EIO: i/o error, read')) : source.next(s, max, signal)),
      ack: (s: string, seq: number) => source.ack(s, seq),
    };
    const time = new FakeTime();
    const dispatcher = new Dispatcher({ source: flaky, sink, deadLetters: new MemoryDeadLetters(), now: time.now, sleep: time.sleep });
    source.push(newRecord('a', 1));
    dispatcher.start();
    await until('delivered', () => source.acked('fake').length === 1);
    assert.equal(dispatcher.stats().lastError?.message, 'reading the outbox failed: EIO: i/o error, read');
    await dispatcher.stop({ timeoutMs: 1000 });
  });

  it('ends its pull loop when the source closes', async () => {
    const sink = new ScriptedSink(() => delivered);
    const { source, dispatcher } = setup(sink);
    source.push(...interleaved(['a', 'b'], 3));
    dispatcher.start();
    await until('delivered', () => source.unacked('fake').length === 0);
    source.close();
    assert.deepEqual(await dispatcher.stop({ timeoutMs: 1000 }), { drained: true, aborted: 0, unfinished: 0 });
  });

  it('refuses nonsensical options', () => {
    const base = { source: new MemorySource(), sink: new ScriptedSink(), deadLetters: new MemoryDeadLetters() };
    assert.throws(() => new Dispatcher({ ...base, concurrency: 0 }), /concurrency/);
    assert.throws(() => new Dispatcher({ ...base, maxAttempts: 1.5 }), /maxAttempts/);
    assert.throws(() => new Dispatcher({ ...base, maxAgeMs: 0 }), /maxAgeMs/);
    assert.throws(() => new Dispatcher({ ...base, backoff: { baseMs: -1 } }), /baseMs/);
  });
});
