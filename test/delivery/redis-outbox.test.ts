/**
 * Delivery through each replica's own outbox with the Redis store: the replica that answers
 * `processed` is the one that makes the event durable and delivers it; the same event sent to
 * three replicas at once is delivered once (at least once, always under the same Idempotency-Key);
 * DELIVER=updates across replicas delivers exactly the events that advanced the state; with the
 * stream sink as well, a 200 means the event is in the outbox and in the stream.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Downstream } from '../helpers/downstream.js';
import { eventBody, runConcurrently, startReplicas, stopReplicas, type Replica } from '../helpers/replicas.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const calls = (stats: Map<string, string>, command: string) => Number(/calls=(\d+)/.exec(stats.get(`cmdstat_${command}`) ?? '')?.[1] ?? 0);

describe('outboxes and the Redis store', { timeout: 180_000 }, () => {
  let redis: RedisServer;
  let downstream: Downstream;
  let root: string;
  let replicas: Replica[] = [];
  let dirs = 0;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'cxone-redis-outbox-'));
    redis = await startRedis();
    downstream = await Downstream.start();
  });

  afterEach(async () => {
    await stopReplicas(replicas);
    replicas = [];
    downstream.requests.length = 0;
  });

  after(async () => {
    await downstream?.close();
    await redis?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  /** Three replicas, each with its own outbox, on one Redis under a fresh key prefix. */
  async function three(env: Record<string, string> = {}): Promise<Replica[]> {
    const prefix = `o${++dirs}:`;
    replicas = [];
    for (let i = 0; i < 3; i++) {
      const [r] = await startReplicas(1, { DEDUP_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, REDIS_TIMEOUT_MS: '10000', DELIVERY_URL: downstream.url, OUTBOX_DIR: path.join(root, `${prefix}${i}`), ...env });
      replicas.push(r!);
    }
    return replicas;
  }

  it('the same event to three replicas: one processed answer, delivered once, by the replica that gave it; two round trips for it, one per duplicate', async (t) => {
    await three();
    const count = 150;
    const processedBy = replicas.map(() => 0);
    const bodies = Array.from({ length: count }, (_, i) => eventBody(`ob-${i}`, 1, { i }));
    const before = await redis.info('commandstats');
    const waitsBefore = (await Promise.all(replicas.map((r) => r.stats()))).reduce((n, s) => n + s.store.claimWaits, 0);
    await runConcurrently(count, 8, async (i) => {
      const answers = await Promise.all(replicas.map((r) => r.post(bodies[i]!)));
      assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers.map((a) => a.body)));
      const winners = answers.flatMap((a, k) => (a.json.status === 'processed' ? [k] : []));
      assert.equal(winners.length, 1, bodies[i]);
      processedBy[winners[0]!]!++;
    });
    const after = await redis.info('commandstats');
    // begin + commit for each processed event, begin alone for each duplicate (applied at once),
    // and one more begin each time a copy found the first one held and asked again.
    const waits = (await Promise.all(replicas.map((r) => r.stats()))).reduce((n, s) => n + s.store.claimWaits, 0) - waitsBefore;
    assert.ok(waits > 0, 'copies racing the held first one waited for it');
    assert.equal(calls(after, 'evalsha') - calls(before, 'evalsha'), count * 2 + count * 2 + waits);
    t.diagnostic(`${count} events × 3 replicas with outboxes: ${count * 4 + waits} scripts (${count * 4} decisions and commits, ${waits} repeated begins of copies that found the first held)`);

    await until('every event delivered', () => new Set(downstream.acceptedIds()).size === count, 30_000);
    // At least once, each under one Idempotency-Key; nothing here failed, so exactly once.
    const byKey = new Map<string, string>();
    for (const r of downstream.accepted()) {
      const body = r.body.toString('utf8');
      const key = String(r.headers['idempotency-key']);
      assert.equal(byKey.get(key) ?? body, body);
      byKey.set(key, body);
      assert.equal(r.headers['x-dedup-status'], 'processed');
    }
    assert.deepEqual([...byKey.values()].sort(), [...bodies].sort());
    assert.equal(downstream.accepted().length, count);
    // Each replica made durable and delivered exactly what it answered processed.
    await until('the dispatchers to report', async () => (await Promise.all(replicas.map((r) => r.stats()))).every((s, k) => s.delivery.sinks.http.delivered === processedBy[k]), 10_000);
    const stats = await Promise.all(replicas.map((r) => r.stats()));
    stats.forEach((s, k) => {
      assert.equal(s.delivery.outbox.appends, processedBy[k], `replica ${k}`);
      assert.equal(s.eventsProcessed, processedBy[k]);
    });
  });

  it('DELIVER=updates across replicas: exactly the events that advanced the state are delivered, marked processed or update', async () => {
    await three({ DELIVER: 'updates' });
    const id = 'ou-1';
    const steps: Array<[string, string | null]> = [
      [eventBody(id, 10), 'processed'],
      [eventBody(id, 10), null],
      [eventBody(id, 5), null],
      [eventBody(id, 20), 'update'],
      [eventBody(id, 20, { changed: true }), 'update'],
      [eventBody(id, 20, { changed: true }), null],
      [eventBody(id, 21), 'update'],
    ];
    for (const [i, [body]] of steps.entries()) assert.equal((await replicas[i % 3]!.post(body)).status, 200);
    const expected = steps.filter(([, s]) => s !== null);
    await until('the updates delivered', () => downstream.accepted().length >= expected.length, 30_000);
    const got = downstream.accepted().map((r) => [r.body.toString('utf8'), String(r.headers['x-dedup-status'])]);
    // Each replica's outbox delivers on its own: compare as sets (the order across replicas is not kept).
    assert.deepEqual(got.map((g) => g.join(' ')).sort(), expected.map(([b, s]) => `${b} ${s}`).sort());
    for (const r of replicas) assert.equal((await r.state(id)).json.payload.second, 21);
  });

  it('with the stream sink too: a 200 processed means the event is in the outbox and in the stream', async () => {
    await three({ DELIVERY_REDIS_STREAM: `both-${dirs + 1}` });
    const stream = `both-${dirs}`;
    const bodies = Array.from({ length: 40 }, (_, i) => eventBody(`os-${i}`, 1));
    for (const body of bodies) {
      const answers = await Promise.all(replicas.map((r) => r.post(body)));
      assert.equal(answers.filter((a) => a.json.status === 'processed').length, 1);
    }
    const entries = (await redis.command(['XRANGE', stream, '-', '+'])) as unknown as Array<[string, string[]]>;
    assert.deepEqual(entries.map(([, f]) => f[5]), bodies, 'appended at commit, once each');
    await until('the outboxes to deliver', () => new Set(downstream.acceptedIds()).size === bodies.length, 30_000);
    assert.deepEqual(new Set(downstream.acceptedIds()), new Set(entries.map(([, f]) => f[1])), 'the same delivery ids in both');
  });
});
