import { afterEach, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { BloomFactory } from '@cxone-dedup/bloom/factory';
import {
  DedupEngine,
  InvalidEventError,
  type DataActionEvent,
  type DedupEngineOptions,
  type EngineState,
  type EngineStateV1,
} from '../../src/dedup/engine.js';
import { stateEvent } from '../../src/dedup/raw-state.js';
import { parseTimestamp } from '../../src/dedup/timestamp.js';
import { createLogger } from '../../src/log.js';
import type { CompactionRecord } from '../../src/dedup/stats.js';
import { FACTORY_KINDS, loadFactory } from './factories.js';

function ev(interactionId: string, updatedTimestamp = '2024-01-15T10:00:00Z', extra: Partial<DataActionEvent> = {}): DataActionEvent {
  return { interactionId, dataActionId: 'da-1', updatedTimestamp, payload: { n: 1 }, ...extra };
}

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/**
 * 64 bits and one hash (capacity 1000, p 0.99): every new key sets one bit, so it saturates
 * after a few hundred keys while counting at most 64 insertions (no early compaction). Once
 * saturated every key "may be present": a deterministic Bloom false positive.
 */
const TINY = { capacity: 1000, errorRate: 0.99 } as const;

function saturate(engine: DedupEngine, prefix = 'filler'): void {
  for (let i = 0; i < 20_000 && engine.stats().filter.active.fillRatio < 1; i++) engine.process(ev(`${prefix}-${i}`));
  assert.equal(engine.stats().filter.active.fillRatio, 1, 'the tiny filter should be saturated');
}

for (const kind of FACTORY_KINDS) {
  describe(`DedupEngine (${kind} filters)`, { timeout: 60_000 }, () => {
    let factory: BloomFactory;
    const engines: DedupEngine[] = [];
    before(async () => {
      factory = await loadFactory(kind);
    });
    afterEach(() => {
      for (const e of engines.splice(0)) e.stop();
      mock.timers.reset();
    });

    function engine(opts: Partial<DedupEngineOptions> = {}): DedupEngine {
      const e = new DedupEngine({
        factory,
        capacity: 10_000,
        errorRate: 1e-6,
        compactionIntervalSeconds: 60,
        stateCacheSize: 1000,
        ...opts,
      });
      engines.push(e);
      return e;
    }

    describe('options', () => {
      it('rejects bad options with clear errors', () => {
        assert.throws(() => engine({ compactionIntervalSeconds: 0 }), /compactionIntervalSeconds/);
        assert.throws(() => engine({ compactionIntervalSeconds: 3e6 }), /compactionIntervalSeconds/);
        assert.throws(() => engine({ stateCacheSize: 0 }), /state cache capacity/);
        assert.throws(() => engine({ unconfirmedPolicy: 'maybe' as never }), /unconfirmedPolicy/);
        assert.throws(() => engine({ keyFields: [] }), /keyFields/);
        assert.throws(() => engine({ keyFields: ['payload' as never] }), /unknown field "payload"/);
        assert.throws(() => engine({ keyFields: ['interactionId', 'interactionId'] }), /listed twice/);
        assert.throws(() => engine({ capacity: 0 }), RangeError);
        assert.throws(() => engine({ errorRate: 1 }), RangeError);
      });
    });

    describe('process', () => {
      it('first event is processed, a repeat is deduplicated', () => {
        const e = engine();
        const first = e.process(ev('i-1'));
        assert.deepEqual(first, { status: 'processed', key: 'i-1', state: ev('i-1'), unconfirmed: false, stale: false });
        const again = e.process(ev('i-1', '2024-01-15T10:00:05Z'));
        assert.equal(again.status, 'deduplicated');
        assert.equal(again.unconfirmed, false);
        assert.equal(e.process(ev('i-2')).status, 'processed');
        const s = e.stats();
        assert.equal(s.eventsProcessed, 2);
        assert.equal(s.eventsDeduplicated, 1);
        assert.equal(s.eventsUnconfirmed, 0);
      });

      it('duplicates update the latest state; late older events do not', () => {
        const e = engine();
        e.process(ev('i-1', '2024-01-15T10:00:00Z'));
        const newer = ev('i-1', '2024-01-15T10:00:05Z', { payload: { v: 'newer' } });
        const r = e.process(newer);
        assert.equal(r.status, 'deduplicated');
        assert.equal(r.state, newer);
        assert.equal(e.getState('i-1'), newer);
        const late = e.process(ev('i-1', '2024-01-15T10:00:03Z', { payload: { v: 'late' } }));
        assert.equal(late.status, 'deduplicated');
        assert.equal(late.stale, true);
        assert.equal(late.state, newer);
        assert.equal(e.getState('i-1'), newer);
        // Same instant, later arrival wins.
        const tie = ev('i-1', '2024-01-15T11:00:05+01:00', { payload: { v: 'tie' } });
        assert.equal(e.process(tie).state, tie);
      });

      it('uses a pre-parsed timestamp when given', () => {
        const e = engine();
        const event = ev('i-1', '2024-01-15T10:00:00.5Z');
        const t = parseTimestamp(event.updatedTimestamp)!;
        assert.equal(e.process(event, t).status, 'processed');
      });

      it('rejects an invalid event with InvalidEventError and changes nothing', () => {
        const e = engine({ keyFields: ['interactionId', 'dataActionId'], now: manualClock().now });
        const before = e.stats();
        const bad: unknown[] = [
          ev('i-1', '2024-02-30T00:00:00Z'),
          ev('i-1', 'yesterday'),
          ev(''),
          { ...ev('i-1'), interactionId: 42 },
          { ...ev('i-1'), dataActionId: null },
          null,
        ];
        for (const b of bad) assert.throws(() => e.process(b as DataActionEvent), InvalidEventError);
        assert.throws(() => e.process(ev('i-1', '2024-02-30T00:00:00Z')), /updatedTimestamp: day out of range; expected an RFC 3339/);
        assert.deepEqual(e.stats(), before);
        assert.equal(e.getState('i-1'), undefined);
        assert.equal(e.process(ev('i-1')).status, 'processed');
      });

      it('getState does not reorder the LRU', () => {
        const e = engine({ stateCacheSize: 2 });
        e.process(ev('a'));
        e.process(ev('b'));
        assert.ok(e.getState('a'));
        e.process(ev('c')); // evicts a: the read did not refresh it
        assert.equal(e.getState('a'), undefined);
        assert.equal(e.stats().stateCache.evictions, 1);
      });
    });

    describe('multi-field keys', () => {
      it('interactionId,updatedTimestamp drops only exact retransmissions', () => {
        const e = engine({ keyFields: ['interactionId', 'updatedTimestamp'] });
        assert.equal(e.process(ev('i-1', '2024-01-15T10:00:00Z')).status, 'processed');
        assert.equal(e.process(ev('i-1', '2024-01-15T10:00:01Z')).status, 'processed', 'a new update');
        assert.equal(e.process(ev('i-2', '2024-01-15T10:00:00Z')).status, 'processed', 'another interaction');
        const retry = e.process(ev('i-1', '2024-01-15T10:00:00Z'));
        assert.equal(retry.status, 'deduplicated');
        assert.equal(retry.unconfirmed, false, 'settled by the fingerprint tables');
        assert.equal(retry.stale, true);
        // The same instant spelled differently is the same update.
        assert.equal(e.process(ev('i-1', '2024-01-15T11:00:01.000+01:00')).status, 'deduplicated');
        assert.equal(e.getState('i-1')?.updatedTimestamp, '2024-01-15T11:00:01.000+01:00');
        assert.equal(e.stats().eventsUnconfirmed, 0);
      });

      it('different field tuples never share a key', () => {
        const e = engine({ keyFields: ['interactionId', 'dataActionId'] });
        const a = e.process(ev('a:1', undefined, { dataActionId: 'b' }));
        const b = e.process(ev('a', undefined, { dataActionId: '1:b' }));
        const c = e.process(ev('a:1b', undefined, { dataActionId: '' }));
        assert.equal(new Set([a.key, b.key, c.key]).size, 3);
        assert.deepEqual([a.status, b.status, c.status], ['processed', 'processed', 'processed']);
        assert.equal(e.process(ev('a', '2024-01-15T12:00:00Z', { dataActionId: '1:b' })).status, 'deduplicated');
      });

      it('every key of an interaction is remembered exactly, however many it has', () => {
        const e = engine({ keyFields: ['interactionId', 'updatedTimestamp'], unconfirmedPolicy: 'new' });
        const stamps = Array.from({ length: 50 }, (_, i) => new Date(Date.UTC(2024, 0, 15, 10, 0, i)).toISOString());
        for (const t of stamps) assert.equal(e.process(ev('i-1', t)).status, 'processed');
        for (const t of stamps) {
          const r = e.process(ev('i-1', t));
          assert.deepEqual([r.status, r.unconfirmed], ['deduplicated', false], t);
        }
        assert.equal(e.stats().eventsUnconfirmed, 0);
      });

      it('keys spanning interactions are settled exactly too', () => {
        const e = engine({ keyFields: ['dataActionId'], unconfirmedPolicy: 'new' });
        e.process(ev('i-1', undefined, { dataActionId: 'd-1' }));
        const r = e.process(ev('i-2', undefined, { dataActionId: 'd-1' }));
        assert.deepEqual([r.status, r.unconfirmed], ['deduplicated', false]);
        assert.equal(e.process(ev('i-3', undefined, { dataActionId: 'd-2' })).status, 'processed');
      });
    });

    describe('Bloom false positives (deterministic on a saturated filter)', () => {
      for (const policy of ['duplicate', 'new'] as const) {
        it(`a fresh event is processed whatever the filter says (policy '${policy}'), and counted as caught`, () => {
          const e = engine({ ...TINY, unconfirmedPolicy: policy });
          saturate(e);
          const before = e.stats();
          const r = e.process(ev('fresh'));
          assert.deepEqual([r.status, r.unconfirmed], ['processed', false]);
          const after = e.stats();
          assert.equal(after.filter.falsePositivesCaught, before.filter.falsePositivesCaught + 1);
          assert.equal(after.eventsUnconfirmed, 0);
          assert.equal(after.eventsProcessed, before.eventsProcessed + 1);
          const again = e.process(ev('fresh'));
          assert.deepEqual([again.status, again.unconfirmed], ['deduplicated', false]);
        });
      }

      it('an interaction evicted from the state cache is still a duplicate', () => {
        const e = engine({ stateCacheSize: 1, unconfirmedPolicy: 'new' });
        e.process(ev('a'));
        e.process(ev('b')); // evicts a's state
        assert.equal(e.getState('a'), undefined);
        const r = e.process(ev('a'));
        assert.deepEqual([r.status, r.unconfirmed], ['deduplicated', false]);
      });

      it('a key seen before the window is new, though the cache still has its state and the filter says maybe', () => {
        const e = engine({ ...TINY });
        e.process(ev('old'));
        e.compact();
        e.compact(); // 'old' has left both generations
        saturate(e);
        assert.ok(e.getState('old'));
        const r = e.process(ev('old', '2024-01-15T10:00:09Z'));
        assert.deepEqual([r.status, r.unconfirmed], ['processed', false]);
      });
    });

    describe('unconfirmed policy (generations restored from a format-1 snapshot have no tables)', () => {
      /** A format-1 engine state: two saturated tiny Bloom images, and the cache's seen keys. */
      function formatOne(seen: Array<[string, number]>): EngineStateV1 {
        const full = factory.create(TINY.capacity, TINY.errorRate);
        for (let i = 0; i < 5000 && full.fillRatio() < 1; i++) full.add(`old-filler-${i}`);
        const empty = factory.create(TINY.capacity, TINY.errorRate);
        return {
          version: 1,
          keyFields: ['interactionId'],
          epoch: 3,
          generations: {
            active: { image: full.toBuffer(), activatedAtMs: 2_000, insertions: 64 },
            previous: { image: empty.toBuffer(), activatedAtMs: 1_000, insertions: 0 },
          },
          interactions: seen.map(([id, epoch]) => ({ state: ev(id), seen: [[id, epoch] as [string, number]] })),
        };
      }

      for (const [policy, status] of [['duplicate', 'deduplicated'], ['new', 'processed']] as const) {
        it(`'${policy}': a "maybe" the old generation cannot settle is ${status}, and counted`, () => {
          const e = engine({ ...TINY, unconfirmedPolicy: policy });
          e.importState(formatOne([]));
          assert.equal(e.stats().filter.active.exact, false);
          const r = e.process(ev('fresh'));
          assert.deepEqual([r.status, r.unconfirmed], [status, true]);
          assert.equal(e.stats().eventsUnconfirmed, 1);
          const again = e.process(ev('fresh'));
          assert.deepEqual([again.status, again.unconfirmed], ['deduplicated', false], 'recorded since: exact');
        });
      }

      it("keys the old snapshot's cache knew within the window stay exact duplicates", () => {
        const e = engine({ ...TINY, unconfirmedPolicy: 'new' });
        e.importState(formatOne([['recent', 3], ['last-generation', 2], ['too-old', 1]]));
        for (const id of ['recent', 'last-generation']) {
          const r = e.process(ev(id, '2024-01-15T11:00:00Z'));
          assert.deepEqual([r.status, r.unconfirmed], ['deduplicated', false], id);
        }
        assert.deepEqual(
          ((r) => [r.status, r.unconfirmed])(e.process(ev('too-old', '2024-01-15T11:00:00Z'))),
          ['processed', true],
          'outside the window by its epoch: only the inexact filter answers',
        );
      });

      it('two compactions later every generation is exact again', () => {
        const e = engine({ ...TINY, unconfirmedPolicy: 'new' });
        e.importState(formatOne([]));
        e.compact();
        e.compact();
        assert.deepEqual([e.stats().filter.active.exact, e.stats().filter.previous.exact], [true, true]);
        saturate(e);
        assert.deepEqual(((r) => [r.status, r.unconfirmed])(e.process(ev('fresh'))), ['processed', false]);
      });
    });

    describe('sliding window', () => {
      it('no gap: re-sent just after each of several compactions, still a confirmed duplicate', () => {
        const clock = manualClock();
        const e = engine({ now: clock.now });
        assert.equal(e.process(ev('k')).status, 'processed');
        for (let i = 1; i <= 5; i++) {
          clock.advance(59_000);
          e.compact('interval');
          const r = e.process(ev('k', `2024-01-15T10:0${i}:00Z`));
          assert.deepEqual([r.status, r.unconfirmed], ['deduplicated', false], `after compaction ${i}`);
        }
      });

      it('a key idle for more than two intervals is forgotten', () => {
        const e = engine();
        e.process(ev('idle'));
        e.compact('interval');
        assert.equal(e.process(ev('other')).status, 'processed');
        e.compact('interval');
        const r = e.process(ev('idle', '2024-01-15T11:00:00Z'));
        assert.deepEqual([r.status, r.unconfirmed], ['processed', false]);
      });
    });

    describe('compaction', () => {
      it('emits a record with the counters, to the observer and as the return value', () => {
        const records: CompactionRecord[] = [];
        const clock = manualClock();
        const e = engine({ now: clock.now, stateCacheSize: 3, onCompaction: (r) => records.push(r) });
        for (const id of ['a', 'b', 'c', 'd', 'a', 'e']) e.process(ev(id)); // a's state was evicted: still a duplicate
        clock.advance(1234);
        const rec = e.compact();
        assert.equal(records.length, 1);
        assert.equal(records[0], rec);
        const { durationUs, retiredFillRatio, retiredEstimatedFalsePositiveRate, ...exact } = rec;
        assert.deepEqual(exact, {
          timestamp: new Date(clock.now()),
          reason: 'manual',
          compactionCount: 1,
          eventsProcessed: 5,
          eventsDeduplicated: 1,
          eventsUnconfirmed: 0,
          stateCacheSize: 3,
          stateEvictions: 3,
          retiredInsertions: 5,
        });
        assert.ok(durationUs >= 0 && Number.isFinite(durationUs));
        assert.ok(retiredFillRatio > 0 && retiredFillRatio < 0.01);
        assert.ok(retiredEstimatedFalsePositiveRate >= 0 && retiredEstimatedFalsePositiveRate < 1e-6);
        const second = e.compact('interval');
        assert.deepEqual([second.compactionCount, second.retiredInsertions, second.retiredFillRatio], [2, 0, 0]);
        assert.equal(e.stats().compactions, 2);
      });

      it('compacts early when the active generation holds its capacity', () => {
        const records: CompactionRecord[] = [];
        const e = engine({ capacity: 5, errorRate: 1e-4, onCompaction: (r) => records.push(r) });
        for (let i = 0; i < 4; i++) e.process(ev(`k${i}`));
        e.process(ev('k0')); // a repeat is not an insertion
        assert.equal(records.length, 0);
        assert.equal(e.stats().filter.activeInsertions, 4);
        e.process(ev('k4'));
        assert.equal(records.length, 1);
        assert.equal(records[0]!.reason, 'capacity');
        assert.equal(records[0]!.retiredInsertions, 5);
        assert.equal(e.stats().filter.activeInsertions, 0);
        // Still remembered through the previous generation.
        assert.deepEqual(
          ['k0', 'k1', 'k2', 'k3', 'k4'].map((k) => e.process(ev(k)).status),
          Array(5).fill('deduplicated'),
        );
        assert.equal(records.length, 2, 'the refreshes filled the new generation');
      });

      it('swallows observer exceptions and logs them', () => {
        const lines: string[] = [];
        const logger = createLogger({ level: 'warn', write: (l) => lines.push(l) });
        const e = engine({
          capacity: 2,
          logger,
          onCompaction: () => {
            throw new Error('observer broke');
          },
        });
        assert.doesNotThrow(() => e.compact());
        // Also from the hot path (early compaction).
        assert.equal(e.process(ev('a')).status, 'processed');
        assert.equal(e.process(ev('b')).status, 'processed');
        assert.equal(e.stats().compactions, 2);
        assert.equal(e.process(ev('a')).status, 'deduplicated');
        assert.equal(lines.length, 2);
        assert.match(lines[0]!, /compaction observer threw/);
        assert.match(lines[0]!, /observer broke/);
      });

      it('a timer compacts every interval once started, and stops on stop()', () => {
        mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
        const reasons: string[] = [];
        const e = engine({ compactionIntervalSeconds: 10, onCompaction: (r) => reasons.push(r.reason) });
        e.start();
        e.start(); // idempotent
        assert.equal(e.running, true);
        mock.timers.tick(9_999);
        assert.deepEqual(reasons, []);
        mock.timers.tick(1);
        assert.deepEqual(reasons, ['interval']);
        // Node's mock clock jumps to the end of a tick before running callbacks: one interval at a time.
        mock.timers.tick(10_000);
        mock.timers.tick(10_000);
        assert.deepEqual(reasons, ['interval', 'interval', 'interval']);
        assert.equal(e.stats().filter.active.ageSeconds, 0);
        mock.timers.tick(4_000);
        assert.equal(e.stats().filter.active.ageSeconds, 4);
        assert.equal(e.stats().filter.previous.ageSeconds, 14);
        e.stop();
        mock.timers.tick(60_000);
        assert.equal(reasons.length, 3);
        assert.equal(e.running, false);
      });

      it('start() counts the active generation\'s age: one older than an interval compacts at once', () => {
        mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
        const reasons: string[] = [];
        const e = engine({ compactionIntervalSeconds: 10, onCompaction: (r) => reasons.push(r.reason) });
        mock.timers.tick(30_000);
        assert.deepEqual(reasons, [], 'nothing before start()');
        e.start();
        mock.timers.tick(0);
        assert.deepEqual(reasons, ['interval']);
        e.stop();
        mock.timers.tick(4_000);
        e.start(); // the active generation is 4 s old: 6 s left
        mock.timers.tick(5_999);
        assert.equal(reasons.length, 1);
        mock.timers.tick(1);
        assert.equal(reasons.length, 2);
      });

      it('an early compaction gives the new generation a full interval', () => {
        mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
        const reasons: string[] = [];
        const e = engine({ compactionIntervalSeconds: 10, onCompaction: (r) => reasons.push(r.reason) });
        e.start();
        mock.timers.tick(6_000);
        e.compact('manual');
        mock.timers.tick(6_000); // 12 s since start, 6 s since the manual compaction
        assert.deepEqual(reasons, ['manual']);
        mock.timers.tick(4_000);
        assert.deepEqual(reasons, ['manual', 'interval']);
      });

      it('the timer keeps running when the observer throws', () => {
        mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
        let calls = 0;
        const e = engine({
          compactionIntervalSeconds: 1,
          onCompaction: () => {
            calls++;
            throw new Error('boom');
          },
        });
        e.start();
        for (let i = 0; i < 3; i++) mock.timers.tick(1_000);
        assert.equal(calls, 3);
        assert.equal(e.stats().compactions, 3);
      });
    });

    describe('stats', () => {
      it('has exactly the EngineStats shape', () => {
        const clock = manualClock();
        const e = engine({ now: clock.now, capacity: 1000, errorRate: 0.01, stateCacheSize: 50 });
        e.process(ev('a'));
        e.process(ev('a'));
        clock.advance(2500);
        const s = e.stats();
        const gen = (g: typeof s.filter.active) => Object.keys(g).sort();
        assert.deepEqual(Object.keys(s).sort(), ['compactions', 'eventsDeduplicated', 'eventsProcessed', 'eventsUnconfirmed', 'filter', 'stateCache']);
        assert.deepEqual(Object.keys(s.filter).sort(), [
          'active',
          'activeInsertions',
          'bitCount',
          'capacity',
          'errorRate',
          'falsePositivesCaught',
          'hashCount',
          'kind',
          'previous',
          'tableOverflows',
          'tableSlots',
        ]);
        assert.deepEqual(gen(s.filter.active), ['ageSeconds', 'estimatedCardinality', 'estimatedFalsePositiveRate', 'exact', 'fillRatio', 'insertions', 'tableLength']);
        assert.deepEqual(gen(s.filter.previous), gen(s.filter.active));
        assert.deepEqual(s.stateCache, { size: 1, capacity: 50, evictions: 0, bytes: 0, maxBytes: null });
        assert.equal(s.filter.kind, kind);
        assert.equal(s.filter.capacity, 1000);
        assert.equal(s.filter.errorRate, 0.01);
        assert.equal(s.filter.bitCount, factory.create(1000, 0.01).bitCount);
        assert.equal(s.filter.activeInsertions, 1);
        assert.deepEqual([s.filter.active.insertions, s.filter.active.tableLength, s.filter.active.exact], [1, 1, true]);
        assert.equal(s.filter.tableSlots, Math.ceil((4 * 1000) / 3));
        assert.deepEqual([s.filter.falsePositivesCaught, s.filter.tableOverflows], [0, 0]);
        assert.equal(s.filter.active.ageSeconds, 2.5);
        assert.ok(s.filter.active.fillRatio > 0);
        assert.ok(Math.abs(s.filter.active.estimatedCardinality - 1) < 0.5);
        const p = s.filter.previous;
        assert.deepEqual([p.fillRatio, p.estimatedFalsePositiveRate, p.ageSeconds], [0, 0, 2.5]);
        assert.ok(p.estimatedCardinality === 0, `empty previous generation: cardinality ${p.estimatedCardinality}`);
      });
    });

    describe('exportState / importState', () => {
      function filled(opts: Partial<DedupEngineOptions> = {}): DedupEngine {
        const e = engine(opts);
        e.process(ev('old'));
        e.compact();
        e.process(ev('a', '2024-01-15T10:00:00Z'));
        e.process(ev('b', '2024-01-15T10:00:00Z'));
        e.process(ev('a', '2024-01-15T10:00:09Z'));
        return e;
      }

      it('round-trips the window, the states and their recency', () => {
        const src = filled();
        const saved = src.exportState();
        assert.equal(saved.version, 2);
        assert.deepEqual(saved.states.map((state) => stateEvent(state).interactionId), ['old', 'b', 'a']);
        assert.equal(saved.generations.active.exact, true);

        const dst = engine({ stateCacheSize: 2 });
        dst.importState(saved);
        assert.equal(dst.getState('a')?.updatedTimestamp, '2024-01-15T10:00:09Z');
        assert.equal(dst.getState('old'), undefined, 'least recent dropped to fit');
        assert.equal(dst.stats().stateCache.evictions, 1);
        for (const id of ['a', 'b']) {
          const r = dst.process(ev(id, '2024-01-15T10:00:10Z'));
          assert.deepEqual([r.status, r.unconfirmed], ['deduplicated', false], id);
        }
        assert.equal(dst.stats().filter.activeInsertions, 2);
        // The imported epoch continues: one more compaction forgets 'old' (it was in previous).
        dst.compact();
        assert.equal(dst.process(ev('old', '2024-01-15T11:00:00Z')).status, 'processed');
        assert.equal(dst.process(ev('a', '2024-01-15T11:00:00Z')).status, 'deduplicated');
      });

      it('captureState is a picture of its moment: later events and compactions do not change it', () => {
        const e = engine({ keyFields: ['interactionId', 'updatedTimestamp'] });
        e.process(ev('a', '2024-01-15T10:00:00Z'));
        e.compact(); // epoch 1
        e.process(ev('a', '2024-01-15T10:00:01Z'));
        e.process(ev('b', '2024-01-15T10:00:00Z'));
        e.compact(); // epoch 2
        e.process(ev('a', '2024-01-15T10:00:02Z'));
        const capture = e.captureState();
        const exported = structuredClone(e.exportState());
        // Least recently updated first.
        assert.deepEqual(
          capture.states.map(stateEvent).map((st) => [st.interactionId, st.updatedTimestamp]),
          [
            ['b', '2024-01-15T10:00:00Z'],
            ['a', '2024-01-15T10:00:02Z'],
          ],
        );

        // Change everything the capture refers to: new keys, new states, a compaction.
        e.process(ev('b', '2024-01-15T10:00:05Z', { payload: { n: 2 } }));
        e.process(ev('a', '2024-01-15T10:00:06Z'));
        e.compact();
        e.process(ev('c'));
        assert.deepEqual(structuredClone(capture), exported, 'the capture still shows the moment it was taken');
        assert.equal(capture.epoch, 2);
      });

      it('rejects bad or foreign state and changes nothing', () => {
        const saved = filled().exportState();
        const target = engine({ now: manualClock().now });
        target.process(ev('mine'));
        const before = { stats: target.stats(), exported: target.exportState() };
        const badState = (f: (s: EngineState) => unknown) => f(structuredClone(saved));
        const cases: Array<[string, unknown, RegExp]> = [
          ['null', null, /must be an object/],
          ['version', { ...saved, version: 3 }, /unsupported version/],
          ['keyFields', { ...saved, keyFields: ['interactionId', 'updatedTimestamp'] }, /keyFields/],
          ['epoch', { ...saved, epoch: -1 }, /epoch/],
          ['states', { ...saved, states: {} }, /states must be an array/],
          [
            'timestamp',
            badState((s) => ((s.states[0] as { updatedTimestamp: string }).updatedTimestamp = '2024-13-01T00:00:00Z') && s),
            /states\[0\]\.updatedTimestamp/,
          ],
          ['payload', badState((s) => ((s.states[1] as { payload: unknown }).payload = null) || s), /payload/],
          ['generations', { ...saved, generations: undefined }, /generations must be an object/],
          ['exact flag', badState((s) => ((s.generations.active as { exact: unknown }).exact = 'yes') && s), /exact must be a boolean/],
          ['table of another generation', badState((s) => (s.generations.active.table = s.generations.previous.table) && s), /generations state rejected/],
          ['format 1 seen epoch', { version: 1, keyFields: ['interactionId'], epoch: 1, generations: {}, interactions: [{ state: ev('a'), seen: [['a', 99]] }] }, /seen epoch/],
          ['format 1 seen key', { version: 1, keyFields: ['interactionId'], epoch: 1, generations: {}, interactions: [{ state: ev('a'), seen: [['zzz', 1]] }] }, /does not match/],
          [
            'snapshot size',
            { ...saved, generations: engine({ capacity: 5 }).exportState().generations },
            /sized for capacity 5/,
          ],
        ];
        for (const [name, state, re] of cases) {
          assert.throws(() => target.importState(state as EngineState), re, name);
          assert.deepEqual(target.stats(), before.stats, name);
          assert.deepEqual(target.exportState(), before.exported, name);
        }
      });
    });
  });
}
