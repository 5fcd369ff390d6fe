/**
 * Issue 15's guarantee at scale: with the fingerprint tables, a fresh key is never answered
 * "deduplicated" (a Bloom false positive is settled, not guessed), and a repeat within the window
 * is always a duplicate, whatever the state cache still holds.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { BloomFactory } from '@cxone-dedup/bloom/factory';
import { DedupEngine, type DataActionEvent } from '../../src/dedup/engine.js';
import { loadFactory } from './factories.js';

const ev = (interactionId: string): DataActionEvent => ({ interactionId, dataActionId: 'da', updatedTimestamp: '2026-01-01T00:00:00Z', payload: {} });

describe('exact window at scale', { timeout: 180_000 }, () => {
  let native: BloomFactory;
  let fallback: BloomFactory;
  before(async () => {
    native = await loadFactory('native');
    fallback = await loadFactory('fallback');
  });

  function run(factory: BloomFactory, capacity: number, fresh: number) {
    const engine = new DedupEngine({ factory, capacity, errorRate: 0.001, compactionIntervalSeconds: 3600, stateCacheSize: 1000 });
    let deduplicated = 0;
    let unconfirmed = 0;
    for (let i = 0; i < fresh; i++) {
      const r = engine.process(ev(`fresh-${i.toString(36)}-${(i * 2654435761) >>> 0}`));
      if (r.status === 'deduplicated') deduplicated++;
      if (r.unconfirmed) unconfirmed++;
    }
    return { engine, deduplicated, unconfirmed };
  }

  it('3,000,000 fresh keys, capacity 1,000,000 (three early rotations), state cache 1,000: none deduplicated (native)', () => {
    const { engine, deduplicated, unconfirmed } = run(native, 1_000_000, 3_000_000);
    const s = engine.stats();
    assert.equal(s.compactions, 3);
    assert.equal(deduplicated, 0);
    assert.equal(unconfirmed, 0);
    assert.equal(s.eventsProcessed, 3_000_000);
    // At p = 0.001 about 0.1–0.2 % of the fresh keys hit a Bloom false positive: each was caught.
    assert.ok(s.filter.falsePositivesCaught > 1000, `caught ${s.filter.falsePositivesCaught}`);
    assert.equal(s.filter.tableOverflows, 0);
  });

  it('the same on the fallback filter (300,000 fresh keys, capacity 100,000)', () => {
    const { engine, deduplicated } = run(fallback, 100_000, 300_000);
    assert.equal(engine.stats().compactions, 3);
    assert.equal(deduplicated, 0);
    assert.ok(engine.stats().filter.falsePositivesCaught > 100);
  });

  for (const kind of ['native', 'fallback'] as const) {
    it(`keys re-sent within the window after a 1,000-entry cache evicted their states are all duplicates (${kind})`, () => {
      const engine = new DedupEngine({ factory: kind === 'native' ? native : fallback, capacity: 50_000, errorRate: 0.001, compactionIntervalSeconds: 3600, stateCacheSize: 1000 });
      const ids = Array.from({ length: 60_000 }, (_, i) => `again-${i}`);
      for (const id of ids) assert.equal(engine.process(ev(id)).status, 'processed');
      assert.equal(engine.stats().compactions, 1, 'one early rotation: the first 50,000 keys are in the previous generation');
      assert.ok(engine.stats().stateCache.evictions >= 59_000);
      // The last 40,000: 10,000 in the active generation, 30,000 in the previous one. Their
      // refreshes take the active generation to 40,000 keys, below its capacity: no rotation.
      const again = ids.slice(-40_000);
      let duplicates = 0;
      for (const id of again) {
        const r = engine.process(ev(id));
        if (r.status === 'deduplicated' && !r.unconfirmed) duplicates++;
      }
      assert.equal(duplicates, again.length);
      assert.equal(engine.stats().compactions, 1);
    });
  }
});
