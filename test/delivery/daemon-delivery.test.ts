/**
 * Issue 10 end to end: the real daemon, a real HTTP downstream that fails on command, real files.
 * A 200 means the event is in the outbox; everything acknowledged reaches the downstream, in
 * order per interaction, at least once and only ever repeated under the same Idempotency-Key.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { signRequest } from '../../src/http/signature.js';
import { startDaemon, WEBHOOK_PATH, type RunningDaemon } from '../helpers/daemon.js';
import { Downstream, type Received } from '../helpers/downstream.js';
import { mulberry32 } from '../helpers/prng.js';
import { until } from '../helpers/wait.js';
import { buildRequest, KeepAlivePool, runConcurrently } from '../reliability/helpers/keepalive.js';

const DELIVERY_SECRET = 'delivery-secret-0123456789abcdef';

let root: string;
let dirs = 0;
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'cxone-delivery-e2e-'));
});
after(() => rmSync(root, { recursive: true, force: true }));
const freshDir = () => path.join(root, `outbox-${++dirs}`);

const event = (interactionId: string, second: number, extra: Record<string, unknown> = {}) => ({
  interactionId,
  dataActionId: `da-${second}`,
  updatedTimestamp: new Date(Date.UTC(2026, 5, 1, 0, 0, second)).toISOString(),
  payload: { second, ...extra },
});

/** Body of each accepted delivery, parsed, in arrival order. */
const parsed = (rs: Received[]) => rs.map((r) => JSON.parse(r.body.toString('utf8')) as ReturnType<typeof event>);

interface Sent {
  body: string;
  status: number;
  answer: string;
}

async function sendAll(d: RunningDaemon, bodies: string[], concurrency = 8): Promise<Sent[]> {
  const pool = new KeepAlivePool(d.port, concurrency);
  const out: Sent[] = new Array(bodies.length);
  try {
    await runConcurrently(bodies.length, concurrency, async (i) => {
      const body = bodies[i]!;
      const r = await pool.request(buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', 'x-nice-signature': signRequest(d.secret, body) }, body));
      out[i] = { body, status: r.status, answer: String(r.body) };
    });
  } finally {
    pool.close();
  }
  return out;
}

describe('delivery to an HTTP downstream', { timeout: 120_000 }, () => {
  let downstream: Downstream;
  const daemons: RunningDaemon[] = [];
  before(async () => {
    downstream = await Downstream.start();
  });
  after(async () => {
    await downstream.close();
  });
  afterEach(async () => {
    for (const d of daemons.splice(0)) if (d.proc.exitCode === null && d.proc.signalCode === null) await d.stop('SIGKILL');
    downstream.recover();
    downstream.setRule(undefined);
    downstream.requests.length = 0;
  });

  async function daemon(env: Record<string, string>): Promise<RunningDaemon> {
    const d = await startDaemon({ env: { DELIVERY_URL: downstream.url, DELIVERY_SECRET, OUTBOX_DIR: freshDir(), ...env } });
    daemons.push(d);
    return d;
  }

  it('POSTs the exact bytes with Idempotency-Key, X-Dedup-Status and X-Dedup-Signature; repeats are not delivered', async () => {
    const d = await daemon({});
    const body = JSON.stringify(event('hdr-1', 1, { note: 'ünïcødé' }), null, 2);
    const first = await d.post(body);
    assert.deepEqual([first.status, first.json.status], [200, 'processed']);
    assert.equal((await d.post(body)).json.status, 'deduplicated');
    const [got] = await until('the delivery', () => (downstream.accepted().length >= 1 ? downstream.accepted() : undefined));
    assert.equal(got!.body.toString('utf8'), body, 'the exact bytes received');
    assert.equal(got!.headers['content-type'], 'application/json');
    assert.equal(got!.headers['x-dedup-status'], 'processed');
    assert.match(String(got!.headers['idempotency-key']), /^[0-9a-f]{32}$/);
    assert.equal(got!.headers['x-dedup-signature'], createHmac('sha256', DELIVERY_SECRET).update(body).digest('hex'));
    const stats = await d.stats();
    assert.equal(stats.delivery.sinks.http.delivered, 1);
    assert.equal(stats.delivery.outbox.appends, 1);
    assert.equal(downstream.accepted().length, 1, 'the duplicate was not delivered');
  });

  it('downstream down (503, then 429 with Retry-After, then dropped connections) and back: everything arrives, in order per interaction', async () => {
    const d = await daemon({ DELIVER: 'updates' });
    downstream.behave({ kind: 'status', status: 503 });
    // 12 interactions, 6 updates each, sent concurrently but in order per interaction.
    const interactions = Array.from({ length: 12 }, (_, i) => `down-${i}`);
    for (let second = 0; second < 6; second++) {
      const sent = await sendAll(d, interactions.map((id) => JSON.stringify(event(id, second))));
      assert.ok(sent.every((s) => s.status === 200), JSON.stringify(sent.find((s) => s.status !== 200)));
    }
    await until('failed attempts', () => downstream.requests.length >= 5);
    downstream.behave({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    await until('429 answers', () => downstream.requests.some((r) => r.status === 429));
    downstream.behave({ kind: 'drop' });
    await until('dropped attempts', () => downstream.requests.some((r) => r.answer === 'drop'));
    const lag = (await d.stats()).delivery.sinks.http;
    assert.ok(lag.queuedRecords > 0 && lag.oldestUndeliveredAgeMs > 0, JSON.stringify(lag));
    downstream.recover();
    await until('every update delivered', () => new Set(downstream.acceptedIds()).size === 72, 60_000);

    const byInteraction = new Map<string, number[]>();
    for (const e of parsed(downstream.accepted())) (byInteraction.get(e.interactionId) ?? byInteraction.set(e.interactionId, []).get(e.interactionId)!).push(e.payload.second as number);
    for (const id of interactions) {
      const seconds = byInteraction.get(id)!;
      // At least once: a repeat may follow a lost answer, but never an older state after a newer one.
      const distinct = seconds.filter((s, i) => i === 0 || s !== seconds[i - 1]);
      assert.deepEqual(distinct, [0, 1, 2, 3, 4, 5], `${id}: ${seconds}`);
    }
    // A repeated delivery carries the same Idempotency-Key.
    const keyOf = new Map<string, string>();
    for (const r of downstream.accepted()) {
      const k = r.body.toString('utf8');
      const id = String(r.headers['idempotency-key']);
      assert.equal(keyOf.get(k) ?? id, id);
      keyOf.set(k, id);
    }
    const s = (await d.stats()).delivery.sinks.http;
    assert.ok(s.retried > 0);
    assert.equal(s.queuedRecords, 0);
  });

  it('DELIVER=updates delivers exactly the events that advanced the state, marked processed or update', async () => {
    const d = await daemon({ DELIVER: 'updates', DEDUP_KEY_FIELDS: 'interactionId' });
    const sequence: Array<[string, boolean, string]> = [
      [JSON.stringify(event('upd-1', 10)), true, 'processed'], // first: processed and the state
      [JSON.stringify(event('upd-1', 10)), false, ''], // the same bytes again: nothing new
      [JSON.stringify(event('upd-1', 5)), false, ''], // older, arriving late: stale
      [JSON.stringify(event('upd-1', 20)), true, 'update'], // newer: an update
      [JSON.stringify(event('upd-1', 20, { changed: true })), true, 'update'], // same instant, other content
      [JSON.stringify(event('upd-1', 20, { changed: true })), false, ''], // its repeat
      [JSON.stringify(event('upd-2', 1)), true, 'processed'],
    ];
    for (const [body] of sequence) assert.equal((await d.post(body)).status, 200);
    const expected = sequence.filter(([, delivered]) => delivered);
    await until('the deliveries', () => downstream.accepted().length >= expected.length);
    // Nothing more arrives: the outbox holds exactly what was appended, and all of it was delivered.
    await until('an empty queue', async () => (await d.stats()).delivery.sinks.http.queuedRecords === 0);
    assert.deepEqual(
      downstream.accepted().map((r) => [r.body.toString('utf8'), r.headers['x-dedup-status']]),
      expected.map(([body, , status]) => [body, status]),
    );
  });

  it('outbox full → 503 with Retry-After, /readyz not ready, nothing recorded; once delivered, the retry is processed', async () => {
    const d = await daemon({ OUTBOX_MAX_BYTES: String(1024 * 1024), DELIVERY_CONCURRENCY: '1' });
    downstream.behave({ kind: 'hang' });
    const big = 'x'.repeat(40_000);
    let rejected: { body: string; retryAfter: string | null } | undefined;
    for (let i = 0; i < 60 && rejected === undefined; i++) {
      const body = JSON.stringify(event(`full-${i}`, i, { big }));
      const r = await d.post(body);
      if (r.status === 503) rejected = { body, retryAfter: r.headers.get('retry-after') };
      else assert.equal(r.status, 200);
    }
    assert.ok(rejected, 'the 1 MiB outbox filled up');
    assert.match(rejected.retryAfter ?? '', /^\d+$/);
    assert.equal((await d.get('/readyz')).status, 503);
    const stats = await d.stats();
    assert.equal(stats.rejectedByReason.unavailable, 1);
    assert.equal(stats.delivery.outbox.full, true);
    // Nothing was recorded for it: its interaction has no state.
    const id = (JSON.parse(rejected.body) as { interactionId: string }).interactionId;
    assert.equal((await d.get(`/state/${id}`)).status, 404);

    downstream.release();
    downstream.recover();
    await until('room again', async () => (await d.get('/readyz')).status === 200, 30_000);
    const retry = await d.post(rejected.body);
    assert.deepEqual([retry.status, retry.json.status], [200, 'processed']);
    await until('its delivery', () => downstream.accepted().some((r) => r.body.toString('utf8') === rejected!.body));
  });

  it('kill -9 under load, restart on the same OUTBOX_DIR: every event answered 200 processed reaches the downstream', async (t) => {
    const outbox = freshDir();
    const env = { OUTBOX_DIR: outbox, DELIVERY_CONCURRENCY: '4' };
    let d = await daemon(env);
    // A slow downstream: most records are still in the outbox when the daemon dies.
    downstream.setRule(({ n }) => (n % 3 === 0 ? { kind: 'ok' } : { kind: 'status', status: 503 }));
    const random = mulberry32(20261204);
    const acknowledged = new Set<string>();
    const pool = new KeepAlivePool(d.port, 16, 5_000);
    let killed = false;
    const killAfter = 300 + Math.floor(random() * 400);
    await runConcurrently(2000, 16, async (i) => {
      if (killed) return;
      const body = JSON.stringify(event(`kill-${i}`, i % 60));
      try {
        const r = await pool.request(buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', 'x-nice-signature': signRequest(d.secret, body) }, body));
        if (r.status === 200 && JSON.parse(String(r.body)).status === 'processed') acknowledged.add(`kill-${i}`);
      } catch {
        // The connection died with the daemon: not acknowledged.
      }
      if (!killed && acknowledged.size >= killAfter) {
        killed = true;
        d.proc.kill('SIGKILL');
      }
    });
    pool.close();
    await d.exited;
    assert.ok(acknowledged.size >= killAfter, `${acknowledged.size} acknowledged before the kill`);
    const deliveredBeforeRestart = new Set(parsed(downstream.accepted()).map((e) => e.interactionId));
    const missing = [...acknowledged].filter((id) => !deliveredBeforeRestart.has(id)).length;
    assert.ok(missing > acknowledged.size / 2, `most acknowledged events were still undelivered at the kill (${missing} of ${acknowledged.size})`);

    downstream.setRule(undefined);
    downstream.recover();
    d = await daemon(env);
    await until(
      'every acknowledged event downstream',
      () => {
        const got = new Set(parsed(downstream.accepted()).map((e) => e.interactionId));
        return [...acknowledged].every((id) => got.has(id));
      },
      60_000,
    );
    // Repeats happen (at least once), always under the same Idempotency-Key for the same event.
    const keys = new Map<string, Set<string>>();
    for (const r of downstream.accepted()) {
      const id = (JSON.parse(r.body.toString('utf8')) as { interactionId: string }).interactionId;
      (keys.get(id) ?? keys.set(id, new Set()).get(id)!).add(String(r.headers['idempotency-key']));
    }
    for (const [id, ks] of keys) assert.equal(ks.size, 1, `${id} delivered under ${[...ks]}`);
    const delivered = [...acknowledged].filter((id) => keys.has(id)).length;
    const repeats = downstream.accepted().length - keys.size;
    t.diagnostic(`${acknowledged.size} acknowledged, ${missing} of them undelivered at the kill; after the restart ${delivered} of ${acknowledged.size} delivered, ${keys.size} distinct events and ${repeats} repeats downstream`);
  });

  it('SIGTERM with deliveries hanging: the daemon stops in time; what was left is delivered after the next start', async () => {
    const outbox = freshDir();
    const env = { OUTBOX_DIR: outbox, SHUTDOWN_TIMEOUT_SECONDS: '2', DELIVERY_TIMEOUT_MS: '60000' };
    let d = await daemon(env);
    downstream.behave({ kind: 'hang' });
    const bodies = Array.from({ length: 20 }, (_, i) => JSON.stringify(event(`term-${i}`, i)));
    for (const s of await sendAll(d, bodies)) assert.equal(s.status, 200);
    await until('hanging deliveries', () => downstream.hanging > 0);
    const started = Date.now();
    const exit = await d.stop('SIGTERM');
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - started < 10_000);
    downstream.release();
    downstream.recover();
    d = await daemon(env);
    await until('all 20 delivered', () => new Set(parsed(downstream.accepted()).map((e) => e.interactionId)).size === 20, 30_000);
  });
});
