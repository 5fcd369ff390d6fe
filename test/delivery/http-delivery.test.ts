/**
 * The dispatcher, the HTTP sink and the dead-letter file together, against a real HTTP downstream
 * on loopback that fails in the ways downstreams do.
 */
import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifySignature } from '../../src/cxone/signing.js';
import { DeadLetterFile, deadLetterBody, type DeadLetterLine } from '../../src/delivery/dead-letter.js';
import { Dispatcher, type DispatcherOptions } from '../../src/delivery/dispatcher.js';
import { HttpSink } from '../../src/delivery/http-sink.js';
import type { DeliverySink } from '../../src/delivery/sink.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';
import { Downstream, type Behaviour, type Received } from '../helpers/downstream.js';
import { MemorySource } from '../helpers/memory-source.js';
import { mulberry32 } from '../helpers/prng.js';
import { until } from '../helpers/wait.js';
import { FakeTime, T0, assertOrderPerInteraction, interleaved, newRecord } from './support.js';

const SECRET = 'delivery-secret-for-tests-0123456789';
/** Real sleeps, but short: these tests are about outcomes, not the schedule. */
const FAST_BACKOFF = { baseMs: 2, capMs: 40 };

/** [interactionId, n, answered 2xx] per request, in arrival order, from `${interaction}#${n}` ids. */
function attemptLog(requests: readonly Received[]): Array<[string, number, boolean]> {
  return requests.map((r) => {
    const id = String(r.headers['idempotency-key']);
    const hash = id.lastIndexOf('#');
    return [id.slice(0, hash), Number(id.slice(hash + 1)), r.answer === 'ok'];
  });
}

function readDeadLetters(file: string): DeadLetterLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as DeadLetterLine);
}

describe('HTTP delivery end to end', { timeout: 120_000 }, () => {
  let down: Downstream;
  let dir: string;
  let deadPath: string;
  let dead: DeadLetterFile;
  let running: Dispatcher[] = [];
  /** Most HTTP attempts in progress at once, over the test. */
  let peak = 0;

  before(async () => {
    down = await Downstream.start();
  });
  after(() => down.close());
  beforeEach(() => {
    down.requests.length = 0;
    down.recover().setRule(undefined);
    dir = mkdtempSync(path.join(tmpdir(), 'http-delivery-'));
    deadPath = path.join(dir, 'outbox', 'dead-letter.ndjson');
    dead = new DeadLetterFile(deadPath);
    peak = 0;
  });
  afterEach(async () => {
    down.release();
    for (const d of running) await d.stop({ timeoutMs: 1000 });
    running = [];
    await dead.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function dispatcher(source: MemorySource, options: Partial<DispatcherOptions> & { timeoutMs?: number } = {}): Dispatcher {
    const concurrency = options.concurrency ?? 8;
    const sink = new HttpSink({ url: down.url, secret: SECRET, maxSockets: concurrency, timeoutMs: options.timeoutMs ?? 5000, ...(options.now ? { now: options.now } : {}) });
    let now = 0;
    const counted: DeliverySink = {
      name: sink.name,
      deliver: async (record, attempt, signal) => {
        peak = Math.max(peak, ++now);
        try {
          return await sink.deliver(record, attempt, signal);
        } finally {
          now -= 1;
        }
      },
      close: () => sink.close(),
    };
    const d = new Dispatcher({ source, sink: counted, deadLetters: dead, concurrency, backoff: FAST_BACKOFF, maxAttempts: 10_000, ...options });
    running.push(d);
    d.start();
    return d;
  }

  it('downstream down for a while (5xx, resets, dropped connections, 429), then back: everything arrives, each record acked once', async () => {
    const source = new MemorySource();
    const records = source.push(...interleaved(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 25));
    const outage: Behaviour[] = [{ kind: 'status', status: 503 }, { kind: 'reset' }, { kind: 'drop' }, { kind: 'status', status: 429, headers: { 'retry-after': '0' } }, { kind: 'status', status: 500 }];
    down.setRule(({ n }) => outage[n % outage.length]);
    const d = dispatcher(source);
    await until('the outage to be noticed', () => down.requests.length >= 100);
    assert.equal(down.accepted().length, 0);
    down.setRule(undefined);
    await until('every record acked', () => source.unacked('http').length === 0, 60_000);

    assert.deepEqual(new Set(down.acceptedIds()), new Set(records.map((r) => r.id)));
    assert.deepEqual(source.violations, []);
    const s = d.stats();
    assert.equal(s.delivered, records.length);
    assert.equal(s.deadLettered, 0);
    assert.ok(s.retried >= 100);
    assert.equal(s.inFlight, 0);
    assertOrderPerInteraction(attemptLog(down.requests));
    assert.deepEqual(readDeadLetters(deadPath), []);
  });

  it('per-interaction order holds under concurrency while failures interleave; every attempt of a record carries the same Idempotency-Key and a valid signature', async () => {
    const source = new MemorySource();
    const interactions = Array.from({ length: 12 }, (_, i) => `i${i}`);
    const records = source.push(...interleaved(interactions, 15));
    const byId = new Map<string, DeliveryRecord>(records.map((r) => [r.id, r]));
    const random = mulberry32(20_301);
    const failures: Behaviour[] = [{ kind: 'status', status: 502 }, { kind: 'reset' }, { kind: 'drop' }, { kind: 'status', status: 408 }, { kind: 'status', status: 429, headers: { 'retry-after': '0' } }];
    down.setRule(() => (random() < 0.35 ? failures[Math.floor(random() * failures.length)] : undefined));
    dispatcher(source, { concurrency: 6 });
    await until('every record acked', () => source.unacked('http').length === 0, 60_000);

    assert.ok(down.requests.length > records.length, 'some attempts failed and were retried');
    assert.equal(peak, 6, 'deliveries ran concurrently, up to the limit');
    assertOrderPerInteraction(attemptLog(down.requests));
    // Each record was accepted exactly once here (no timeouts, so no duplicate after a lost answer).
    assert.deepEqual(down.acceptedIds().sort(), records.map((r) => r.id).sort());
    for (const req of down.requests) {
      const record = byId.get(String(req.headers['idempotency-key']))!;
      assert.ok(record, 'the key is the record id');
      assert.deepEqual(req.body, record.body, 'the same bytes on every attempt');
      assert.equal(req.headers['x-dedup-status'], record.status);
      assert.ok(verifySignature(SECRET, req.body, req.headers['x-dedup-signature'] as string));
    }
    assert.deepEqual(source.violations, []);
  });

  it('a 4xx (and a redirect) go to the dead-letter file with the record and the last error, and are acked; the rest is delivered', async () => {
    const source = new MemorySource();
    const binary = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]);
    const records = source.push(newRecord('a', 1), newRecord('a', 2), newRecord('b', 1, { body: binary }), newRecord('c', 1), newRecord('a', 3));
    down.setRule(({ headers }) => {
      const key = headers['idempotency-key'];
      if (key === 'a#2') return { kind: 'status', status: 422, body: '{"error":"payload.n must be even"}' };
      if (key === 'b#1') return { kind: 'status', status: 308, headers: { location: '/elsewhere' } };
      return undefined;
    });
    const d = dispatcher(source);
    await until('every record acked', () => source.unacked('http').length === 0);
    assert.deepEqual(down.acceptedIds().sort(), ['a#1', 'a#3', 'c#1']);
    assert.deepEqual(d.stats().deadLettered, 2);

    const lines = readDeadLetters(deadPath).sort((x, y) => x.seq - y.seq);
    assert.equal(lines.length, 2);
    const [a2, b1] = lines as [DeadLetterLine, DeadLetterLine];
    assert.deepEqual(
      { ...a2, time: undefined },
      {
        time: undefined,
        sink: 'http',
        seq: records[1]!.seq,
        id: 'a#2',
        status: 'update',
        interactionId: 'a',
        acceptedAt: new Date(T0).toISOString(),
        acceptedAtMs: T0,
        attempts: 1,
        error: `HTTP 422 Unprocessable Entity from ${down.url}`,
        detail: '{"error":"payload.n must be even"}',
        bodyEncoding: 'json',
        body: records[1]!.body.toString('utf8'),
      },
    );
    assert.ok(Number.isFinite(Date.parse(a2.time)));
    assert.equal(b1.id, 'b#1');
    assert.match(b1.error, /^HTTP 308 Permanent Redirect from .* redirect to http:\/\/127\.0\.0\.1:\d+\/elsewhere not followed/);
    assert.equal(b1.bodyEncoding, 'base64');
    assert.deepEqual(deadLetterBody(b1), binary);
    // a#3 went only after a#2 was dead-lettered.
    assertOrderPerInteraction(attemptLog(down.requests).map(([i, n, ok]) => [i, n, ok || `${i}#${n}` === 'a#2' || `${i}#${n}` === 'b#1'] as [string, number, boolean]));
  });

  it('past DELIVERY_MAX_ATTEMPTS a record is dead-lettered with the attempts and the last error', async () => {
    const source = new MemorySource();
    source.push(newRecord('a', 1), newRecord('b', 1));
    down.setRule(({ headers }) => (headers['idempotency-key'] === 'a#1' ? { kind: 'status', status: 503 } : undefined));
    dispatcher(source, { maxAttempts: 4 });
    await until('both acked', () => source.unacked('http').length === 0);
    assert.equal(down.requests.filter((r) => r.headers['idempotency-key'] === 'a#1').length, 4);
    const [line] = readDeadLetters(deadPath);
    assert.deepEqual([line!.id, line!.attempts, line!.error], ['a#1', 4, `gave up after 4 attempts (DELIVERY_MAX_ATTEMPTS): HTTP 503 Service Unavailable from ${down.url}`]);
  });

  it('past DELIVERY_MAX_AGE_SECONDS a record is dead-lettered (schedule on an injected clock)', async () => {
    const source = new MemorySource();
    source.push(newRecord('a', 1));
    down.behave({ kind: 'status', status: 500 });
    const time = new FakeTime();
    dispatcher(source, { now: time.now, sleep: time.sleep, random: () => 0.5, backoff: { baseMs: 1000, capMs: 600_000 }, maxAgeMs: 60_000 });
    await until('dead-lettered', () => source.unacked('http').length === 0);
    // 500 + 1000 + … + 16000 = 31.5 s; the next (32 s) would end past 60 s.
    assert.deepEqual(time.delays(), [500, 1000, 2000, 4000, 8000, 16_000]);
    const [line] = readDeadLetters(deadPath);
    assert.equal(line!.attempts, 7);
    assert.match(line!.error, /more than 60 s after acceptance \(DELIVERY_MAX_AGE_SECONDS\): HTTP 500 Internal Server Error/);
  });

  it('Retry-After is honoured, as seconds or as an HTTP date (schedule on an injected clock, sleep and random)', async () => {
    const source = new MemorySource();
    source.push(newRecord('a', 1));
    const time = new FakeTime();
    // The date is read against the injected clock: 30 s after the first retry's start.
    down.script(
      { kind: 'status', status: 429, headers: { 'retry-after': '7' } },
      { kind: 'status', status: 503, headers: { 'retry-after': new Date(T0 + 7000 + 30_000).toUTCString() } },
      { kind: 'status', status: 503 },
    );
    dispatcher(source, { now: time.now, sleep: time.sleep, random: () => 0, backoff: { baseMs: 1000, capMs: 600_000 } });
    await until('delivered', () => source.acked('http').length === 1);
    // random 0 → the backoff alone would wait 0; Retry-After makes it 7 s, then 30 s; then 0 again.
    assert.deepEqual(time.delays(), [7000, 30_000, 0]);
    assert.deepEqual(down.requests.map((r) => r.status), [429, 503, 503, 200]);
    assert.equal(new Set(down.requests.map((r) => r.headers['idempotency-key'])).size, 1);
  });

  it('a downstream that does not answer within DELIVERY_TIMEOUT_MS is retried with the same key', async () => {
    const source = new MemorySource();
    source.push(newRecord('a', 1), newRecord('a', 2));
    down.script({ kind: 'hang' });
    const d = dispatcher(source, { timeoutMs: 200 });
    await until('both acked', () => source.unacked('http').length === 0);
    assert.deepEqual(down.requests.map((r) => [r.headers['idempotency-key'], r.answer]), [['a#1', 'hang'], ['a#1', 'ok'], ['a#2', 'ok']]);
    assert.match(d.stats().lastError!.message, /no answer from .* within 200 ms/);
    await until('the hung request closed', () => down.hanging === 0);
  });

  it('stop(): deliveries in flight finish and are acked; the rest stays unacked and arrives after a restart', async () => {
    const source = new MemorySource();
    const records = source.push(...interleaved(['a', 'b', 'c'], 2));
    down.behave({ kind: 'hang' });
    const d = dispatcher(source, { concurrency: 2 });
    await until('two deliveries hanging', () => down.hanging === 2);
    const stopping = d.stop({ timeoutMs: 30_000 });
    down.recover().release();
    assert.deepEqual(await stopping, { drained: true, aborted: 0, unfinished: 4 });
    assert.deepEqual(source.acked('http'), [1, 2]);
    assert.equal(down.requests.length, 2, 'nothing new started once stopping');

    source.restart();
    dispatcher(source, { concurrency: 2 });
    await until('the rest delivered', () => source.unacked('http').length === 0);
    assert.deepEqual(down.acceptedIds().sort(), records.map((r) => r.id).sort());
    assert.deepEqual(source.violations, []);
  });

  it('stop(): past the timeout, hanging deliveries are aborted and stay unacked; a restart delivers them', async () => {
    const source = new MemorySource();
    source.push(newRecord('a', 1), newRecord('b', 1));
    down.behave({ kind: 'hang' });
    const d = dispatcher(source);
    await until('two deliveries hanging', () => down.hanging === 2);
    assert.deepEqual(await d.stop({ timeoutMs: 50 }), { drained: false, aborted: 2, unfinished: 2 });
    await until('the aborted requests closed', () => down.hanging === 0);
    assert.deepEqual(source.acked('http'), []);
    down.recover();
    source.restart();
    dispatcher(source);
    await until('delivered after the restart', () => source.unacked('http').length === 0);
    assert.deepEqual(down.acceptedIds().sort(), ['a#1', 'b#1']);
  });
});
