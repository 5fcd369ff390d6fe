import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher } from '../../src/delivery/dispatcher.js';
import { InProcessSink, PermanentDeliveryError, type DeliveryMeta } from '../../src/delivery/in-process-sink.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';
import { MemorySource } from '../helpers/memory-source.js';
import { until } from '../helpers/wait.js';
import { MemoryDeadLetters, assertOrderPerInteraction, interleaved } from './support.js';

const never = new AbortController().signal;
const BODY = '{"interactionId":"i-9","dataActionId":"da","updatedTimestamp":"2030-01-01T00:00:00Z","payload":{"k":[1,2]}}';
const rec: DeliveryRecord = { seq: 4, id: 'i-9|1', status: 'update', interactionId: 'i-9', acceptedAtMs: 1_900_000_000_000, body: Buffer.from(BODY) };

describe('InProcessSink', { timeout: 30_000 }, () => {
  it('hands onEvent the parsed event and the meta; a resolved promise means delivered', async () => {
    const seen: Array<[unknown, DeliveryMeta]> = [];
    const sink = new InProcessSink({
      onEvent: async (event, meta) => {
        seen.push([event, meta]);
      },
    });
    assert.equal(sink.name, 'in-process');
    assert.deepEqual(await sink.deliver(rec, 3, never), { kind: 'delivered' });
    const [event, meta] = seen[0]!;
    assert.deepEqual(event, JSON.parse(BODY));
    assert.deepEqual({ ...meta, signal: undefined }, { id: 'i-9|1', status: 'update', interactionId: 'i-9', acceptedAtMs: 1_900_000_000_000, attempt: 3, body: Buffer.from(BODY), signal: undefined });
    assert.equal(meta.signal.aborted, false);
    // The handler gets a copy: scribbling on it cannot change what a retry sends.
    meta.body.fill(0);
    assert.equal(rec.body.toString(), BODY);
  });

  it('a handler that returns nothing (synchronous) counts as delivered', async () => {
    const sink = new InProcessSink({ onEvent: () => undefined });
    assert.deepEqual(await sink.deliver(rec, 1, never), { kind: 'delivered' });
  });

  it('a rejection or a synchronous throw means retry; an error with permanent: true means dead-letter', async () => {
    const outcomes = [];
    for (const onEvent of [
      () => Promise.reject(new Error('db down')),
      () => {
        throw new Error('sync bug');
      },
      () => Promise.reject('a string'),
      () => Promise.reject(new PermanentDeliveryError('schema mismatch')),
      () => Promise.reject(Object.assign(new Error('nope'), { permanent: true })),
      () => {
        throw Object.assign(new Error('sync nope'), { permanent: true });
      },
      () => Promise.reject(Object.assign(new Error('not quite'), { permanent: 'yes' })),
    ]) {
      outcomes.push(await new InProcessSink({ onEvent }).deliver(rec, 1, never));
    }
    assert.deepEqual(outcomes, [
      { kind: 'retry', error: 'onEvent failed: db down' },
      { kind: 'retry', error: 'onEvent failed: sync bug' },
      { kind: 'retry', error: 'onEvent failed: a string' },
      { kind: 'permanent', error: 'onEvent failed: schema mismatch' },
      { kind: 'permanent', error: 'onEvent failed: nope' },
      { kind: 'permanent', error: 'onEvent failed: sync nope' },
      { kind: 'retry', error: 'onEvent failed: not quite' },
    ]);
  });

  it('a promise that never settles is given up on after the timeout (its signal aborts); a late rejection is not unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let meta: DeliveryMeta | undefined;
      const hanging = new InProcessSink({
        timeoutMs: 50,
        onEvent: (_e, m) => {
          meta = m;
          return new Promise(() => {});
        },
      });
      assert.deepEqual(await hanging.deliver(rec, 1, never), { kind: 'retry', error: 'onEvent did not settle within 50 ms' });
      assert.equal(meta!.signal.aborted, true);

      let rejectLate!: (e: Error) => void;
      const late = new InProcessSink({ timeoutMs: 50, onEvent: () => new Promise<void>((_r, reject) => (rejectLate = reject)) });
      assert.equal((await late.deliver(rec, 1, never)).kind, 'retry');
      rejectLate(new Error('too late'));
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stopping aborts the attempt and the handler sees it', async () => {
    let meta: DeliveryMeta | undefined;
    const sink = new InProcessSink({
      onEvent: (_e, m) => {
        meta = m;
        return new Promise(() => {});
      },
    });
    const controller = new AbortController();
    const pending = sink.deliver(rec, 1, controller.signal);
    controller.abort();
    assert.deepEqual(await pending, { kind: 'retry', error: 'delivery aborted (stopping)' });
    assert.equal(meta!.signal.aborted, true);
  });

  it('a body that is not JSON is permanent (without calling the handler)', async () => {
    let called = false;
    const sink = new InProcessSink({
      onEvent: () => {
        called = true;
      },
    });
    const o = await sink.deliver({ ...rec, body: Buffer.from('{nope') }, 1, never);
    assert.equal(o.kind, 'permanent');
    assert.equal(called, false);
  });

  it('refuses a missing handler or a bad timeout', () => {
    assert.throws(() => new InProcessSink({ onEvent: undefined as never }), /onEvent/);
    assert.throws(() => new InProcessSink({ onEvent: () => {}, timeoutMs: -1 }), /timeoutMs/);
  });
});

describe('InProcessSink with a dispatcher', { timeout: 60_000 }, () => {
  it('every event reaches onEvent in per-interaction order; failures are retried, a permanent error dead-letters, a stuck handler times out without blocking others', async () => {
    const source = new MemorySource();
    const records = source.push(...interleaved(['a', 'b', 'c', 'd'], 6));
    const log: Array<[string, number, boolean]> = [];
    const stuck = new Set(['c#2']);
    const sink = new InProcessSink({
      timeoutMs: 100,
      onEvent: async (event, meta) => {
        const n = (event as { payload: { n: number } }).payload.n;
        assert.equal(meta.id, `${meta.interactionId}#${n}`);
        if (meta.id === 'b#3') {
          log.push([meta.interactionId, n, true]); // finished (dead-lettered) as far as order goes
          throw new PermanentDeliveryError('b#3 can never be handled');
        }
        if (stuck.delete(meta.id)) {
          log.push([meta.interactionId, n, false]);
          return new Promise<void>(() => {});
        }
        if (meta.attempt === 1 && n % 2 === 0) {
          log.push([meta.interactionId, n, false]);
          throw new Error(`transient failure of ${meta.id}`);
        }
        log.push([meta.interactionId, n, true]);
      },
    });
    const dead = new MemoryDeadLetters();
    const dispatcher = new Dispatcher({ source, sink, deadLetters: dead, concurrency: 4, backoff: { baseMs: 1, capMs: 5 } });
    dispatcher.start();
    await until('every record finished', () => source.unacked('in-process').length === 0);
    assertOrderPerInteraction(log);
    const stuckAt = log.findIndex(([i, n]) => i === 'c' && n === 2);
    const retriedAt = log.findIndex(([i, n], k) => k > stuckAt && i === 'c' && n === 2);
    assert.ok(log.slice(stuckAt + 1, retriedAt).some(([i]) => i !== 'c'), 'other interactions went on while c#2 was stuck');
    assert.deepEqual(dead.entries.map((e) => [e.record.id, e.error]), [['b#3', 'onEvent failed: b#3 can never be handled']]);
    const handled = log.filter(([, , ok]) => ok).map(([i, n]) => `${i}#${n}`);
    assert.deepEqual(handled.sort(), records.map((r) => r.id).sort());
    assert.equal(dispatcher.stats().delivered, records.length - 1);
    assert.match(dispatcher.stats().lastError?.message ?? '', /./);
    assert.deepEqual(source.violations, []);
    await dispatcher.stop({ timeoutMs: 1000 });
  });
});
