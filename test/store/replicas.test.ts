/**
 * Issue 11 end to end: real daemons (DEDUP_STORE=redis) sharing one real redis-server. Exactly one
 * replica answers `processed` per key however many copies race; every replica's GET /state gives
 * the newest; Redis stopped mid-run: `reject` answers 503 with Retry-After and records nothing,
 * `local` keeps answering on each replica's own window (counted); Redis back → shared again.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventBody, startReplicas, stopReplicas, type Replica } from '../helpers/replicas.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { interleavedUpdates, sameEventToAll } from './replica-contract.js';

const calls = (stats: Map<string, string>, command: string) => Number(/calls=(\d+)/.exec(stats.get(`cmdstat_${command}`) ?? '')?.[1] ?? 0);

describe('three replicas sharing one redis-server', { timeout: 240_000 }, () => {
  let redis: RedisServer;
  let replicas: Replica[] = [];

  before(async () => {
    redis = await startRedis();
    replicas = await startReplicas(3, { DEDUP_STORE: 'redis', REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '10000' });
  });

  after(async () => {
    await stopReplicas(replicas);
    await redis?.dispose();
  });

  it('the same event sent to all three at once, 1,000 times with different ids: exactly 1,000 processed, one Redis round trip per webhook', async (t) => {
    const before = await redis.info('commandstats');
    const { perReplica } = await sameEventToAll(replicas, 'same');
    const after = await redis.info('commandstats');
    // One EVALSHA per webhook (the script ran on Redis; no EVAL fallback, nothing else).
    assert.equal(calls(after, 'evalsha') - calls(before, 'evalsha'), 3000);
    assert.equal(calls(after, 'eval') - calls(before, 'eval'), 0);
    // Each replica won some races (the load was not one-sided).
    assert.ok(perReplica.every((n) => n > 0), `processed per replica: ${perReplica}`);
    t.diagnostic(`1,000 events × 3 replicas → 1,000 processed (per replica: ${perReplica.join(', ')}), 3,000 EVALSHA`);
  });

  it('interleaved updates of one interaction across replicas: every replica\'s GET /state gives the newest', async () => {
    await interleavedUpdates(replicas, 'upd');
  });

  it('GET /state reads Redis: one answer on every replica, 404 alike, HEAD alike, /stats counts the store', async () => {
    const body = eventBody('state-1', 7, { note: 'ünïcödé' });
    assert.equal((await replicas[1]!.post(body)).json.status, 'processed');
    for (const r of replicas) {
      const s = await r.daemon.get('/state/state-1');
      assert.equal(s.status, 200);
      assert.deepEqual(s.json, JSON.parse(body));
      const head = await fetch(`${r.daemon.url}/state/state-1`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(s.text)));
      assert.equal((await r.daemon.get('/state/never-seen')).status, 404);
    }
    const stats = await replicas[0]!.stats();
    assert.equal(stats.store.kind, 'redis');
    assert.equal(stats.store.redisReachable, true);
    assert.equal(stats.eventsDecidedLocally, 0);
    assert.equal(stats.eventsReceived, stats.eventsProcessed + stats.eventsDeduplicated + stats.eventsRejected);
    const metrics = (await replicas[0]!.daemon.get('/metrics')).text;
    assert.match(metrics, /^cxone_dedup_dedup_store_info\{kind="redis"\} 1$/m);
    assert.match(metrics, /^cxone_dedup_redis_reachable 1$/m);
  });

  it('a client that leaves while its GET /state waits for Redis costs nothing; the others are answered when Redis is', async () => {
    const r = replicas[2]!;
    // Redis holds every command for 400 ms: the lookups are in flight meanwhile.
    assert.equal(await redis.command(['CLIENT', 'PAUSE', '400', 'ALL']), 'OK');
    const leavers = Array.from({ length: 20 }, () => {
      const socket = net.connect(r.daemon.port, '127.0.0.1', () => {
        socket.write('GET /state/state-1 HTTP/1.1\r\nHost: x\r\n\r\n');
        setImmediate(() => socket.destroy());
      });
      socket.on('error', () => undefined);
      return new Promise((resolve) => socket.on('close', resolve));
    });
    const waiting = r.daemon.get('/state/state-1');
    await Promise.all(leavers);
    const answered = await waiting;
    assert.equal(answered.status, 200);
    assert.equal(answered.json.interactionId, 'state-1');
    assert.equal(r.daemon.proc.exitCode, null, 'still running');
    assert.equal((await r.daemon.get('/healthz')).status, 200);
  });
});

describe('Redis stopped mid-run, REDIS_FAILURE_POLICY=reject (the default)', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let replicas: Replica[] = [];

  before(async () => {
    // The window survives the restart (appendonly, fsync always): what was recorded stays recorded.
    redis = await startRedis({ appendonly: true, appendfsync: 'always' });
    replicas = await startReplicas(2, { DEDUP_STORE: 'redis', REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '300' });
  });

  after(async () => {
    await stopReplicas(replicas);
    await redis?.dispose();
  });

  it('answers 503 with Retry-After and records nothing; after Redis is back the retried events are processed', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const before = Array.from({ length: 20 }, (_, i) => eventBody(`rj-before-${i}`, 1));
    const during = Array.from({ length: 20 }, (_, i) => eventBody(`rj-during-${i}`, 1));
    for (const body of before) assert.equal((await a.post(body)).json.status, 'processed');
    const statsBefore = await Promise.all(replicas.map((r) => r.stats()));

    await redis.stop();
    for (const [i, body] of during.entries()) {
      const r = await (i % 2 === 0 ? a : b).post(body);
      assert.equal(r.status, 503, r.body);
      assert.equal(r.headers['retry-after'], '5');
      assert.match(r.json.error, /nothing was recorded/);
    }
    // GET /state cannot be answered either: 503, not a stale local answer.
    const state = await a.daemon.get('/state/rj-before-0');
    assert.equal(state.status, 503);
    assert.equal(state.headers.get('retry-after'), '5');
    const down = await Promise.all(replicas.map((r) => r.stats()));
    down.forEach((s, i) => {
      assert.equal(s.eventsProcessed, statsBefore[i].eventsProcessed, 'nothing processed while Redis is down');
      assert.equal(s.rejectedByReason.unavailable - statsBefore[i].rejectedByReason.unavailable, 10);
      assert.equal(s.store.redisReachable, false);
      assert.equal(s.eventsDecidedLocally, 0);
      assert.ok(s.store.redisFailures >= 10);
    });

    await redis.restart();
    await until('a replica to reach Redis again', async () => (await a.post(during[0]!)).status === 200, 20_000, 50);
    // The other replica's client reconnects by itself (backing off to at most 2 s between attempts).
    await until('both replicas to reach Redis again', async () => (await b.stats()).store.redisReachable, 20_000, 50);
    // Every event refused while Redis was down is processed now, exactly once, on either replica.
    for (const [i, body] of during.entries()) {
      if (i === 0) continue;
      assert.equal((await (i % 2 === 0 ? b : a).post(body)).json.status, 'processed', `rj-during-${i}`);
    }
    for (const body of during) assert.equal((await b.post(body)).json.status, 'deduplicated');
    // What was recorded before the outage is still known to both.
    for (const body of before) assert.equal((await b.post(body)).json.status, 'deduplicated');
    assert.equal((await a.stats()).store.redisReachable, true);
  });
});

describe('Redis stopped mid-run, REDIS_FAILURE_POLICY=local', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let replicas: Replica[] = [];

  before(async () => {
    redis = await startRedis({ appendonly: true, appendfsync: 'always' });
    replicas = await startReplicas(2, { DEDUP_STORE: 'redis', REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '300', REDIS_FAILURE_POLICY: 'local', METRICS_INTERVAL_SECONDS: '3600' });
  });

  after(async () => {
    await stopReplicas(replicas);
    await redis?.dispose();
  });

  it('keeps answering on each replica\'s own window, counts events_decided_locally, and shares again once Redis is back', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const seen = eventBody('lc-seen', 1);
    assert.equal((await a.post(seen)).json.status, 'processed');
    assert.equal((await a.post(eventBody('lc-seen', 2))).json.status, 'deduplicated');

    await redis.stop();
    // a learnt lc-seen from Redis's answers: still a duplicate there, with its newest state.
    assert.equal((await a.post(seen)).json.status, 'deduplicated');
    assert.equal((await a.state('lc-seen')).json.payload.second, 2, 'GET /state from the local window');
    // New events are decided locally: the first processed, its repeat deduplicated.
    const fresh = Array.from({ length: 10 }, (_, i) => eventBody(`lc-new-${i}`, 1));
    for (const body of fresh) assert.equal((await a.post(body)).json.status, 'processed');
    for (const body of fresh) assert.equal((await a.post(body)).json.status, 'deduplicated');
    const local = await a.stats();
    assert.equal(local.eventsDecidedLocally, 21);
    assert.equal(local.store.redisReachable, false);
    assert.equal(local.eventsReceived, local.eventsProcessed + local.eventsDeduplicated + local.eventsRejected);
    assert.equal(local.rejectedByReason.unavailable, 0, 'nothing refused');
    assert.match((await a.daemon.get('/metrics')).text, /^cxone_dedup_events_decided_locally_total 21$/m);
    // One warning for the whole run of local decisions (at most one per METRICS_INTERVAL_SECONDS).
    const warnings = a.daemon.logs.filter((l) => /deciding on this replica's local window/.test(l.msg));
    assert.equal(warnings.length, 1);
    // The other replica never saw lc-new-*: decisions taken locally are not shared (the cost of `local`).
    assert.equal((await b.post(fresh[0]!)).json.status, 'processed');

    await redis.restart();
    // Each replica's client reconnects by itself (backing off to at most 2 s between attempts).
    await until('both replicas to reach Redis again', async () => (await Promise.all(replicas.map((r) => r.stats()))).every((s) => s.store.redisReachable), 20_000, 50);
    // Shared again: a new event processed on one replica is a duplicate on the other.
    const after = eventBody('lc-after', 1);
    assert.equal((await a.post(after)).json.status, 'processed');
    assert.equal((await b.post(after)).json.status, 'deduplicated');
    assert.equal((await b.state('lc-after')).status, 200);
    assert.equal((await a.stats()).eventsDecidedLocally, 21, 'no local decision once Redis answers');
  });
});
