import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { verifySignature } from '../../src/cxone/signing.js';
import { HttpSink } from '../../src/delivery/http-sink.js';
import type { DeliveryOutcome } from '../../src/delivery/sink.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';
import { Downstream } from '../helpers/downstream.js';
import { until } from '../helpers/wait.js';

const SECRET = 'downstream-shared-secret-0123456789';
const never = new AbortController().signal;

let seq = 0;
function record(body = `{"interactionId":"i-1","n":${seq}}`, over: Partial<DeliveryRecord> = {}): DeliveryRecord {
  seq += 1;
  return { seq, id: `key-${seq}`, status: 'processed', interactionId: 'i-1', acceptedAtMs: Date.now(), body: Buffer.from(body), ...over };
}

describe('HttpSink', { timeout: 60_000 }, () => {
  let down: Downstream;
  before(async () => {
    down = await Downstream.start();
  });
  after(() => down.close());
  beforeEach(() => {
    down.recover().setRule(undefined);
  });

  it('POSTs the exact body bytes with Content-Type, Idempotency-Key and X-Dedup-Status; no signature without a secret', async () => {
    const sink = new HttpSink({ url: down.url });
    // Odd spacing, key order and non-ASCII: the bytes must arrive untouched.
    const body = Buffer.from('{ "interactionId":"i-é",\n"payload":{"b":1,"a":"ü😀"}  }', 'utf8');
    const r = record(body.toString('utf8'), { status: 'update', id: 'i-1|2030-01-01T00:00:00.000Z' });
    assert.deepEqual(await sink.deliver(r, 1, never), { kind: 'delivered' });
    const got = down.requests.at(-1)!;
    assert.equal(got.method, 'POST');
    assert.equal(got.path, '/hook');
    assert.deepEqual(got.body, body);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['content-length'], String(body.length));
    assert.equal(got.headers['idempotency-key'], 'i-1|2030-01-01T00:00:00.000Z');
    assert.equal(got.headers['x-dedup-status'], 'update');
    assert.equal(got.headers['x-dedup-signature'], undefined);
    sink.close();
  });

  it('an id that is not visible ASCII is sent percent-encoded, not refused', async () => {
    const sink = new HttpSink({ url: down.url });
    assert.deepEqual(await sink.deliver(record(undefined, { id: 'i-é 😀\n|1' }), 1, never), { kind: 'delivered' });
    assert.equal(down.requests.at(-1)!.headers['idempotency-key'], encodeURIComponent('i-é 😀\n|1'));
    sink.close();
  });

  it('with a secret, X-Dedup-Signature is the lowercase hex HMAC-SHA256 of the body and verifies', async () => {
    const sink = new HttpSink({ url: down.url, secret: SECRET });
    const r = record();
    assert.equal((await sink.deliver(r, 1, never)).kind, 'delivered');
    const sig = down.requests.at(-1)!.headers['x-dedup-signature'];
    assert.equal(typeof sig, 'string');
    assert.match(sig as string, /^[0-9a-f]{64}$/);
    assert.ok(verifySignature(SECRET, down.requests.at(-1)!.body, sig as string));
    assert.ok(!verifySignature('another-secret-of-enough-length', down.requests.at(-1)!.body, sig as string));
    sink.close();
  });

  it('classifies answers: 2xx delivered; 408, 429 and 5xx retried (with Retry-After); other 4xx and 3xx permanent', async () => {
    const sink = new HttpSink({ url: down.url, now: () => Date.UTC(2030, 0, 1, 12) });
    const cases: Array<[Parameters<Downstream['script']>[0], (o: DeliveryOutcome) => void]> = [
      [{ kind: 'ok', status: 201 }, (o) => assert.deepEqual(o, { kind: 'delivered' })],
      [{ kind: 'ok', status: 204 }, (o) => assert.deepEqual(o, { kind: 'delivered' })],
      [{ kind: 'status', status: 503, headers: { 'retry-after': '7' } }, (o) => assert.deepEqual(o, { kind: 'retry', error: `HTTP 503 Service Unavailable from ${down.url}`, retryAfterMs: 7000 })],
      [{ kind: 'status', status: 429, headers: { 'retry-after': 'Tue, 01 Jan 2030 12:00:30 GMT' } }, (o) => assert.deepEqual(o, { kind: 'retry', error: `HTTP 429 Too Many Requests from ${down.url}`, retryAfterMs: 30_000 })],
      [{ kind: 'status', status: 408 }, (o) => assert.deepEqual(o, { kind: 'retry', error: `HTTP 408 Request Timeout from ${down.url}`, retryAfterMs: undefined })],
      [{ kind: 'status', status: 500, body: 'boom' }, (o) => assert.equal(o.kind, 'retry')],
      [{ kind: 'status', status: 599 }, (o) => assert.equal(o.kind, 'retry')],
      [{ kind: 'status', status: 400, body: '{"error":"payload.x is required"}' }, (o) => assert.deepEqual(o, { kind: 'permanent', error: `HTTP 400 Bad Request from ${down.url}`, detail: '{"error":"payload.x is required"}' })],
      [{ kind: 'status', status: 404 }, (o) => assert.deepEqual(o, { kind: 'permanent', error: `HTTP 404 Not Found from ${down.url}`, detail: undefined })],
      [{ kind: 'status', status: 422 }, (o) => assert.equal(o.kind, 'permanent')],
      [
        { kind: 'status', status: 301, headers: { location: 'https://elsewhere.example/new?token=abc' } },
        (o) => {
          assert.equal(o.kind, 'permanent');
          assert.match((o as { error: string }).error, /HTTP 301 .*redirect to https:\/\/elsewhere\.example\/new not followed/);
          assert.doesNotMatch((o as { error: string }).error, /token=abc/);
        },
      ],
    ];
    for (const [answer, check] of cases) {
      down.script(answer);
      const before = down.requests.length;
      check(await sink.deliver(record(), 1, never));
      assert.equal(down.requests.length, before + 1, 'no redirect followed, exactly one request');
    }
    sink.close();
  });

  it('a dropped or reset connection is a retryable network error', async () => {
    const sink = new HttpSink({ url: down.url });
    for (const kind of ['drop', 'reset'] as const) {
      down.script({ kind });
      const o = await sink.deliver(record(), 1, never);
      assert.equal(o.kind, 'retry', kind);
      assert.match((o as { error: string }).error, new RegExp(`request to ${down.url} failed: \\w`));
    }
    // Nobody listening at all.
    const gone = new HttpSink({ url: 'http://127.0.0.1:1/hook' });
    const o = await gone.deliver(record(), 1, never);
    assert.equal(o.kind, 'retry');
    assert.match((o as { error: string }).error, /ECONNREFUSED/);
    sink.close();
    gone.close();
  });

  it('an answer that does not come within the timeout is retryable, and the hung connection is closed', async () => {
    const sink = new HttpSink({ url: down.url, timeoutMs: 200 });
    down.script({ kind: 'hang' });
    const o = await sink.deliver(record(), 1, never);
    assert.deepEqual(o, { kind: 'retry', error: `no answer from ${down.url} within 200 ms (DELIVERY_TIMEOUT_MS)` });
    await until('the hung request to be closed', () => down.hanging === 0);
    assert.equal((await sink.deliver(record(), 1, never)).kind, 'delivered');
    sink.close();
  });

  it('an abort gives up at once', async () => {
    const sink = new HttpSink({ url: down.url, timeoutMs: 60_000 });
    down.script({ kind: 'hang' });
    const controller = new AbortController();
    const pending = sink.deliver(record(), 1, controller.signal);
    await until('the request to hang', () => down.hanging === 1);
    controller.abort();
    assert.deepEqual(await pending, { kind: 'retry', error: 'delivery aborted (stopping)' });
    await until('the hung request to be closed', () => down.hanging === 0);
    sink.close();
  });

  it('keeps connections alive: sequential deliveries reuse their connections, bodies of any size drained', async () => {
    const sink = new HttpSink({ url: down.url, maxSockets: 4 });
    const before = down.requests.length;
    down.behave({ kind: 'ok', body: 'x'.repeat(10_000) });
    for (let i = 0; i < 10; i++) assert.equal((await sink.deliver(record(), 1, never)).kind, 'delivered');
    down.script({ kind: 'status', status: 500, body: 'y'.repeat(200_000) });
    assert.equal((await sink.deliver(record(), 1, never)).kind, 'retry');
    down.behave({ kind: 'ok', body: 'z'.repeat(200_000) });
    assert.equal((await sink.deliver(record(), 1, never)).kind, 'delivered');
    down.recover();
    // undici frees a connection just after the answer settles the delivery, so the next one may
    // take a second connection; never one per delivery.
    const ports = new Set(down.requests.slice(before, before + 10).map((r) => r.remotePort));
    assert.ok(ports.size <= 2, `the first ten used ${ports.size} connections`);
    sink.close();
  });

  it('refuses a URL with credentials, a non-http scheme, or a short secret', () => {
    assert.throws(() => new HttpSink({ url: 'http://user:pw@127.0.0.1/hook' }), /credentials/);
    assert.throws(() => new HttpSink({ url: 'ftp://127.0.0.1/hook' }), /http\(s\)/);
    assert.throws(() => new HttpSink({ url: 'not a url' }), /http\(s\)/);
    assert.throws(() => new HttpSink({ url: down.url, secret: 'short' }), /16/);
    assert.throws(() => new HttpSink({ url: down.url, timeoutMs: 0 }), /timeoutMs/);
  });
});

describe('HttpSink over https', { timeout: 60_000 }, () => {
  let down: Downstream;
  before(async () => {
    down = await Downstream.start({ https: true });
  });
  after(() => down.close());

  it('delivers to an https URL whose certificate it trusts, and retries one it does not', async () => {
    assert.match(down.url, /^https:/);
    const trusted = new HttpSink({ url: down.url, tls: { ca: down.cert! }, secret: SECRET });
    const r = record();
    assert.deepEqual(await trusted.deliver(r, 1, never), { kind: 'delivered' });
    assert.deepEqual(down.requests.at(-1)!.body, r.body);
    assert.ok(verifySignature(SECRET, r.body, down.requests.at(-1)!.headers['x-dedup-signature'] as string));
    const untrusted = new HttpSink({ url: down.url });
    const o = await untrusted.deliver(record(), 1, never);
    assert.equal(o.kind, 'retry');
    assert.match((o as { error: string }).error, /self[- ]signed|certificate/i);
    trusted.close();
    untrusted.close();
  });
});
