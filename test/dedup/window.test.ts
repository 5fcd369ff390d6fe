import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BloomFactory } from '@cxone-dedup/bloom/factory';
import {
  GenerationalWindow,
  RECORD_AT_CAPACITY,
  RECORD_INSERTED,
  VERDICT_DUPLICATE,
  VERDICT_MASK,
  VERDICT_NEW,
} from '../../src/dedup/window.js';
import { FACTORY_KINDS, loadFactory } from './factories.js';

const verdict = (code: number) => code & VERDICT_MASK;

for (const kind of FACTORY_KINDS) {
  describe(`GenerationalWindow (${kind})`, { timeout: 30_000 }, () => {
    let factory: BloomFactory;
    before(async () => {
      factory = await loadFactory(kind);
    });

    it('sizes two generations from the factory', () => {
      const g = new GenerationalWindow(factory, 1000, 0.001, 0);
      assert.equal(g.kind, kind);
      assert.equal(g.capacity, 1000);
      assert.equal(g.errorRate, 0.001);
      assert.equal(g.window.bitCount, factory.create(1000, 0.001).bitCount);
    });

    it('observe: first sight is new, the second a duplicate', () => {
      const g = new GenerationalWindow(factory, 1000, 1e-6, 0);
      assert.equal(verdict(g.observe('k1')), VERDICT_NEW);
      assert.equal(verdict(g.observe('k1')), VERDICT_DUPLICATE);
      assert.equal(verdict(g.observe('k2')), VERDICT_NEW);
      assert.equal(g.activeInsertions, 2);
    });

    it('no gap: a key re-sent just after each of several compactions is still seen', () => {
      const g = new GenerationalWindow(factory, 1000, 1e-6, 0);
      assert.equal(verdict(g.observe('sticky')), VERDICT_NEW);
      for (let i = 1; i <= 6; i++) {
        g.rotate(i * 1000);
        assert.equal(verdict(g.observe('sticky')), VERDICT_DUPLICATE, `after compaction ${i}`);
        // Filler traffic in every generation.
        for (let j = 0; j < 50; j++) g.observe(`filler-${i}-${j}`);
      }
    });

    it('a key idle for two generations is forgotten; idle for one is remembered', () => {
      const g = new GenerationalWindow(factory, 1000, 1e-6, 0);
      g.observe('idle');
      g.observe('busy');
      g.rotate(1000);
      assert.equal(g.check('idle'), VERDICT_DUPLICATE, 'still in previous after one compaction');
      assert.equal(verdict(g.observe('busy')), VERDICT_DUPLICATE); // refreshed into active
      g.rotate(2000);
      assert.equal(g.check('idle'), VERDICT_NEW, 'gone after two compactions');
      assert.equal(verdict(g.observe('idle')), VERDICT_NEW);
      assert.equal(verdict(g.observe('busy')), VERDICT_DUPLICATE);
    });

    it('check records nothing; record adds without asking', () => {
      const g = new GenerationalWindow(factory, 1000, 1e-6, 0);
      assert.equal(g.check('x'), VERDICT_NEW);
      assert.equal(g.check('x'), VERDICT_NEW);
      assert.equal(g.activeInsertions, 0);
      assert.equal(g.record('x') & RECORD_INSERTED, RECORD_INSERTED);
      assert.equal(g.record('x') & RECORD_INSERTED, 0);
      assert.equal(g.activeInsertions, 1);
      assert.equal(g.check('x'), VERDICT_DUPLICATE);
    });

    it('a rotation clears the recycled generation', () => {
      const g = new GenerationalWindow(factory, 1000, 0.01, 0);
      for (let i = 0; i < 100; i++) g.observe(`a${i}`);
      g.rotate(10);
      for (let i = 0; i < 100; i++) g.observe(`b${i}`);
      g.rotate(20);
      const s = g.stats();
      assert.deepEqual([s.active.insertions, s.active.tableLength, s.active.fillRatio], [0, 0, 0], 'recycled generation cleared');
      assert.equal(s.previous.insertions, 100);
      assert.equal(g.check('a0'), VERDICT_NEW);
      assert.equal(g.check('b0'), VERDICT_DUPLICATE);
    });

    it('counts insertions per generation and says when the active one holds its capacity', () => {
      const g = new GenerationalWindow(factory, 10, 0.001, 0);
      for (let i = 0; i < 9; i++) assert.equal(g.observe(`k${i}`) & RECORD_AT_CAPACITY, 0);
      g.observe('k0'); // repeat: not an insertion
      assert.equal(g.activeInsertions, 9);
      assert.equal(g.observe('k9') & RECORD_AT_CAPACITY, RECORD_AT_CAPACITY);
      g.rotate(5);
      assert.equal(g.activeInsertions, 0);
      assert.equal(g.stats().previous.insertions, 10);
      // Refreshing a key from previous is a distinct add to active.
      g.observe('k3');
      assert.equal(g.activeInsertions, 1);
    });

    it('tracks activation times across rotations', () => {
      const g = new GenerationalWindow(factory, 10, 0.01, 100);
      assert.equal(g.activeSinceMs, 100);
      assert.equal(g.previousSinceMs, 100);
      g.rotate(500);
      assert.deepEqual([g.activeSinceMs, g.previousSinceMs], [500, 100]);
      g.rotate(900);
      assert.deepEqual([g.activeSinceMs, g.previousSinceMs], [900, 500]);
    });

    it('measureActive reports what compaction retires', () => {
      const g = new GenerationalWindow(factory, 100, 0.01, 0);
      assert.deepEqual(g.measureActive(), { insertions: 0, fillRatio: 0, estimatedFalsePositiveRate: 0, exact: true });
      for (let i = 0; i < 99; i++) g.observe(`m${i}`);
      const m = g.measureActive();
      assert.equal(m.insertions, 99);
      assert.ok(m.fillRatio > 0.3 && m.fillRatio < 0.7, `fill ${m.fillRatio}`);
      assert.ok(Math.abs(m.estimatedFalsePositiveRate - Math.pow(m.fillRatio, g.window.hashCount)) < 1e-12);
    });

    it('exports and imports both generations, tables, ages and counts', () => {
      const g = new GenerationalWindow(factory, 1000, 0.001, 0);
      g.observe('old');
      g.rotate(1000);
      g.observe('new');
      const saved = g.exportState();
      assert.deepEqual([saved.active.insertions, saved.previous.insertions], [1, 1]);
      assert.deepEqual([saved.active.activatedAtMs, saved.previous.activatedAtMs], [1000, 0]);
      assert.deepEqual([saved.active.exact, saved.previous.exact], [true, true]);
      assert.ok(saved.active.table instanceof Uint8Array);

      const h = new GenerationalWindow(factory, 1000, 0.001, 5000);
      h.importState(saved);
      assert.equal(h.check('old'), VERDICT_DUPLICATE);
      assert.equal(h.check('new'), VERDICT_DUPLICATE);
      assert.equal(h.activeInsertions, 1);
      assert.deepEqual([h.activeSinceMs, h.previousSinceMs], [1000, 0]);
      h.rotate(6000);
      assert.equal(h.check('old'), VERDICT_NEW);
      assert.equal(h.check('new'), VERDICT_DUPLICATE);
    });

    it('import rejects bad state and changes nothing', () => {
      const g = new GenerationalWindow(factory, 1000, 0.001, 0);
      g.observe('keep');
      const good = g.exportState();
      const other = new GenerationalWindow(factory, 500, 0.001, 0).exportState();
      const corrupted = Buffer.from(good.active.bloom);
      corrupted[corrupted.length - 1]! ^= 0xff;

      const target = new GenerationalWindow(factory, 1000, 0.001, 0);
      target.observe('mine');
      const before = JSON.stringify(target.exportState());
      const bad: Array<[string, unknown, RegExp]> = [
        ['null', null, /must be an object/],
        ['other size', { ...good, previous: other.previous }, /rejected|sized for capacity 500/],
        ['other size, both', other, /sized for capacity 500/],
        ['corrupted', { ...good, active: { ...good.active, bloom: corrupted } }, /generations state rejected/],
        ['truncated', { ...good, active: { ...good.active, bloom: good.active.bloom.subarray(0, 20) } }, /generations state rejected/],
        ['not bytes', { ...good, active: { ...good.active, bloom: 'AAAA' } }, /must be bytes/],
        ['table not bytes', { ...good, active: { ...good.active, table: 'AAAA' } }, /table must be bytes or null/],
        ['exact', { ...good, active: { ...good.active, exact: 1 } }, /exact must be a boolean/],
        ['insertions', { ...good, active: { ...good.active, insertions: 1001 } }, /insertions|rejected/],
        ['negative insertions', { ...good, previous: { ...good.previous, insertions: -1 } }, /insertions/],
        ['time', { ...good, active: { ...good.active, activatedAtMs: Number.NaN } }, /activatedAtMs/],
        ['order', { ...good, previous: { ...good.previous, activatedAtMs: 10 } }, /activated after/],
      ];
      for (const [name, state, re] of bad) {
        assert.throws(() => target.importState(state as never), re, name);
        assert.equal(JSON.stringify(target.exportState()), before, name);
        assert.equal(target.check('mine'), VERDICT_DUPLICATE, name);
      }
    });
  });
}
