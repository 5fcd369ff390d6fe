/**
 * Issue 15 over HTTP against the real daemon with small settings: fresh interactions are never
 * answered "deduplicated" across several early rotations, and repeats whose states the tiny state
 * cache evicted are still duplicates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../src/http/signature.js';
import { startDaemon, WEBHOOK_PATH, type RunningDaemon } from '../helpers/daemon.js';
import { buildRequest, KeepAlivePool, runConcurrently } from '../reliability/helpers/keepalive.js';

describe('exact window over HTTP', { timeout: 120_000 }, () => {
  let d: RunningDaemon;
  let pool: KeepAlivePool;
  before(async () => {
    d = await startDaemon({ env: { DEDUP_CAPACITY: '2000', DEDUP_ERROR_RATE: '0.01', STATE_CACHE_SIZE: '50', COMPACTION_INTERVAL_SECONDS: '3600' } });
    pool = new KeepAlivePool(d.port, 16);
  });
  after(async () => {
    pool.close();
    await d.stop();
  });

  async function send(ids: string[]): Promise<Map<string, number>> {
    const statuses = new Map<string, number>();
    await runConcurrently(ids.length, 16, async (i) => {
      const body = JSON.stringify({ interactionId: ids[i], dataActionId: 'da', updatedTimestamp: '2026-01-01T00:00:00Z', payload: { i } });
      const r = await pool.request(buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', 'x-nice-signature': signRequest(d.secret, body) }, body));
      assert.equal(r.status, 200, r.body.toString());
      const status = JSON.parse(r.body.toString()).status as string;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
    return statuses;
  }

  it('9,000 fresh interactions through capacity 2,000 at p = 0.01: all processed; the last 1,500 again: all deduplicated', async () => {
    const ids = Array.from({ length: 9000 }, (_, i) => `exact-${i}`);
    const first = await send(ids);
    assert.deepEqual([...first], [['processed', 9000]]);
    let stats = await d.stats();
    assert.equal(stats.compactions, 4);
    assert.equal(stats.eventsUnconfirmed, 0);
    assert.ok(stats.filter.falsePositivesCaught > 0, 'at p = 0.01 some fresh ids hit a Bloom false positive, and were caught');
    // The last 1,500 are within the two generations (the active one holds 1,000 of them; the 500
    // refreshed from the previous one leave it below capacity), and their states are long gone
    // from the 50-entry cache.
    const again = await send(ids.slice(-1500));
    assert.deepEqual([...again], [['deduplicated', 1500]]);
    stats = await d.stats();
    assert.equal(stats.compactions, 4);
    assert.equal(stats.eventsUnconfirmed, 0);
    assert.ok(stats.stateCache.evictions > 8900);
  });
});
