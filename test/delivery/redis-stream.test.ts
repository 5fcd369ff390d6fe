/**
 * Issue 10's Redis Streams sink end to end: real daemons, a real redis-server, and a consumer
 * group reading back what they appended. A 200 means the entry is in the stream (fields id, status,
 * event = the exact bytes); with Redis stopped the answer is 503 and nothing is recorded; with
 * DELIVER=updates exactly the events that advanced their interaction's state are appended. Both
 * ways: the memory store with an XADD before the 200, and the Redis store appending inside its
 * decision script (three replicas, one entry per event).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseTimestamp } from '../../src/dedup/timestamp.js';
import { deliveryId } from '../../src/intake/delivery-id.js';
import { eventBody, startReplicas, stopReplicas, type Replica } from '../helpers/replicas.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

interface Entry {
  entryId: string;
  id: string;
  status: string;
  event: string;
}

/** Creates a consumer group at the start of `stream` (once), reads every entry not yet read by it, and acknowledges them. */
async function readGroup(redis: RedisServer, stream: string, group: string): Promise<Entry[]> {
  const created = await redis.command(['XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM']);
  assert.ok(created === 'OK' || (created instanceof Error && /BUSYGROUP/.test(created.message)), String(created));
  const out: Entry[] = [];
  for (;;) {
    const reply = await redis.command(['XREADGROUP', 'GROUP', group, 'consumer-1', 'COUNT', '500', 'STREAMS', stream, '>']);
    if (reply === null) break;
    assert.ok(Array.isArray(reply), String(reply));
    const entries = (reply[0] as [string, Array<[string, string[]]>])[1];
    if (entries.length === 0) break;
    for (const [entryId, f] of entries) {
      assert.deepEqual([f[0], f[2], f[4]], ['id', 'status', 'event'], 'the fields, in order');
      out.push({ entryId, id: f[1]!, status: f[3]!, event: f[5]! });
    }
    const acked = await redis.command(['XACK', stream, group, ...entries.map(([entryId]) => entryId)]);
    assert.equal(acked, entries.length);
  }
  return out;
}

/** The delivery id the daemon gives an event keyed by its interactionId. */
function idOf(body: string): string {
  const e = JSON.parse(body) as { interactionId: string; updatedTimestamp: string };
  return deliveryId(e.interactionId, parseTimestamp(e.updatedTimestamp)!, Buffer.from(body));
}

/** An update sequence with its expected stream entries under DELIVER=updates. */
function updatesSequence(id: string): { bodies: string[]; appended: Array<[string, string]> } {
  const steps: Array<[string, string | null]> = [
    [eventBody(id, 10), 'processed'], // first: processed, and the state
    [eventBody(id, 10), null], // the same bytes again: nothing new
    [eventBody(id, 5), null], // older, arriving late: stale
    [eventBody(id, 20), 'update'], // newer: an update
    [eventBody(id, 20, { changed: true }), 'update'], // same instant, other content: the later arrival wins
    [eventBody(id, 20, { changed: true }), null], // its repeat
    [eventBody(id, 19), null], // stale again
    [eventBody(id, 21), 'update'],
  ];
  return { bodies: steps.map(([b]) => b), appended: steps.filter(([, s]) => s !== null).map(([b, s]) => [s!, b]) };
}

describe('the Redis Streams sink beside the memory store', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  const started: Replica[] = [];

  before(async () => {
    redis = await startRedis({ appendonly: true, appendfsync: 'always' });
  });

  after(async () => {
    await stopReplicas(started);
    await redis?.dispose();
  });

  async function daemon(env: Record<string, string>): Promise<Replica> {
    const [r] = await startReplicas(1, { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '300', ...env });
    started.push(r!);
    return r!;
  }

  it('every event answered 200 processed is in the stream exactly once, with id, status and the exact bytes, read back through a consumer group', async () => {
    const r = await daemon({ DELIVERY_REDIS_STREAM: 'mem-processed' });
    const bodies = Array.from({ length: 60 }, (_, i) => eventBody(`ms-${i}`, 1, { note: 'ünïcödé ✓', i }));
    // Formatting is kept byte for byte: pretty-printed JSON stays pretty-printed.
    bodies.push(JSON.stringify(JSON.parse(eventBody('ms-pretty', 1)), null, 2));
    const processed: string[] = [];
    for (const body of bodies) {
      const a = await r.post(body);
      assert.equal(a.status, 200);
      if (a.json.status === 'processed') processed.push(body);
      // A repeat, and a newer update of the same interaction: not delivered under DELIVER=processed.
      assert.equal((await r.post(body)).json.status, 'deduplicated');
    }
    assert.equal((await r.post(eventBody('ms-0', 2))).json.status, 'deduplicated');
    const entries = await readGroup(redis, 'mem-processed', 'g1');
    assert.equal(entries.length, processed.length);
    assert.deepEqual(
      entries.map((e) => [e.id, e.status, e.event]),
      processed.map((b) => [idOf(b), 'processed', b]),
    );
    const stats = await r.stats();
    assert.equal(stats.delivery.sinks['redis-stream'].delivered, processed.length);
    assert.equal(stats.delivery.sinks['redis-stream'].failures, 0);
    assert.equal(stats.delivery.outbox, undefined, 'no outbox: the stream is written before the 200');
    assert.equal(stats.store.kind, 'memory');
    assert.match((await r.daemon.get('/metrics')).text, new RegExp(`^cxone_dedup_delivery_delivered_total\\{sink="redis-stream"\\} ${processed.length}$`, 'm'));
  });

  it('DELIVER=updates appends exactly the events that advanced the state, marked processed or update', async () => {
    const r = await daemon({ DELIVERY_REDIS_STREAM: 'mem-updates', DELIVER: 'updates' });
    const { bodies, appended } = updatesSequence('mu-1');
    for (const body of bodies) assert.equal((await r.post(body)).status, 200);
    const entries = await readGroup(redis, 'mem-updates', 'g1');
    assert.deepEqual(
      entries.map((e) => [e.status, e.event]),
      appended,
    );
    assert.deepEqual(entries.map((e) => e.id), appended.map(([, b]) => idOf(b)));
  });

  it('Redis stopped: 503 with Retry-After and nothing recorded; once it is back the retried events are processed and appended', async () => {
    const r = await daemon({ DELIVERY_REDIS_STREAM: 'mem-down' });
    const before = eventBody('md-before', 1);
    assert.equal((await r.post(before)).json.status, 'processed');
    await redis.stop();
    const during = Array.from({ length: 5 }, (_, i) => eventBody(`md-during-${i}`, 1));
    for (const body of during) {
      const a = await r.post(body);
      assert.equal(a.status, 503, a.body);
      assert.equal(a.headers['retry-after'], '5');
    }
    // Duplicates need no delivery: answered as before, Redis or not.
    assert.equal((await r.post(before)).json.status, 'deduplicated');
    const down = await r.stats();
    assert.equal(down.delivery.sinks['redis-stream'].failures, 5);
    assert.equal(down.delivery.rejectedForDurability, 5);
    assert.equal(down.eventsProcessed, 1, 'nothing recorded for the refused events');
    await redis.restart();
    await until('the stream to take appends again', async () => (await r.post(during[0]!)).status === 200, 20_000, 50);
    for (const body of during.slice(1)) assert.equal((await r.post(body)).json.status, 'processed');
    const entries = await readGroup(redis, 'mem-down', 'g1');
    assert.deepEqual(entries.map((e) => e.event), [before, ...during]);
  });
});

describe('the Redis Streams sink inside the Redis store (three replicas, no outbox)', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let replicas: Replica[] = [];

  before(async () => {
    redis = await startRedis({ appendonly: true, appendfsync: 'always' });
    replicas = await startReplicas(3, { DEDUP_STORE: 'redis', REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '300', DELIVERY_REDIS_STREAM: 'shared', DELIVER: 'updates' });
  });

  after(async () => {
    await stopReplicas(replicas);
    await redis?.dispose();
  });

  it('the same event sent to all three at once: one entry; updates spread over the replicas: exactly the advancing ones, in order', async () => {
    const bodies = Array.from({ length: 100 }, (_, i) => eventBody(`rs-${i}`, 1));
    for (const body of bodies) {
      const answers = await Promise.all(replicas.map((r) => r.post(body)));
      assert.equal(answers.filter((a) => a.status === 200 && a.json.status === 'processed').length, 1);
    }
    const { bodies: sequence, appended } = updatesSequence('rs-updates');
    for (const [i, body] of sequence.entries()) assert.equal((await replicas[i % 3]!.post(body)).status, 200);
    const entries = await readGroup(redis, 'shared', 'g1');
    assert.deepEqual(
      entries.map((e) => [e.status, e.event]),
      [...bodies.map((b) => ['processed', b]), ...appended],
    );
    assert.deepEqual(entries.map((e) => e.id), [...bodies, ...appended.map(([, b]) => b)].map(idOf));
    const stats = await Promise.all(replicas.map((r) => r.stats()));
    assert.equal(stats.reduce((n, s) => n + s.delivery.sinks['redis-stream'].delivered, 0), entries.length);
  });

  it('Redis stopped: 503 and nothing recorded, on every replica; back: each refused event is processed and appended once', async () => {
    await redis.stop();
    const during = Array.from({ length: 6 }, (_, i) => eventBody(`rsd-${i}`, 1));
    for (const [i, body] of during.entries()) {
      const a = await replicas[i % 3]!.post(body);
      assert.equal(a.status, 503, a.body);
      assert.equal(a.headers['retry-after'], '5');
    }
    await redis.restart();
    await until('every replica to reach Redis again', async () => (await Promise.all(replicas.map((r) => r.stats()))).every((s) => s.store.redisReachable), 20_000, 50);
    for (const body of during) {
      const answers = await Promise.all(replicas.map((r) => r.post(body)));
      assert.equal(answers.filter((a) => a.json?.status === 'processed').length, 1, body);
    }
    const entries = await readGroup(redis, 'shared', 'g1');
    assert.deepEqual(entries.map((e) => e.event), during);
  });
});
