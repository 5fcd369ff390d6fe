import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BloomFactory, BloomFilterLike, BloomKey } from '../../src/bloom/types.js';
import { GenerationalFilter } from '../../src/dedup/generations.js';
import { FACTORY_KINDS, loadFactory } from './factories.js';

/** Wraps a real factory so tests can count calls on each filter it creates. */
function countingFactory(inner: BloomFactory): { factory: BloomFactory; hasCalls: Map<BloomFilterLike, number> } {
  const hasCalls = new Map<BloomFilterLike, number>();
  // An explicit delegate: prototype tricks break on classes with private fields or native wrappers.
  const wrap = (f: BloomFilterLike): BloomFilterLike => {
    const w: BloomFilterLike = {
      kind: f.kind,
      capacity: f.capacity,
      errorRate: f.errorRate,
      bitCount: f.bitCount,
      hashCount: f.hashCount,
      add: (k: BloomKey) => f.add(k),
      has: (k: BloomKey) => {
        hasCalls.set(w, (hasCalls.get(w) ?? 0) + 1);
        return f.has(k);
      },
      addMany: (keys) => f.addMany(keys),
      hasMany: (keys) => f.hasMany(keys),
      clear: () => f.clear(),
      setBitCount: () => f.setBitCount(),
      fillRatio: () => f.fillRatio(),
      estimatedFalsePositiveRate: () => f.estimatedFalsePositiveRate(),
      estimatedCardinality: () => f.estimatedCardinality(),
      toBuffer: () => f.toBuffer(),
    };
    return w;
  };
  return {
    factory: { ...inner, create: (n, p) => wrap(inner.create(n, p)), fromBuffer: (b) => wrap(inner.fromBuffer(b)) },
    hasCalls,
  };
}

for (const kind of FACTORY_KINDS) {
  describe(`GenerationalFilter (${kind} filters)`, { timeout: 30_000 }, () => {
    let factory: BloomFactory;
    before(async () => {
      factory = await loadFactory(kind);
    });

    it('sizes two generations from the factory', () => {
      const g = new GenerationalFilter(factory, 1000, 0.001, 0);
      assert.equal(g.kind, kind);
      assert.equal(g.capacity, 1000);
      assert.equal(g.errorRate, 0.001);
      assert.notEqual(g.active, g.previous);
      assert.equal(g.active.bitCount, g.previous.bitCount);
    });

    it('observe: first sight is new, the second is "maybe seen"', () => {
      const g = new GenerationalFilter(factory, 1000, 1e-6, 0);
      assert.equal(g.observe('k1'), false);
      assert.equal(g.observe('k1'), true);
      assert.equal(g.observe('k2'), false);
      assert.equal(g.activeInsertions, 2);
    });

    it('no gap: a key re-sent just after each of several compactions is still seen', () => {
      const g = new GenerationalFilter(factory, 1000, 1e-6, 0);
      assert.equal(g.observe('sticky'), false);
      for (let i = 1; i <= 6; i++) {
        g.rotate(i * 1000);
        assert.equal(g.observe('sticky'), true, `after compaction ${i}`);
        // Filler traffic in every generation.
        for (let j = 0; j < 50; j++) g.observe(`filler-${i}-${j}`);
      }
    });

    it('a key idle for two generations is forgotten; idle for one is remembered', () => {
      const g = new GenerationalFilter(factory, 1000, 1e-6, 0);
      g.observe('idle');
      g.observe('busy');
      g.rotate(1000);
      assert.equal(g.mightContain('idle'), true, 'still in previous after one compaction');
      assert.equal(g.observe('busy'), true); // refreshed into active
      g.rotate(2000);
      assert.equal(g.mightContain('idle'), false, 'gone after two compactions');
      assert.equal(g.observe('idle'), false);
      assert.equal(g.observe('busy'), true);
    });

    it('mightContain records nothing; record adds without asking', () => {
      const g = new GenerationalFilter(factory, 1000, 1e-6, 0);
      assert.equal(g.mightContain('x'), false);
      assert.equal(g.mightContain('x'), false);
      assert.equal(g.activeInsertions, 0);
      assert.equal(g.record('x'), true);
      assert.equal(g.record('x'), false);
      assert.equal(g.activeInsertions, 1);
      assert.equal(g.mightContain('x'), true);
    });

    it('compaction reuses the two filters: swapped, and the recycled one cleared', () => {
      const g = new GenerationalFilter(factory, 1000, 0.01, 0);
      const first = g.active;
      const second = g.previous;
      for (let i = 0; i < 100; i++) g.observe(`a${i}`);
      g.rotate(10);
      assert.equal(g.previous, first);
      assert.equal(g.active, second);
      for (let i = 0; i < 100; i++) g.observe(`b${i}`);
      g.rotate(20);
      assert.equal(g.active, first, 'the first filter is back as active');
      assert.equal(g.previous, second);
      assert.equal(first.setBitCount(), 0, 'recycled filter cleared');
      assert.ok(second.setBitCount() > 0);
    });

    it('counts insertions per generation and reports activeFull at capacity', () => {
      const g = new GenerationalFilter(factory, 10, 0.001, 0);
      for (let i = 0; i < 9; i++) g.observe(`k${i}`);
      g.observe('k0'); // repeat: not an insertion
      assert.equal(g.activeInsertions, 9);
      assert.equal(g.activeFull, false);
      g.observe('k9');
      assert.equal(g.activeFull, true);
      g.rotate(5);
      assert.equal(g.activeInsertions, 0);
      assert.equal(g.previousInsertions, 10);
      assert.equal(g.activeFull, false);
      // Refreshing a key from previous is a distinct add to active.
      g.observe('k3');
      assert.equal(g.activeInsertions, 1);
    });

    it('tracks activation times across rotations', () => {
      const g = new GenerationalFilter(factory, 10, 0.01, 100);
      assert.equal(g.activeSinceMs, 100);
      assert.equal(g.previousSinceMs, 100);
      g.rotate(500);
      assert.equal(g.activeSinceMs, 500);
      assert.equal(g.previousSinceMs, 100);
      g.rotate(900);
      assert.equal(g.activeSinceMs, 900);
      assert.equal(g.previousSinceMs, 500);
    });

    it('measureActive reports what compaction retires', () => {
      const g = new GenerationalFilter(factory, 100, 0.01, 0);
      assert.deepEqual(g.measureActive(), { insertions: 0, fillRatio: 0, estimatedFalsePositiveRate: 0 });
      for (let i = 0; i < 100; i++) g.observe(`m${i}`);
      const m = g.measureActive();
      assert.equal(m.insertions, g.activeInsertions);
      assert.equal(m.fillRatio, g.active.fillRatio());
      assert.ok(m.fillRatio > 0.3 && m.fillRatio < 0.7, `fill ${m.fillRatio}`);
      assert.ok(Math.abs(m.estimatedFalsePositiveRate - g.active.estimatedFalsePositiveRate()) < 1e-12);
    });

    it('hot path: previous is consulted only when the key is new to active', () => {
      const { factory: counting, hasCalls } = countingFactory(factory);
      const g = new GenerationalFilter(counting, 1000, 1e-6, 0);
      g.observe('h'); // new to active → asks previous
      const prev = g.previous;
      assert.equal(hasCalls.get(prev), 1);
      g.observe('h'); // already in active → no question to previous
      g.observe('h');
      assert.equal(hasCalls.get(prev), 1);
      assert.equal(hasCalls.get(g.active) ?? 0, 0, 'active is only added to');
    });

    it('exports and imports both generations, ages and counts', () => {
      const g = new GenerationalFilter(factory, 1000, 0.001, 0);
      g.observe('old');
      g.rotate(1000);
      g.observe('new');
      const saved = g.exportState();
      assert.equal(saved.active.insertions, 1);
      assert.equal(saved.previous.insertions, 1);
      assert.equal(saved.active.activatedAtMs, 1000);
      assert.equal(saved.previous.activatedAtMs, 0);

      const h = new GenerationalFilter(factory, 1000, 0.001, 5000);
      h.importState(saved);
      assert.equal(h.mightContain('old'), true);
      assert.equal(h.mightContain('new'), true);
      assert.equal(h.activeInsertions, 1);
      assert.equal(h.activeSinceMs, 1000);
      assert.equal(h.previousSinceMs, 0);
      h.rotate(6000);
      assert.equal(h.mightContain('old'), false);
      assert.equal(h.mightContain('new'), true);
    });

    it('import rejects bad state and changes nothing', () => {
      const g = new GenerationalFilter(factory, 1000, 0.001, 0);
      g.observe('keep');
      const good = g.exportState();
      const other = new GenerationalFilter(factory, 500, 0.001, 0).exportState();
      const corrupted = Buffer.from(good.active.image);
      corrupted[corrupted.length - 1]! ^= 0xff;

      const target = new GenerationalFilter(factory, 1000, 0.001, 0);
      target.observe('mine');
      const before = { active: target.active, previous: target.previous, n: target.activeInsertions };
      const bad: Array<[string, unknown, RegExp]> = [
        ['null', null, /must be an object/],
        ['other size', { ...good, previous: other.previous }, /sized for capacity 500/],
        ['corrupted', { ...good, active: { ...good.active, image: corrupted } }, /active snapshot rejected/],
        ['truncated', { ...good, active: { ...good.active, image: good.active.image.subarray(0, 20) } }, /snapshot rejected/],
        ['not bytes', { ...good, active: { ...good.active, image: 'AAAA' } }, /must be bytes/],
        ['insertions', { ...good, active: { ...good.active, insertions: 1001 } }, /insertions/],
        ['negative insertions', { ...good, previous: { ...good.previous, insertions: -1 } }, /insertions/],
        ['time', { ...good, active: { ...good.active, activatedAtMs: Number.NaN } }, /activatedAtMs/],
        ['order', { ...good, previous: { ...good.previous, activatedAtMs: 10 } }, /activated after/],
      ];
      for (const [name, state, re] of bad) {
        assert.throws(() => target.importState(state as never), re, name);
        assert.equal(target.active, before.active, name);
        assert.equal(target.previous, before.previous, name);
        assert.equal(target.activeInsertions, before.n, name);
        assert.equal(target.mightContain('mine'), true, name);
      }
    });
  });
}
