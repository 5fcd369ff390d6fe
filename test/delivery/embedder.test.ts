/**
 * The package root as an embedder uses it: `import { startDaemon, loadConfig } from 'cxone-dedup'`
 * (the built dist/index.js, through package.json "exports"), with an in-process `onEvent` that
 * gets the same at-least-once delivery from the same outbox.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../src/http/signature.js';
import { WEBHOOK_PATH } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

const SECRET = 'embedder-secret-0123456789abcdef';

describe("the package root 'cxone-dedup' for embedders", { timeout: 60_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cxone-embed-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('startDaemon({ config, onEvent }) delivers every processed event in process, retries rejections, dead-letters permanent failures', async () => {
    const api = await import('cxone-dedup');
    assert.equal(typeof api.startDaemon, 'function');
    assert.equal(typeof api.loadConfig, 'function');
    assert.equal(typeof api.DedupEngine, 'function');

    const config = api.loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      CXONE_WEBHOOK_SECRET: SECRET,
      OUTBOX_DIR: path.join(dir, 'outbox'),
      ...(process.env.CXONE_TEST_UWS_SHIM === '1' && { ALLOW_UWS_FALLBACK: '1' }),
    });
    const received: Array<{ event: { interactionId: string }; attempt: number; id: string; status: string }> = [];
    let failedOnce = false;
    const daemon = await api.startDaemon({
      config,
      logger: api.silentLogger,
      onEvent: async (event, meta) => {
        const e = event as { interactionId: string };
        received.push({ event: e, attempt: meta.attempt, id: meta.id, status: meta.status });
        if (e.interactionId === 'flaky' && !failedOnce) {
          failedOnce = true;
          throw new Error('not yet');
        }
        if (e.interactionId === 'poison') throw new api.PermanentDeliveryError('cannot handle this one');
      },
    });
    try {
      const post = async (interactionId: string) => {
        const body = JSON.stringify({ interactionId, dataActionId: 'da', updatedTimestamp: '2026-01-01T00:00:00Z', payload: { interactionId } });
        const r = await fetch(`http://127.0.0.1:${daemon.port}${WEBHOOK_PATH}`, { method: 'POST', body, headers: { 'x-nice-signature': signRequest(SECRET, body) } });
        return ((await r.json()) as { status: string }).status;
      };
      assert.equal(await post('steady'), 'processed');
      assert.equal(await post('steady'), 'deduplicated');
      assert.equal(await post('flaky'), 'processed');
      assert.equal(await post('poison'), 'processed');
      await until('the flaky event retried and delivered', () => received.filter((r) => r.event.interactionId === 'flaky').length === 2, 20_000);
      await until('the poison event dead-lettered', () => {
        try {
          return readFileSync(path.join(dir, 'outbox', 'dead-letter.ndjson'), 'utf8').includes('poison');
        } catch {
          return false;
        }
      });
      const steady = received.filter((r) => r.event.interactionId === 'steady');
      assert.equal(steady.length, 1, 'the duplicate was not delivered');
      assert.deepEqual([steady[0]!.status, steady[0]!.attempt], ['processed', 1]);
      const flaky = received.filter((r) => r.event.interactionId === 'flaky');
      assert.deepEqual(flaky.map((r) => r.attempt), [1, 2]);
      assert.equal(flaky[0]!.id, flaky[1]!.id, 'a retry keeps its delivery id');
    } finally {
      await daemon.stop('test over');
    }
  });
});
