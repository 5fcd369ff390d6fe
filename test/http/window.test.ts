/** Dedup window, key fields and the state cache bound, through the real daemon. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeEvent, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

function waitForCompactions(d: RunningDaemon, atLeast: number): Promise<number> {
  return until(`${atLeast} compactions`, async () => {
    const { compactions } = await d.stats();
    return compactions >= atLeast ? (compactions as number) : undefined;
  }, 10_000, 10);
}

describe('dedup window', () => {
  it('has no gap after compactions: a key re-sent just after each one stays a duplicate', async () => {
    const d = await startDaemon({ env: { COMPACTION_INTERVAL_SECONDS: '0.5' } });
    try {
      const event = makeEvent();
      // Read the count first: a compaction between the post and the read would otherwise be missed.
      let seen = (await d.stats()).compactions;
      assert.equal((await d.post(event)).json.status, 'processed');
      for (let i = 0; i < 5; i++) {
        seen = await waitForCompactions(d, seen + 1);
        const res = await d.post({ ...event, updatedTimestamp: new Date(Date.UTC(2026, 5, 1, 0, 0, i)).toISOString() });
        assert.equal(res.json.status, 'deduplicated', `right after compaction ${seen}`);
      }
      const s = await d.stats();
      assert.ok(s.compactions >= 5);
      assert.equal(s.eventsUnconfirmed, 0, 'every duplicate was confirmed by the state cache');
    } finally {
      await d.stop();
    }
  });

  it('forgets a key idle for more than two intervals', async () => {
    const d = await startDaemon({ env: { COMPACTION_INTERVAL_SECONDS: '0.3' } });
    try {
      const event = makeEvent();
      assert.equal((await d.post(event)).json.status, 'processed');
      const c0 = (await d.stats()).compactions;
      await waitForCompactions(d, c0 + 2);
      const again = await d.post(event);
      assert.equal(again.json.status, 'processed');
      assert.equal((await d.post(event)).json.status, 'deduplicated');
    } finally {
      await d.stop();
    }
  });

  it('compacts early when the active generation holds its capacity', async () => {
    const d = await startDaemon({ env: { DEDUP_CAPACITY: '50', COMPACTION_INTERVAL_SECONDS: '3600' } });
    try {
      for (let i = 0; i < 120; i++) assert.equal((await d.post(makeEvent())).status, 200);
      const s = await d.stats();
      assert.ok(s.compactions >= 2, `compactions: ${s.compactions}`);
      assert.ok(s.filter.activeInsertions < 50);
      assert.ok(d.logs.some((l) => l.msg === 'compaction' && l.reason === 'capacity'));
    } finally {
      await d.stop();
    }
  });

  it('DEDUP_KEY_FIELDS=interactionId,updatedTimestamp drops only exact retransmissions', async () => {
    const d = await startDaemon({ env: { DEDUP_KEY_FIELDS: 'interactionId,updatedTimestamp' } });
    try {
      const event = makeEvent({ updatedTimestamp: '2026-04-01T00:00:00Z' });
      assert.equal((await d.post(event)).json.status, 'processed');
      assert.equal((await d.post(event)).json.status, 'deduplicated');
      // Same instant spelled differently is the same update.
      assert.equal((await d.post({ ...event, updatedTimestamp: '2026-04-01T02:00:00.000+02:00' })).json.status, 'deduplicated');
      const next = await d.post({ ...event, updatedTimestamp: '2026-04-01T00:00:01Z', payload: { v: 2 } });
      assert.equal(next.json.status, 'processed');
      assert.deepEqual(next.json.state.payload, { v: 2 });
    } finally {
      await d.stop();
    }
  });

  it('bounds the state cache and counts evictions', async () => {
    const d = await startDaemon({ env: { STATE_CACHE_SIZE: '5' } });
    try {
      const events = Array.from({ length: 8 }, () => makeEvent());
      for (const e of events) assert.equal((await d.post(e)).status, 200);
      const s = await d.stats();
      assert.equal(s.stateCache.size, 5);
      assert.equal(s.stateCache.capacity, 5);
      assert.equal(s.stateCache.evictions, 3);
      for (const e of events.slice(0, 3)) assert.equal((await d.get(`/state/${e.interactionId}`)).status, 404);
      for (const e of events.slice(3)) assert.equal((await d.get(`/state/${e.interactionId}`)).status, 200);
    } finally {
      await d.stop();
    }
  });

  it('bounds the bytes held by the state cache', async () => {
    const d = await startDaemon({ env: { STATE_CACHE_MAX_BYTES: '5000' } });
    try {
      const events = Array.from({ length: 10 }, () => makeEvent({ payload: { blob: 'x'.repeat(1000) } }));
      for (const e of events) assert.equal((await d.post(e)).status, 200);
      const s = await d.stats();
      assert.equal(s.stateCache.maxBytes, 5000);
      assert.ok(s.stateCache.bytes <= 5000 && s.stateCache.bytes > 3000, `bytes ${s.stateCache.bytes}`);
      assert.equal(s.stateCache.size, 4);
      assert.equal(s.stateCache.evictions, 6);
      assert.equal((await d.get(`/state/${events[9]!.interactionId}`)).status, 200);
      assert.equal((await d.get(`/state/${events[0]!.interactionId}`)).status, 404);
    } finally {
      await d.stop();
    }
  });
});
