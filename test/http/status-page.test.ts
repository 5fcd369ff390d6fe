/**
 * The status page (`GET /`, `/status`) in real headless Chromium against the real daemon: the
 * numbers it shows follow the webhooks sent, it fetches nothing but its own origin, and with
 * STATE_API_TOKEN set it shows nothing until the token is entered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchChromium } from '../helpers/chromium.js';
import { Downstream } from '../helpers/downstream.js';
import { makeEvent, startDaemon, suiteOnWorkers, type RunningDaemon } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'status-page-token-0123456789abcdef';

/** The number a page element carries in data-value; undefined when it has none (no data shown). */
async function value(page: Page, selector: string): Promise<number | undefined> {
  const v = await page.locator(selector).getAttribute('data-value', { timeout: 5000 });
  return v === null || v === '' ? undefined : Number(v);
}

/** Waits until every selector shows its expected number; the error names what the page showed. */
async function shows(page: Page, expected: Record<string, number>, timeoutMs = 15_000): Promise<void> {
  let seen: Record<string, number | undefined> = {};
  try {
    await until(
      'the page to show the expected numbers',
      async () => {
        seen = {};
        for (const selector of Object.keys(expected)) seen[selector] = await value(page, selector);
        return Object.entries(expected).every(([k, v]) => seen[k] === v);
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}: expected ${JSON.stringify(expected)}, page showed ${JSON.stringify(seen)}`);
  }
}

const connState = (page: Page) => page.locator('#conn').getAttribute('data-state');

/** A page that records what it requests and every script error. */
async function openPage(context: BrowserContext, url: string): Promise<{ page: Page; requests: string[]; errors: string[]; consoleErrors: string[] }> {
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  const res = await page.goto(url);
  assert.equal(res?.status(), 200);
  return { page, requests, errors, consoleErrors };
}

describe('status page', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  describe('without STATE_API_TOKEN', () => {
    let d: RunningDaemon;
    before(async () => {
      d = await startDaemon();
    });
    after(async () => {
      await d?.stop();
    });

    it('serves one self-contained page at / and /status (and to HEAD) under a strict CSP', async () => {
      const root = await d.get('/');
      const status = await d.get('/status');
      assert.equal(root.status, 200);
      assert.equal(root.text, status.text);
      assert.equal(root.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(root.headers.get('cache-control'), 'no-store');
      const csp = root.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*';/, 'the inline script is allowed by its hash only');
      assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/]+=*';/);
      assert.match(csp, /connect-src 'self'/);
      assert.doesNotMatch(csp, /unsafe/);
      assert.doesNotMatch(root.text, /(src|href)="(?!data:)|https?:\/\/|@import|url\(/i, 'nothing loaded from elsewhere');
      assert.ok(root.text.length < 40_000, `small: ${root.text.length} bytes`);
      for (const path of ['/', '/status']) {
        const head = await fetch(d.url + path, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
        assert.equal(head.status, 200);
        assert.equal(await head.text(), '');
        assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(root.text)));
        assert.equal(head.headers.get('content-security-policy'), csp);
        const post = await fetch(d.url + path, { method: 'POST', body: '{}', signal: AbortSignal.timeout(10_000) });
        assert.equal(post.status, 405);
        assert.equal(post.headers.get('allow'), 'GET, HEAD');
        await post.text();
      }
    });

    it('shows live numbers that follow the webhooks sent', async () => {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      try {
        const { page, requests, errors, consoleErrors } = await openPage(context, `${d.url}/status`);
        await until('the page to go live', async () => (await connState(page)) === 'live');
        assert.equal(await page.locator('#auth').isHidden(), true);
        assert.equal(await page.locator('#delivery').isHidden(), true, 'no delivery section while /stats has none');
        const ids = ['eventsReceived', 'eventsProcessed', 'eventsDeduplicated', 'eventsRejected', 'rej-bad_signature', 'rej-malformed_json', 'cacheSize'];
        const before: Record<string, number> = {};
        for (const id of ids) before[id] = (await value(page, `#${id}`)) ?? NaN;
        assert.ok(ids.every((id) => Number.isInteger(before[id])), JSON.stringify(before));

        // Requests per second come from the delta between two polls: watch for it while sending.
        const rateSeen = until('a non-zero requests/s', async () => ((await value(page, '#rate')) ?? 0) > 0);
        const event = makeEvent();
        assert.equal((await d.post(event)).json.status, 'processed');
        assert.equal((await d.post(makeEvent())).json.status, 'processed');
        assert.equal((await d.post(makeEvent())).json.status, 'processed');
        assert.equal((await d.post(event)).json.status, 'deduplicated');
        assert.equal((await d.post(event)).json.status, 'deduplicated');
        assert.equal((await d.post(makeEvent(), { signature: 'ab'.repeat(32) })).status, 401);
        assert.equal((await d.post('{"interactionId":')).status, 400);
        await rateSeen;

        await shows(page, {
          '#eventsReceived': before.eventsReceived! + 7,
          '#eventsProcessed': before.eventsProcessed! + 3,
          '#eventsDeduplicated': before.eventsDeduplicated! + 2,
          '#eventsRejected': before.eventsRejected! + 2,
          '#rej-bad_signature': before['rej-bad_signature']! + 1,
          '#rej-malformed_json': before['rej-malformed_json']! + 1,
          // With worker threads on the Redis store the states are in Redis: the threads' caches stay empty.
          '#cacheSize': before.cacheSize! + (suiteOnWorkers ? 0 : 3),
        });
        // The rest agrees with the daemon's own /stats (nothing else is sending).
        const s = await d.stats();
        assert.equal(await value(page, '#dedupRatio'), s.eventsDeduplicated / (s.eventsProcessed + s.eventsDeduplicated));
        assert.equal(await value(page, '#compactions'), s.compactions);
        assert.equal(await value(page, '#filterCapacity'), s.filter.capacity);
        assert.ok(((await value(page, '#lat-count')) ?? 0) >= 7);
        assert.ok(((await value(page, '#lat-p50')) ?? 0) > 0);
        assert.ok(((await value(page, '#lat-max')) ?? 0) >= ((await value(page, '#lat-p99')) ?? Infinity));
        // (With worker threads on the Redis store the threads' own windows stay empty.)
        if (!suiteOnWorkers) assert.ok(((await value(page, '#gen-active-keys')) ?? 0) > 0);
        if (!suiteOnWorkers) assert.ok(((await value(page, '#gen-active-fill')) ?? 0) > 0);
        assert.equal(await value(page, '#gen-active-fpr'), s.filter.generations.active.estimatedFalsePositiveRate);
        assert.ok(((await value(page, '#uptime')) ?? 0) > 0);
        assert.equal(await page.locator('#exporterState').textContent(), 'off');
        assert.equal(await page.locator('[data-reason="bad_signature"] th').textContent(), 'bad signature', 'reasons are named in text, not only drawn');

        assert.deepEqual(errors, [], 'no script errors');
        assert.deepEqual(consoleErrors, [], 'no console errors (a CSP violation would be one)');
        const foreign = requests.filter((u) => !u.startsWith(`${d.url}/`) && !u.startsWith('data:'));
        assert.deepEqual(foreign, [], 'fetches only its own origin');
        assert.ok(requests.some((u) => u === `${d.url}/stats`), 'polls /stats');
      } finally {
        await context.close();
      }
    });

    it('shows a delivery section, generically, when /stats carries one', async () => {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      try {
        let delivery: unknown = {
          queueDepth: 12,
          queueBytes: 4096,
          oldestUndeliveredAgeSeconds: 4.5,
          sinks: [
            { name: 'http', delivered: 10, retried: 2, deadLettered: 1 },
            { name: 'redis', delivered: 7, retried: 0, deadLettered: 0 },
          ],
        };
        // The daemon's real document, with the section added (it does not exist yet).
        await context.route(`${d.url}/stats`, async (route) => {
          const res = await route.fetch();
          const doc = (await res.json()) as Record<string, unknown>;
          if (delivery !== undefined) doc.delivery = delivery;
          await route.fulfill({ response: res, json: doc });
        });
        const { page, errors } = await openPage(context, `${d.url}/`);
        await shows(page, {
          '#delivery-queueDepth': 12,
          '#delivery-queueBytes': 4096,
          '#delivery-oldestUndeliveredAgeSeconds': 4.5,
          'td[data-sink="http"][data-field="delivered"]': 10,
          'td[data-sink="http"][data-field="retried"]': 2,
          'td[data-sink="http"][data-field="deadLettered"]': 1,
          'td[data-sink="redis"][data-field="delivered"]': 7,
        });
        assert.equal(await page.locator('#delivery').isVisible(), true);
        assert.equal(await page.locator('#lag-block').isVisible(), true, 'a lag chart when there is an age');

        // Sinks keyed by name, with a nested group of numbers.
        delivery = { sinks: { http: { delivered: 11, queue: { records: 3, bytes: 100 } } } };
        await shows(page, { 'td[data-sink="http"][data-field="delivered"]': 11, 'td[data-sink="http"][data-field="queue.records"]': 3 });
        assert.equal(await page.locator('#lag-block').isHidden(), true, 'no lag chart without an age');

        delivery = undefined;
        await until('the delivery section to go away', () => page.locator('#delivery').isHidden());
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });
  });

  describe('with a real delivery sink', () => {
    let d: RunningDaemon;
    let downstream: Downstream;
    let outboxDir: string;
    before(async () => {
      downstream = await Downstream.start();
      downstream.behave({ kind: 'hang' });
      outboxDir = mkdtempSync(path.join(tmpdir(), 'status-page-outbox-'));
      d = await startDaemon({ env: { DELIVERY_URL: downstream.url, OUTBOX_DIR: outboxDir, DELIVERY_CONCURRENCY: '1' } });
    });
    after(async () => {
      await d?.stop('SIGKILL');
      await downstream?.close();
      rmSync(outboxDir, { recursive: true, force: true });
    });

    it("shows the daemon's own delivery numbers: queue, lag growing while the downstream hangs, then delivered", async () => {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await d.post(makeEvent())).status, 200);
        const { page, errors } = await openPage(context, `${d.url}/`);
        await shows(page, { 'td[data-sink="http"][data-field="queuedRecords"]': 3, '[id="delivery-outbox.appends"]': 3 });
        assert.equal(await page.locator('#lag-block').isVisible(), true);
        // The lag is the real age of the oldest undelivered event: it grows, shown in seconds.
        const lag = () => value(page, 'td[data-sink="http"][data-field="oldestUndeliveredAgeMs"]');
        const first = (await lag()) ?? 0;
        await until('the lag to grow', async () => ((await lag()) ?? 0) > first + 1000);
        assert.match((await page.locator('td[data-sink="http"][data-field="oldestUndeliveredAgeMs"]').textContent()) ?? '', /s$/);
        downstream.release();
        downstream.recover();
        await shows(page, { 'td[data-sink="http"][data-field="queuedRecords"]': 0, 'td[data-sink="http"][data-field="delivered"]': 3 }, 30_000);
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });
  });

  describe('with STATE_API_TOKEN', () => {
    let d: RunningDaemon;
    before(async () => {
      d = await startDaemon({ env: { STATE_API_TOKEN: TOKEN } });
    });
    after(async () => {
      await d?.stop();
    });

    it('shows no data without the token (/stats answers 401); with it, data appears', async () => {
      assert.equal((await d.post(makeEvent())).json.status, 'processed');
      assert.equal((await d.get('/stats')).status, 401);
      const page0 = await d.get('/');
      assert.equal(page0.status, 200, 'the page itself holds no data and loads without the token');
      assert.ok(!page0.text.includes(TOKEN));

      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      try {
        const { page, errors } = await openPage(context, `${d.url}/`);
        const statsAnswers: Array<{ status: number; authorization: string | undefined }> = [];
        page.on('response', (r) => {
          if (r.url() === `${d.url}/stats`) statsAnswers.push({ status: r.status(), authorization: r.request().headers().authorization });
        });
        await until('the page to ask for the token', async () => (await connState(page)) === 'locked');
        assert.equal(await page.locator('#auth').isVisible(), true);
        assert.equal(await page.locator('#data').isHidden(), true);
        assert.equal(await value(page, '#eventsReceived'), undefined, 'no number on the page');
        assert.equal(await page.locator('#eventsReceived').textContent(), '\u2014');

        await page.locator('#token').fill(`${TOKEN}-wrong`);
        await page.locator('#auth button[type=submit]').click();
        await until('the wrong token to be refused', async () => (await page.locator('#auth-error').isVisible()) && (await connState(page)) === 'locked');
        assert.match((await page.locator('#auth-error').textContent()) ?? '', /refused/);
        assert.equal(await page.locator('#data').isHidden(), true);
        assert.equal(await value(page, '#eventsReceived'), undefined);
        assert.ok(statsAnswers.length >= 1 && statsAnswers.every((a) => a.status === 401), JSON.stringify(statsAnswers));

        await page.locator('#token').fill(TOKEN);
        await page.locator('#auth button[type=submit]').click();
        await shows(page, { '#eventsReceived': 1, '#eventsProcessed': 1 });
        assert.equal(await connState(page), 'live');
        assert.equal(await page.locator('#auth').isHidden(), true);
        const ok = statsAnswers.filter((a) => a.status === 200);
        assert.ok(ok.length >= 1 && ok.every((a) => a.authorization === `Bearer ${TOKEN}`), 'sent as a bearer token');

        // Kept for this tab (a reload) but not for another browser profile.
        assert.equal((await d.post(makeEvent())).json.status, 'processed');
        await page.reload();
        await shows(page, { '#eventsReceived': 2, '#eventsProcessed': 2 });
        const other = await browser.newContext();
        try {
          const { page: stranger } = await openPage(other, `${d.url}/status`);
          await until('another profile to be asked for the token', async () => (await connState(stranger)) === 'locked');
          assert.equal(await value(stranger, '#eventsReceived'), undefined);
        } finally {
          await other.close();
        }

        await page.locator('#forget').click();
        await until('the page to forget the token', async () => (await connState(page)) === 'locked');
        assert.equal(await page.locator('#data').isHidden(), true);
        assert.deepEqual(errors, [], 'no script errors');
      } finally {
        await context.close();
      }
    });
  });
});
