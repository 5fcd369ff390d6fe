/**
 * The webhook contract, against the real daemon over loopback HTTP. test/workers/contract.test.ts
 * runs it again against daemons of two worker threads on the Redis store (CXONE_TEST_WORKERS):
 * there every webhook, GET /state, /stats, /metrics and /readyz is answered asynchronously, and
 * uWebSockets.js closes a connection that pipelines behind an unanswered request (README), so
 * those runs check HEAD and keep-alive one request at a time, and the store's numbers instead of
 * the embedded window's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeEvent, runCli, startDaemon, suiteOnWorkers, TEST_SECRET, WEBHOOK_PATH, type RunningDaemon } from '../helpers/daemon.js';
import { signRequest } from '../../src/http/signature.js';
import { rawExchange, RawConnection } from '../helpers/raw-http.js';
import { until } from '../helpers/wait.js';

describe('webhook contract', () => {
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon();
  });
  after(async () => {
    await d?.stop();
  });

  it('processes the first event of an interaction and deduplicates the next ones', async () => {
    const event = makeEvent();
    const first = await d.post(event);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('content-type'), 'application/json');
    assert.deepEqual(first.json, {
      status: 'processed',
      interactionId: event.interactionId,
      state: { interactionId: event.interactionId, dataActionId: event.dataActionId, updatedTimestamp: event.updatedTimestamp, payload: event.payload },
    });
    const again = await d.post(event);
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, { status: 'deduplicated', interactionId: event.interactionId });
    const update = await d.post({ ...event, dataActionId: 'da-next', updatedTimestamp: '2030-01-01T00:00:00Z', payload: { v: 2 } });
    assert.deepEqual(update.json, { status: 'deduplicated', interactionId: event.interactionId });
  });

  it('defaults payload to {} and ignores unknown top-level fields', async () => {
    const { payload: _omit, ...event } = makeEvent();
    const res = await d.post({ ...event, extra: { ignored: true } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.state.payload, {});
    assert.equal(res.json.state.extra, undefined);
  });

  it('keeps the newest state per interaction, also when updates arrive out of order', async () => {
    const base = makeEvent();
    const id = base.interactionId as string;
    await d.post({ ...base, updatedTimestamp: '2026-03-01T10:00:02Z', payload: { v: 2 } });
    await d.post({ ...base, updatedTimestamp: '2026-03-01T10:00:01Z', payload: { v: 1 } }); // late, older
    let state = await d.get(`/state/${encodeURIComponent(id)}`);
    assert.equal(state.status, 200);
    assert.deepEqual(state.json.payload, { v: 2 });
    // Same instant written differently: a tie, so the later arrival wins.
    await d.post({ ...base, updatedTimestamp: '2026-03-01T11:00:02+01:00', payload: { v: 'tie' } });
    state = await d.get(`/state/${encodeURIComponent(id)}`);
    assert.deepEqual(state.json.payload, { v: 'tie' });
    await d.post({ ...base, updatedTimestamp: '2026-03-01T10:00:03.5Z', payload: { v: 3 } });
    state = await d.get(`/state/${encodeURIComponent(id)}`);
    assert.deepEqual(state.json, { interactionId: id, dataActionId: base.dataActionId, updatedTimestamp: '2026-03-01T10:00:03.5Z', payload: { v: 3 } });
  });

  it('serves state for ids that need percent-encoding, and 404 for unknown ones', async () => {
    const event = makeEvent({ interactionId: 'a/b c?d#é' });
    assert.equal((await d.post(event)).status, 200);
    const hit = await d.get(`/state/${encodeURIComponent('a/b c?d#é')}`);
    assert.equal(hit.status, 200);
    assert.equal(hit.json.interactionId, 'a/b c?d#é');
    const miss = await d.get('/state/never-seen-this-one');
    assert.equal(miss.status, 404);
    assert.equal(typeof miss.json.error, 'string');
    const bad = await d.get('/state/%E0%A4%A');
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.json.error, 'string');
  });

  it('answers 404 with a JSON error on unknown paths and 405 on wrong methods', async () => {
    const unknown = await d.get('/nope');
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys(unknown.json), ['error']);
    const getHook = await d.get(WEBHOOK_PATH);
    assert.equal(getHook.status, 405);
    assert.equal(getHook.headers.get('allow'), 'POST');
    assert.equal(typeof getHook.json.error, 'string');
    for (const [method, path, allow] of [
      ['PUT', WEBHOOK_PATH, 'POST'],
      ['DELETE', '/state/x', 'GET, HEAD'],
      ['POST', '/stats', 'GET, HEAD'],
      ['POST', '/metrics', 'GET, HEAD'],
      ['PATCH', '/healthz', 'GET, HEAD'],
    ] as const) {
      const res = await fetch(d.url + path, { method, body: method === 'DELETE' ? undefined : '{}' });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), allow);
      assert.equal(typeof ((await res.json()) as { error?: unknown }).error, "string");
    }
  });

  it('answers HEAD like GET without a body, errors included', async () => {
    const event = makeEvent();
    await d.post(event);
    for (const [path, status] of [
      ['/healthz', 200],
      ['/readyz', 200],
      ['/metrics', 200],
      [`/state/${encodeURIComponent(event.interactionId as string)}`, 200],
      ['/state/never-seen-this-one', 404],
      ['/no-such-path', 404],
      [WEBHOOK_PATH, 405],
    ] as const) {
      const [get] = await rawExchange(d.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, { responses: 1 });
      const conn = await RawConnection.open(d.port);
      let raw: string;
      try {
        if (suiteOnWorkers) {
          // Answered asynchronously: no pipelining; the connection closes after the HEAD answer,
          // so every byte that follows its header block would be a body.
          await conn.write(`HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
          raw = await until(`HEAD ${path} answered and the connection closed`, () => (conn.isClosed ? conn.received() : undefined), 5000);
        } else {
          // HEAD then GET pipelined on one connection: a body after the HEAD answer would be read
          // as the start of the next response.
          await conn.write(`HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
          raw = await until(`HEAD ${path} and the GET behind it answered`, () => {
            const text = conn.received();
            return text.indexOf('HTTP/1.1', 1) !== -1 && text.endsWith('{"status":"ok"}') ? text : undefined;
          }, 5000);
        }
      } finally {
        conn.destroy();
      }
      const headEnd = raw.indexOf('\r\n\r\n') + 4;
      assert.match(raw, new RegExp(`^HTTP/1.1 ${status} `), `HEAD ${path}`);
      if (suiteOnWorkers) assert.equal(raw.length, headEnd, `HEAD ${path}: nothing after the header block: ${JSON.stringify(raw)}`);
      else assert.ok(raw.startsWith('HTTP/1.1 200 ', headEnd), `HEAD ${path}: the next bytes are the GET's answer, no body: ${JSON.stringify(raw)}`);
      const headers = raw.slice(0, headEnd).toLowerCase();
      assert.equal(get!.status, status);
      assert.ok(headers.includes(`content-type: ${get!.headers['content-type']}`), headers);
      if (path !== '/metrics') assert.ok(headers.includes(`content-length: ${Buffer.byteLength(get!.body)}\r\n`), headers);
    }
  });

  it('reports health, readiness, stats and Prometheus metrics', async () => {
    const health = await d.get('/healthz');
    assert.equal(health.status, 200);
    const ready = await d.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.ready, true);
    assert.equal(ready.json.registration.state, 'disabled');

    const before = await d.stats();
    const event = makeEvent();
    await d.post(event);
    await d.post(event);
    await d.post(event, { signature: 'f'.repeat(64) });
    const s = await d.stats();
    assert.equal(s.eventsReceived - before.eventsReceived, 3);
    assert.equal(s.eventsProcessed - before.eventsProcessed, 1);
    assert.equal(s.eventsDeduplicated - before.eventsDeduplicated, 1);
    assert.equal(s.eventsRejected - before.eventsRejected, 1);
    assert.equal(s.rejectedByReason.bad_signature - before.rejectedByReason.bad_signature, 1);
    assert.equal(s.eventsReceived, s.eventsProcessed + s.eventsDeduplicated + s.eventsRejected);
    assert.equal(typeof s.eventsUnconfirmed, 'number');
    assert.equal(s.filter.kind, 'native');
    assert.equal(s.filter.capacity, 1_000_000);
    assert.equal(typeof s.filter.generations.previous.estimatedFalsePositiveRate, 'number');
    assert.equal(typeof s.compactions, 'number');
    assert.equal(typeof s.stateCache.evictions, 'number');
    if (suiteOnWorkers) {
      // The window and the states are in Redis; each thread's own window stays empty (policy reject).
      assert.equal(s.store.kind, 'redis');
      assert.equal(ready.json.redis, 'reachable');
      assert.equal(s.workers.length, Number(process.env.CXONE_TEST_WORKERS));
      for (const k of ['received', 'processed', 'deduplicated', 'rejected'] as const) {
        const total = { received: s.eventsReceived, processed: s.eventsProcessed, deduplicated: s.eventsDeduplicated, rejected: s.eventsRejected }[k];
        assert.equal(s.workers.reduce((n: number, w: Record<string, number>) => n + w[k]!, 0), total, `${k}: the sum over the workers`);
      }
    } else {
      assert.ok(s.filter.generations.active.fillRatio > 0);
      assert.ok(s.stateCache.size >= 1);
      assert.equal(s.stateCache.capacity, 100_000);
    }
    assert.ok(s.latency.count >= 3);
    assert.ok(s.latency.p99Us >= s.latency.p50Us);

    const metrics = await d.get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const received = /^cxone_dedup_requests_received_total (\d+)$/m.exec(metrics.text);
    assert.ok(received, 'requests_received_total present');
    assert.ok(Number(received[1]) >= s.eventsReceived);
    assert.match(metrics.text, /^# TYPE cxone_dedup_request_duration_seconds histogram$/m);
  });

  it(suiteOnWorkers ? 'answers keep-alive requests in order, one at a time' : 'answers keep-alive and pipelined requests in order', async () => {
    const events = [makeEvent(), makeEvent()];
    const req = (body: string) =>
      `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-NICE-Signature: ${signRequest(d.secret, body)}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const bodies = [JSON.stringify(events[0]), JSON.stringify(events[1]), JSON.stringify(events[0])];
    const requests = [...bodies.map(req), 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'];
    let responses;
    if (suiteOnWorkers) {
      const conn = await RawConnection.open(d.port);
      try {
        for (const [i, r] of requests.entries()) {
          await conn.write(r);
          responses = await conn.waitForResponses(i + 1, 5000);
        }
      } finally {
        conn.destroy();
      }
    } else {
      responses = await rawExchange(d.port, requests.join(''), { responses: 4 });
    }
    assert.ok(responses !== undefined);
    assert.equal(responses.length, 4);
    assert.deepEqual(
      responses.map((r) => [r.status, r.json?.status]),
      [
        [200, 'processed'],
        [200, 'processed'],
        [200, 'deduplicated'],
        [200, 'ok'],
      ],
    );
  });
});

describe('STATE_API_TOKEN', () => {
  const TOKEN = 'state-token-0123456789abcdef_ABC';
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ env: { STATE_API_TOKEN: TOKEN } });
  });
  after(async () => {
    await d?.stop();
  });

  const getState = (id: string, authorization?: string) =>
    fetch(`${d.url}/state/${encodeURIComponent(id)}`, { headers: authorization === undefined ? {} : { authorization }, signal: AbortSignal.timeout(10_000) });

  it('GET /state and /stats need the bearer token; webhooks, health and metrics do not', async () => {
    const event = makeEvent();
    assert.equal((await d.post(event)).json.status, 'processed', 'the webhook itself is authenticated by its signature only');
    for (const [authorization, why] of [
      [undefined, 'no header'],
      ['', 'empty header'],
      [`Bearer ${TOKEN}x`, 'longer token'],
      [`Bearer ${TOKEN.slice(0, -1)}`, 'shorter token'],
      [`Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, 'another scheme'],
      [TOKEN, 'no scheme'],
      [`Bearer ${TOKEN} extra`, 'trailing junk'],
    ] as const) {
      for (const id of [event.interactionId as string, 'never-seen', 'x'.repeat(300)]) {
        const res = await getState(id, authorization);
        assert.equal(res.status, 401, `${why}, ${id.slice(0, 20)}`);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="cxone-dedup"');
        assert.deepEqual(await res.json(), { error: 'missing or invalid bearer token' }, 'no hint whether the id exists or is valid');
      }
    }
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `Bearer  ${TOKEN}`]) {
      const ok = await getState(event.interactionId as string, authorization);
      assert.equal(ok.status, 200, authorization);
      assert.deepEqual(await ok.json(), event);
    }
    assert.equal((await getState('never-seen', `Bearer ${TOKEN}`)).status, 404);
    for (const path of ['/healthz', '/readyz', '/metrics', '/', '/status']) assert.equal((await d.get(path)).status, 200, path);
    for (const authorization of [undefined, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`]) {
      const res = await d.get('/stats', authorization === undefined ? {} : { authorization });
      assert.equal(res.status, 401, `/stats, ${authorization ?? 'no header'}`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="cxone-dedup"');
      assert.deepEqual(res.json, { error: 'missing or invalid bearer token' });
    }
    const head = await fetch(`${d.url}/stats`, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    assert.equal(head.status, 401, 'HEAD /stats too');
    const stats = await d.get('/stats', { authorization: `Bearer ${TOKEN}` });
    assert.equal(stats.status, 200);
    assert.equal(stats.json.eventsProcessed, 1);
    const listening = d.logs.find((l) => l.msg === 'listening');
    assert.equal(listening?.stateApi, 'bearer token');
    assert.equal((listening?.config as Record<string, unknown>).stateApiToken, 'set');
    assert.ok(!d.logText().includes(TOKEN) && !stats.text.includes(TOKEN) && !(await d.get('/metrics')).text.includes(TOKEN));
  });

  it('a token that is short or not sendable stops the start, without echoing it', async () => {
    for (const [token, pattern] of [
      ['short-token', /STATE_API_TOKEN.*at least 16/],
      ['has spaces in it 0123456789', /STATE_API_TOKEN.*only letters/],
      ['quote"0123456789abcdef', /STATE_API_TOKEN.*only letters/],
    ] as const) {
      const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0'], { env: { STATE_API_TOKEN: token, CXONE_WEBHOOK_SECRET: TEST_SECRET } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.ok(!r.stderr.includes(token), r.stderr);
    }
  });
});
