/** The daemon subscribes itself at start, against the CXone stand-in, and serves webhooks meanwhile. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startCxoneStandin } from '../helpers/cxone-standin.js';
import { until } from '../helpers/wait.js';
import { makeEvent, startDaemon, TEST_SECRET } from '../helpers/daemon.js';

const WEBHOOK_URL = 'https://dedup.example.com/cxone/webhook/data-action';

async function readiness(d: { get(p: string): Promise<{ status: number; json: any }> }) {
  return (await d.get('/readyz')).json.registration;
}

describe('webhook registration at start', () => {
  it('retries 429 (honouring Retry-After) while webhooks are served, then registers', async () => {
    const standin = await startCxoneStandin();
    // Long enough for the test to see the 'retrying' state on a slow machine too.
    standin.script('webhooks', { status: 429, headers: { 'Retry-After': '3' } }, { status: 503 });
    const d = await startDaemon({ env: { ...standin.env(), CXONE_WEBHOOK_URL: WEBHOOK_URL } });
    try {
      const retrying = await until('the retrying state', async () => {
        const r = await readiness(d);
        return r.state === 'retrying' ? r : undefined;
      });
      assert.equal(retrying.lastStatus, 429);
      // Served while registration waits.
      const event = makeEvent();
      assert.equal((await d.post(event)).json.status, 'processed');
      assert.equal((await d.post(event)).json.status, 'deduplicated');
      assert.equal((await d.get('/readyz')).status, 200);

      const done = await until('registration', async () => {
        const r = await readiness(d);
        return r.state === 'registered' ? r : undefined;
      });
      assert.equal(done.attempts, 3);
      const calls = standin.webhookRequests();
      assert.equal(calls.length, 3);
      assert.ok(calls[1]!.at - calls[0]!.at >= 3000, 'waited at least Retry-After before the second attempt');
      const last = calls[2]!;
      assert.match(String(last.headers.authorization), /^Bearer \S+$/);
      assert.deepEqual(JSON.parse(last.body), { url: WEBHOOK_URL, events: ['data.action.updated'], secret: TEST_SECRET });
      const [token] = standin.tokenRequests();
      assert.equal(token!.body, 'grant_type=client_credentials&scope=webhook%3Awrite+webhook%3Aread');
      assert.match(String(token!.headers.authorization), /^Basic /);
      // Secrets stay out of the logs.
      assert.ok(!d.logText().includes(TEST_SECRET));
      assert.ok(!d.logText().includes('standin-secret'));
    } finally {
      await d.stop();
      await standin.close();
    }
  });

  it('treats 409 as already registered', async () => {
    const standin = await startCxoneStandin();
    standin.script('webhooks', { status: 409 });
    const d = await startDaemon({ env: { ...standin.env(), CXONE_WEBHOOK_URL: WEBHOOK_URL } });
    try {
      const r = await until('already_registered', async () => {
        const s = await readiness(d);
        return s.state === 'already_registered' ? s : undefined;
      });
      assert.equal(r.attempts, 1);
    } finally {
      await d.stop();
      await standin.close();
    }
  });

  it('stops on bad credentials with a message naming the settings, and keeps serving', async () => {
    const standin = await startCxoneStandin();
    const d = await startDaemon({ env: { ...standin.env({ CXONE_CLIENT_SECRET: 'wrong-secret' }), CXONE_WEBHOOK_URL: WEBHOOK_URL } });
    try {
      const r = await until('failed', async () => {
        const s = await readiness(d);
        return s.state === 'failed' ? s : undefined;
      });
      assert.match(r.reason, /CXONE_CLIENT_ID/);
      assert.match(r.reason, /CXONE_CLIENT_SECRET/);
      assert.equal(standin.webhookRequests().length, 0);
      assert.equal((await d.post(makeEvent())).status, 200);
      assert.ok(!d.logText().includes('wrong-secret'));
    } finally {
      await d.stop();
      await standin.close();
    }
  });

  it('shutdown interrupts a registration that is waiting to retry', async () => {
    const standin = await startCxoneStandin();
    standin.script('webhooks', { status: 429, headers: { 'Retry-After': '60' } });
    const d = await startDaemon({ env: { ...standin.env(), CXONE_WEBHOOK_URL: WEBHOOK_URL } });
    try {
      await until('retrying', async () => (await readiness(d)).state === 'retrying');
      const exit = await d.stop('SIGTERM', 10_000);
      assert.deepEqual(exit, { code: 0, signal: null });
    } finally {
      await d.stop();
      await standin.close();
    }
  });
});
