/**
 * `npm run docs:screenshot`: writes docs/status-page.png for the README. Starts the built daemon
 * on loopback with a small filter and cache (so fill and evictions show), opens the status page in
 * headless Chromium, sends about a minute of signed webhooks at a varying rate (new events,
 * repeats and a few bad requests), then takes the picture. Loopback only; bounded in time.
 */
import path from 'node:path';
import { signRequest } from '../src/http/signature.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { ROOT, startDaemon, WEBHOOK_PATH } from '../test/helpers/daemon.js';

const OUT = path.join(ROOT, 'docs', 'status-page.png');
const SECONDS = 60;
const CONCURRENCY = 4;

const d = await startDaemon({
  env: { DEDUP_CAPACITY: '6000', COMPACTION_INTERVAL_SECONDS: '25', STATE_CACHE_SIZE: '2500' },
});
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(`${d.url}/status`);

  let n = 0;
  const recent: string[] = [];
  const post = async (): Promise<void> => {
    n++;
    const roll = n % 100;
    const repeat = roll < 30 && recent.length > 0;
    const id = repeat ? recent[(n * 7919) % recent.length]! : `i-${n}`;
    if (!repeat) recent.push(id) > 500 && recent.shift();
    const body = JSON.stringify({ interactionId: id, dataActionId: `da-${n % 13}`, updatedTimestamp: new Date(Date.UTC(2026, 0, 1) + n).toISOString(), payload: { step: n, queue: 'sales' } });
    let raw = body;
    let signature = signRequest(d.secret, body);
    if (roll === 97) signature = 'ab'.repeat(32); // bad_signature
    if (roll === 98) signature = signRequest(d.secret, (raw = body.slice(0, -5))); // malformed_json
    if (roll === 99 && n % 300 === 99) signature = signRequest(d.secret, (raw = '{"interactionId":"x"}')); // invalid_event
    const res = await fetch(d.url + WEBHOOK_PATH, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', 'x-nice-signature': signature } });
    await res.arrayBuffer();
  };

  const start = Date.now();
  let stop = false;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (!stop) {
      const t = (Date.now() - start) / 1000;
      // 40 to 260 requests/s, in slow waves.
      const rate = 150 + 110 * Math.sin(t / 6) * Math.cos(t / 17);
      await post();
      await new Promise((r) => setTimeout(r, (1000 * CONCURRENCY) / rate));
    }
  });
  // The picture is taken while traffic still flows (a chart ending in a drop would mislead).
  await page.waitForTimeout(SECONDS * 1000);
  await page.screenshot({ path: OUT, fullPage: true });
  stop = true;
  await Promise.all(workers);
  console.log(`wrote ${path.relative(ROOT, OUT)} after ${n} requests`);
} finally {
  await browser.close();
  await d.stop();
}
