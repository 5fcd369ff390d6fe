/**
 * Issue 11 end to end on a Redis Cluster of three masters: three daemons with
 * REDIS_CLUSTER_NODES pass the same contract as on one server, the work spreads over the masters,
 * and the Redis Streams sink appends to its partitions inside the same scripts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventBody, startReplicas, stopReplicas, type Replica } from '../helpers/replicas.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis.js';
import { interleavedUpdates, sameEventToAll } from './replica-contract.js';

const evalshaCalls = async (cluster: RedisCluster) =>
  Promise.all(cluster.nodes.map(async (n) => Number(/calls=(\d+)/.exec((await n.info('commandstats')).get('cmdstat_evalsha') ?? '')?.[1] ?? 0)));

describe('three replicas on a three-master Redis Cluster', { timeout: 300_000 }, () => {
  let cluster: RedisCluster;
  let replicas: Replica[] = [];

  before(async () => {
    cluster = await startRedisCluster();
    replicas = await startReplicas(3, { DEDUP_STORE: 'redis', REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_TIMEOUT_MS: '10000' });
  });

  after(async () => {
    await stopReplicas(replicas);
    await cluster?.dispose();
  });

  it('the same event sent to all three at once, 1,000 times with different ids: exactly 1,000 processed, spread over the masters', async (t) => {
    const before = await evalshaCalls(cluster);
    const { perReplica } = await sameEventToAll(replicas, 'csame');
    const after = await evalshaCalls(cluster);
    const per = after.map((n, i) => n - before[i]!);
    assert.equal(per.reduce((a, b) => a + b, 0), 3000, 'one script per webhook');
    assert.ok(per.every((n) => n > 300), `scripts per master: ${per}`);
    t.diagnostic(`Cluster: 1,000 events × 3 replicas → 1,000 processed (per replica: ${perReplica.join(', ')}), scripts per master: ${per.join(', ')}`);
  });

  it('interleaved updates of one interaction across replicas: every replica\'s GET /state gives the newest', async () => {
    await interleavedUpdates(replicas, 'cupd', 23);
  });
});

describe('the Redis Streams sink in the Redis store on a Cluster', { timeout: 300_000 }, () => {
  let cluster: RedisCluster;
  let replicas: Replica[] = [];

  before(async () => {
    cluster = await startRedisCluster();
    replicas = await startReplicas(3, { DEDUP_STORE: 'redis', REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_TIMEOUT_MS: '10000', DELIVERY_REDIS_STREAM: 'events' });
  });

  after(async () => {
    await stopReplicas(replicas);
    await cluster?.dispose();
  });

  it('appends each processed event once, to its interaction\'s partition, with id, status and the exact bytes', async () => {
    const bodies = Array.from({ length: 120 }, (_, i) => eventBody(`cs-${i}`, 1, { n: i }));
    const processed = new Map<string, string>();
    for (const body of bodies) {
      const answers = await Promise.all(replicas.map((r) => r.post(body)));
      assert.ok(answers.every((a) => a.status === 200));
      assert.equal(answers.filter((a) => a.json.status === 'processed').length, 1);
      processed.set(JSON.parse(body).interactionId, body);
    }
    // 16 partitions, each a stream in its own slot; together they hold every processed event once.
    const entries: Array<{ partition: number; fields: Record<string, string> }> = [];
    for (let p = 0; p < 16; p++) {
      const key = `events:{p${p}}`;
      const node = cluster.nodeForSlot(await cluster.keySlot(key));
      const reply = (await node.command(['XRANGE', key, '-', '+'])) as unknown as Array<[string, string[]]> | Error;
      assert.ok(Array.isArray(reply), String(reply));
      for (const [, f] of reply) entries.push({ partition: p, fields: Object.fromEntries([0, 2, 4].map((i) => [f[i]!, f[i + 1]!])) });
    }
    assert.equal(entries.length, 120);
    assert.ok(new Set(entries.map((e) => e.partition)).size > 8, 'interactions spread over the partitions');
    for (const e of entries) {
      assert.equal(e.fields.status, 'processed');
      assert.match(e.fields.id!, /^[0-9a-f]{32}$/);
      assert.equal(e.fields.event, processed.get(JSON.parse(e.fields.event!).interactionId), 'the exact bytes');
    }
    const stats = await Promise.all(replicas.map((r) => r.stats()));
    assert.equal(stats.reduce((n, s) => n + s.delivery.sinks['redis-stream'].delivered, 0), 120);
    assert.ok(stats.every((s) => s.delivery.outbox === undefined && s.delivery.sinks['redis-stream'].failures === 0));
  });
});
