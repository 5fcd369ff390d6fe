/**
 * deliveryId as a dedup key field: read from the request (RequestFacts), not the body; alone or
 * with body fields; refused (nothing changed) when the request lacks it; kept across a snapshot.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { BloomFactory } from '@cxone-dedup/bloom/factory';
import { DedupEngine, InvalidEventError, type DataActionEvent, type DedupEngineOptions } from '../../src/dedup/engine.js';
import { keyBuilder, KEY_FIELDS, keyNeedsDeliveryId } from '../../src/dedup/key.js';
import { parseTimestamp } from '../../src/dedup/timestamp.js';
import { FACTORY_KINDS, loadFactory } from './factories.js';

const ev = (interactionId: string, payload: Record<string, unknown> = {}): DataActionEvent => ({
  interactionId,
  dataActionId: 'da-1',
  updatedTimestamp: '2026-01-15T10:00:00Z',
  payload,
});
const TS = parseTimestamp('2026-01-15T10:00:00Z')!;

describe('keyBuilder with deliveryId', () => {
  it('is a known field; the key is the id alone, or a prefix-free part of a tuple', () => {
    assert.ok(KEY_FIELDS.includes('deliveryId'));
    assert.equal(keyNeedsDeliveryId(['interactionId']), false);
    assert.equal(keyNeedsDeliveryId(['interactionId', 'deliveryId']), true);
    assert.equal(keyBuilder(['deliveryId'])(ev('i'), TS, { deliveryId: 'd-1' }), 'd-1');
    assert.equal(keyBuilder(['interactionId', 'deliveryId'])(ev('i-1'), TS, { deliveryId: 'd:1' }), '3:i-13:d:1');
    assert.notEqual(
      keyBuilder(['interactionId', 'deliveryId'])(ev('a'), TS, { deliveryId: '1:b' }),
      keyBuilder(['interactionId', 'deliveryId'])(ev('a1:'), TS, { deliveryId: 'b' }),
    );
    assert.throws(() => keyBuilder(['deliveryId'])(ev('i'), TS), /deliveryId/);
    assert.throws(() => keyBuilder(['dataActionId', 'deliveryId'])(ev('i'), TS, { deliveryId: '' }), /deliveryId/);
  });
});

for (const kind of FACTORY_KINDS) {
  describe(`DedupEngine keyed by deliveryId (${kind} filters)`, () => {
    let factory: BloomFactory;
    before(async () => {
      factory = await loadFactory(kind);
    });
    const engine = (opts: Partial<DedupEngineOptions> = {}) =>
      new DedupEngine({ factory, capacity: 10_000, errorRate: 1e-6, compactionIntervalSeconds: 60, stateCacheSize: 1000, keyFields: ['deliveryId'], ...opts });

    it('one delivery id is one event, whatever the body says; other ids are new', () => {
      const e = engine();
      assert.equal(e.process(ev('i-1', { v: 1 }), undefined, 0, { deliveryId: 'd-1' }).status, 'processed');
      const again = e.process(ev('i-1', { v: 2 }), undefined, 0, { deliveryId: 'd-1' });
      assert.deepEqual([again.status, again.unconfirmed, again.key], ['deduplicated', false, 'd-1']);
      // The state still follows the events (ties go to the later arrival).
      assert.deepEqual(e.getState('i-1')?.payload, { v: 2 });
      assert.equal(e.process(ev('i-1', { v: 2 }), undefined, 0, { deliveryId: 'd-2' }).status, 'processed');
      // The same delivery id on another interaction: the window knows the key exactly.
      const other = e.process(ev('i-2'), undefined, 0, { deliveryId: 'd-1' });
      assert.deepEqual([other.status, other.unconfirmed], ['deduplicated', false]);
      assert.equal(engine({ unconfirmedPolicy: 'new' }).process(ev('i-2'), undefined, 0, { deliveryId: 'd-1' }).status, 'processed');
      e.stop();
    });

    it('refuses an event whose request has no delivery id, changing nothing', () => {
      const e = engine({ keyFields: ['interactionId', 'deliveryId'] });
      for (const request of [undefined, {}, { deliveryId: '' }, { deliveryId: 42 as unknown as string }]) {
        assert.throws(() => e.process(ev('i-1'), undefined, 0, request), InvalidEventError, JSON.stringify(request));
      }
      assert.equal(e.stats().eventsProcessed + e.stats().eventsDeduplicated, 0);
      assert.equal(e.getState('i-1'), undefined);
      // Without deliveryId in the key, the request is not needed.
      assert.equal(engine({ keyFields: ['interactionId'] }).process(ev('i-1')).status, 'processed');
    });

    it('a snapshot records the field, and restores only into an engine with the same key fields', () => {
      const a = engine();
      a.process(ev('i-1'), undefined, 0, { deliveryId: 'd-1' });
      const state = a.exportState();
      assert.deepEqual(state.keyFields, ['deliveryId']);
      const b = engine();
      b.importState(state);
      assert.equal(b.process(ev('i-1', { later: true }), undefined, 0, { deliveryId: 'd-1' }).status, 'deduplicated');
      assert.throws(() => engine({ keyFields: ['interactionId'] }).importState(state), /keyFields/);
    });
  });
}
