/**
 * WORKERS=2 on the real daemon: two uWebSockets.js worker threads on one port, sharing one dedup
 * window through a real redis-server, with the main thread's outbox, numbers and shutdown.
 * (The contract suites themselves run against such a daemon in contract.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { signRequest } from '../../src/http/signature.js';
import { makeEvent, runCli, startDaemon, TEST_SECRET, WEBHOOK_PATH, type RunningDaemon } from '../helpers/daemon.js';
import { Downstream } from '../helpers/downstream.js';
import { rawExchange, type RawResponse } from '../helpers/raw-http.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { buildRequest, KeepAlivePool, runConcurrently } from '../reliability/helpers/keepalive.js';

/** What uWS and libuv print when a thread ends with a listen socket open (the process then aborts). */
const ABORT_SIGNS = /uv_loop_close|Assertion failed|Aborted|core dumped|open handles/;

const signed = (body: string) => buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', 'x-nice-signature': signRequest(TEST_SECRET, body) }, body);

/** One webhook on a connection of its own (Connection: close), so the kernel picks a worker for each. */
async function postFresh(port: number, body: string): Promise<RawResponse> {
  const raw = `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-NICE-Signature: ${signRequest(TEST_SECRET, body)}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const [r] = await rawExchange(port, raw, { responses: 1 });
  return r!;
}

/** The JSON log lines of a run that ended (stderr). */
const message = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { level: string; msg: string });

function assertNoAbort(d: RunningDaemon): void {
  assert.doesNotMatch(d.logText(), ABORT_SIGNS);
  assert.deepEqual(d.rawOutput, [], 'every line on stdout and stderr is a JSON log line');
}

describe('WORKERS=2 (worker threads)', { timeout: 240_000 }, () => {
  let redis: RedisServer;
  let downstream: Downstream;
  let root: string;
  let prefixes = 0;
  const daemons: RunningDaemon[] = [];

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'cxone-workers-'));
    redis = await startRedis();
    downstream = await Downstream.start();
  });

  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    downstream.release();
    downstream.recover();
    downstream.requests.length = 0;
  });

  after(async () => {
    await downstream?.close();
    await redis?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  /** A WORKERS=2 daemon on the Redis store under a fresh key prefix (a fresh window). */
  async function daemon(env: Record<string, string> = {}): Promise<RunningDaemon> {
    const d = await startDaemon({ workers: 2, env: { DEDUP_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: `w${++prefixes}:`, REDIS_TIMEOUT_MS: '10000', ...env } });
    daemons.push(d);
    return d;
  }

  it('both workers serve the one port; /stats and /metrics sum them exactly; every thread logs JSON lines, the workers tagged', async () => {
    const d = await daemon();
    const listening = d.logs.find((l) => l.msg === 'listening');
    assert.equal(listening?.workers, 2);
    assert.deepEqual(
      d.logs.filter((l) => l.msg === 'dedup store').map((l) => l.worker).sort(),
      [1, 2],
      'each worker opened its own store (its own Redis connection)',
    );
    // 40 connections: the kernel spreads them over both listen sockets (all on one: 2^-39).
    const sent = 40;
    const repeats = 10;
    const bodies = Array.from({ length: sent }, () => JSON.stringify(makeEvent()));
    await runConcurrently(sent, 8, async (i) => {
      const r = await postFresh(d.port, bodies[i]!);
      assert.deepEqual([r.status, r.json.status], [200, 'processed']);
    });
    await runConcurrently(repeats, 4, async (i) => {
      const r = await postFresh(d.port, bodies[i]!);
      assert.deepEqual([r.status, r.json.status], [200, 'deduplicated']);
    });
    assert.equal((await postFresh(d.port, '{"interactionId":')).status, 400, 'malformed');

    const s = await d.stats();
    assert.equal(s.eventsReceived, sent + repeats + 1);
    assert.equal(s.eventsProcessed, sent);
    assert.equal(s.eventsDeduplicated, repeats);
    assert.equal(s.eventsRejected, 1);
    assert.equal(s.rejectedByReason.malformed_json, 1);
    assert.equal(s.latency.count, sent + repeats + 1);
    assert.ok(s.latency.p50Us > 0 && s.latency.p99Us >= s.latency.p50Us && s.latency.maxUs >= s.latency.p99Us);
    assert.equal(s.workers.length, 2);
    assert.deepEqual(s.workers.map((w: { worker: number }) => w.worker), [1, 2]);
    for (const w of s.workers) {
      assert.ok(w.received > 0, `worker ${w.worker} served some: ${JSON.stringify(s.workers)}`);
      assert.equal(w.responding, true);
      assert.equal(w.received, w.processed + w.deduplicated + w.rejected);
    }
    const total = (k: string) => s.workers.reduce((n: number, w: Record<string, number>) => n + w[k]!, 0);
    assert.equal(total('received'), s.eventsReceived);
    assert.equal(total('processed'), s.eventsProcessed);
    assert.equal(s.store.kind, 'redis');
    assert.equal(s.inFlight, 0);

    const metrics = (await d.get('/metrics')).text;
    assert.match(metrics, new RegExp(`^cxone_dedup_requests_received_total ${sent + repeats + 1}$`, 'm'));
    assert.match(metrics, new RegExp(`^cxone_dedup_events_processed_total ${sent}$`, 'm'));
    assert.match(metrics, new RegExp(`^cxone_dedup_request_duration_seconds_count ${sent + repeats + 1}$`, 'm'), 'the histograms merged');
    assert.match(metrics, /^cxone_dedup_worker_threads 2$/m);
    const ready = await d.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.workers, 2);
    assert.equal(ready.json.redis, 'reachable');

    // GET /state comes from Redis: the same answer whichever worker the connection reaches.
    const id = (JSON.parse(bodies[0]!) as { interactionId: string }).interactionId;
    for (let i = 0; i < 10; i++) {
      const [r] = await rawExchange(d.port, `GET /state/${encodeURIComponent(id)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { responses: 1 });
      assert.deepEqual(r!.json, JSON.parse(bodies[0]!));
    }
    const workerLines = d.logs.filter((l) => l.worker !== undefined);
    assert.deepEqual([...new Set(workerLines.map((l) => l.worker))].sort(), [1, 2]);
    assertNoAbort(d);
  });

  it('the same event sent at once on many connections: exactly one processed, whichever worker got the copies', async () => {
    const d = await daemon();
    const pool = new KeepAlivePool(d.port, 16);
    try {
      const count = 150;
      const copies = 6;
      const problems: string[] = [];
      await runConcurrently(count, 4, async (i) => {
        const body = JSON.stringify(makeEvent({ interactionId: `same-${i}` }));
        const answers = await Promise.all(Array.from({ length: copies }, () => pool.request(signed(body))));
        const processed = answers.filter((a) => a.status === 200 && a.json.status === 'processed').length;
        const deduplicated = answers.filter((a) => a.status === 200 && a.json.status === 'deduplicated').length;
        if (processed !== 1 || deduplicated !== copies - 1) problems.push(`same-${i}: ${answers.map((a) => `${a.status} ${a.json?.status}`).join(', ')}`);
      });
      assert.deepEqual(problems, []);
      const s = await d.stats();
      assert.equal(s.eventsProcessed, count);
      assert.equal(s.eventsDeduplicated, count * (copies - 1));
      assert.ok(s.workers.every((w: { processed: number }) => w.processed > 0), `both workers won some races: ${JSON.stringify(s.workers)}`);
    } finally {
      pool.close();
    }
  });

  it("delivers through the main thread's one outbox: each processed event once, under one Idempotency-Key", async () => {
    const d = await daemon({ DELIVERY_URL: downstream.url, OUTBOX_DIR: path.join(root, 'outbox-1') });
    const count = 60;
    const bodies = Array.from({ length: count }, () => JSON.stringify(makeEvent()));
    await runConcurrently(count, 8, async (i) => {
      const r = await postFresh(d.port, bodies[i]!);
      assert.deepEqual([r.status, r.json.status], [200, 'processed']);
      // A repeat: not delivered again.
      assert.equal((await postFresh(d.port, bodies[i]!)).json.status, 'deduplicated');
    });
    await until('every event delivered', () => new Set(downstream.acceptedIds()).size === count, 30_000);
    assert.deepEqual(downstream.accepted().map((r) => r.body.toString('utf8')).sort(), [...bodies].sort());
    assert.ok(downstream.accepted().every((r) => r.headers['x-dedup-status'] === 'processed'));
    const s = await until('the dispatcher to report them', async () => {
      const now = await d.stats();
      return now.delivery.sinks.http.delivered === count ? now : undefined;
    });
    assert.equal(s.delivery.outbox.appends, count, 'one outbox, appended to by both workers');
    assert.equal(s.delivery.rejectedForDurability, 0);
    assert.ok(s.workers.every((w: { processed: number }) => w.processed > 0), `both workers handed events over: ${JSON.stringify(s.workers)}`);
    assert.equal(d.logs.filter((l) => l.msg === 'delivery').length, 1, 'one outbox, opened by the main thread');
  });

  it('a full outbox: 503 with Retry-After from any worker, /readyz not ready, nothing recorded; once delivered, the retry is processed', async () => {
    const d = await daemon({ DELIVERY_URL: downstream.url, OUTBOX_DIR: path.join(root, 'outbox-2'), OUTBOX_MAX_BYTES: String(1024 * 1024), DELIVERY_CONCURRENCY: '1' });
    downstream.behave({ kind: 'hang' });
    const big = 'x'.repeat(40_000);
    let rejected: { body: string; retryAfter: string | undefined } | undefined;
    for (let i = 0; i < 60 && rejected === undefined; i++) {
      const body = JSON.stringify(makeEvent({ payload: { big } }));
      const r = await postFresh(d.port, body);
      if (r.status === 503) rejected = { body, retryAfter: r.headers['retry-after'] };
      else assert.equal(r.status, 200, r.body);
    }
    assert.ok(rejected, 'the 1 MiB outbox filled up');
    assert.equal(rejected.retryAfter, '5');
    const ready = await d.get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.json.outbox, 'full');
    const s = await d.stats();
    assert.equal(s.rejectedByReason.unavailable, 1);
    assert.equal(s.delivery.rejectedForDurability, 1);
    assert.equal(s.delivery.outbox.full, true);
    const id = (JSON.parse(rejected.body) as { interactionId: string }).interactionId;
    assert.equal((await d.get(`/state/${encodeURIComponent(id)}`)).status, 404, 'nothing recorded for it');

    downstream.release();
    downstream.recover();
    await until('room again', async () => (await d.get('/readyz')).status === 200, 30_000);
    const retry = await postFresh(d.port, rejected.body);
    assert.deepEqual([retry.status, retry.json.status], [200, 'processed']);
    await until('its delivery', () => downstream.accepted().some((r) => r.body.toString('utf8') === rejected!.body));
  });

  it('SIGTERM with requests in flight on both workers: every one answered, the workers close their sockets and end, exit 0', async () => {
    const d = await daemon();
    // Redis holds every command: the webhooks wait in the workers meanwhile.
    const inFlight = 12;
    assert.equal(await redis.command(['CLIENT', 'PAUSE', '3000', 'ALL']), 'OK');
    const answers = Array.from({ length: inFlight }, () => postFresh(d.port, JSON.stringify(makeEvent())));
    const s = await until('the requests in flight on both workers', async () => {
      const now = await d.stats();
      return now.inFlight === inFlight && now.workers.every((w: { inFlight: number }) => w.inFlight > 0) ? now : undefined;
    });
    assert.equal(s.workers.reduce((n: number, w: { inFlight: number }) => n + w.inFlight, 0), inFlight);
    d.proc.kill('SIGTERM');
    const results = await Promise.all(answers);
    assert.deepEqual(results.map((r) => [r.status, r.json.status]), results.map(() => [200, 'processed']));
    const exit = await d.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.deepEqual(
      d.logs.filter((l) => l.msg === 'worker stopped').map((l) => [l.worker, l.drained]).sort(),
      [
        [1, true],
        [2, true],
      ],
    );
    const order = d.logs.map((l) => l.msg);
    assert.ok(order.lastIndexOf('worker stopped') < order.indexOf('stopped'), 'the main thread stops after its workers');
    assertNoAbort(d);
    // Nothing listens any more.
    await assert.rejects(
      new Promise((resolve, reject) => net.connect(d.port, '127.0.0.1').on('connect', resolve).on('error', reject)),
      /ECONNREFUSED/,
    );
  });

  it('a second signal while requests are still in flight: the workers close at once, exit 1, no uWS abort', async () => {
    const d = await daemon();
    assert.equal(await redis.command(['CLIENT', 'PAUSE', '3000', 'ALL']), 'OK');
    const answers = Array.from({ length: 6 }, () => postFresh(d.port, JSON.stringify(makeEvent())).catch((err: unknown) => err));
    await until('requests in flight', async () => (await d.stats()).inFlight === 6);
    d.proc.kill('SIGTERM');
    await d.waitForLog((l) => l.msg === 'shutting down');
    d.proc.kill('SIGTERM');
    const exit = await d.exited;
    assert.deepEqual(exit, { code: 1, signal: null });
    await Promise.all(answers);
    assert.ok(d.logs.some((l) => l.msg === 'second signal: exiting now'));
    assertNoAbort(d);
  });

  it("an embedder's startDaemon with WORKERS=2: onEvent runs on the calling thread, fed from the one outbox; every thread logs through its logger", async () => {
    const api = await import('cxone-dedup');
    const config = api.loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      CXONE_WEBHOOK_SECRET: TEST_SECRET,
      WORKERS: '2',
      DEDUP_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `w${++prefixes}:`,
      OUTBOX_DIR: path.join(root, 'outbox-embedded'),
    });
    const lines: Array<Record<string, unknown>> = [];
    const logger = api.createLogger({ level: 'info', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const received: Array<{ id: string; thread: number }> = [];
    const { threadId } = await import('node:worker_threads');
    const daemon = await api.startDaemon({ config, logger, onEvent: async (event) => void received.push({ id: (event as { interactionId: string }).interactionId, thread: threadId }) });
    try {
      assert.ok(daemon instanceof api.ThreadedDaemon);
      const ids = Array.from({ length: 20 }, (_, i) => `embedded-${i}`);
      await runConcurrently(ids.length, 4, async (i) => {
        const r = await postFresh(daemon.port, JSON.stringify(makeEvent({ interactionId: ids[i] })));
        assert.deepEqual([r.status, r.json.status], [200, 'processed']);
      });
      await until('every event handed to onEvent', () => received.length === ids.length, 20_000);
      assert.deepEqual(received.map((r) => r.id).sort(), [...ids].sort());
      assert.ok(received.every((r) => r.thread === threadId), 'onEvent ran on the thread that started the daemon');
    } finally {
      await daemon.stop('test over');
    }
    assert.deepEqual([...new Set(lines.filter((l) => l.msg === 'worker stopped').map((l) => l.worker))].sort(), [1, 2], "the workers' lines reached the embedder's logger");
    assert.ok(lines.some((l) => l.msg === 'stopped'));
  });

  it('a port another process holds: one message, no thread left behind', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['serve', '--host', '127.0.0.1', '--port', String(port)], { env: { CXONE_WEBHOOK_SECRET: TEST_SECRET, WORKERS: '2', DEDUP_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1' } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(message(r.stderr).at(-1)!.msg, new RegExp(`^cannot start: PORT/HOST: cannot listen on 127\\.0\\.0\\.1:${port}: address in use`));
      assert.doesNotMatch(r.stderr, ABORT_SIGNS);
    } finally {
      holder.close();
    }
  });
});

describe('WORKERS refused where the threads could not keep the contract', () => {
  const serve = (env: Record<string, string>) => runCli(['serve', '--host', '127.0.0.1', '--port', '0'], { env: { CXONE_WEBHOOK_SECRET: TEST_SECRET, ...env } });

  it('with the memory store: one message saying why and what to do instead', async () => {
    const r = await serve({ WORKERS: '2' });
    assert.equal(r.code, 1, r.stderr);
    const lines = message(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(lines[0]!.level, 'error');
    assert.match(lines[0]!.msg, /^invalid configuration: WORKERS=2 \(--workers\) needs DEDUP_STORE=redis: the memory store's dedup window lives in each thread/);
    assert.match(lines[0]!.msg, /Set DEDUP_STORE=redis and REDIS_URL .* or run WORKERS=1$/);
  });

  it('with SNAPSHOT_PATH (the window is in Redis), and bad values of WORKERS itself', async () => {
    const r = await serve({ WORKERS: '3', DEDUP_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1', SNAPSHOT_PATH: path.join(tmpdir(), 'never-written.snap') });
    assert.equal(r.code, 1, r.stderr);
    assert.match(message(r.stderr)[0]!.msg, /SNAPSHOT_PATH \(--snapshot-path\) with WORKERS=3 \(--workers\): with DEDUP_STORE=redis the window and the states live in Redis/);
    for (const bad of ['0', 'two', '257', '1.5']) {
      const b = await runCli(['serve', '--workers', bad], { env: { CXONE_WEBHOOK_SECRET: TEST_SECRET } });
      assert.equal(b.code, 1, b.stderr);
      assert.match(message(b.stderr)[0]!.msg, /WORKERS \(--workers\) must be a whole number between 1 and 256/);
    }
    assert.match((await runCli(['--help'])).stdout, /--workers N\s+WORKERS/);
  });

  it("on uWebSockets.js's JS shim (node:http cannot share a port between threads)", async () => {
    const r = await serve({ WORKERS: '2', DEDUP_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1', UWS_USE_FALLBACK: '1', ALLOW_UWS_FALLBACK: '1' });
    assert.equal(r.code, 1, r.stderr);
    const last = message(r.stderr).at(-1)!;
    assert.match(last.msg, /^cannot start: WORKERS=2 needs the native uWebSockets.js binary, but uWebSockets.js .* \(pure-JS fallback shim.*its JS shim serves through node:http, which cannot share one port between threads\. Run WORKERS=1/);
    assert.doesNotMatch(r.stderr, ABORT_SIGNS);
  });
});
