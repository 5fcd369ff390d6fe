/**
 * The Redis store against a real Redis Cluster of three masters on loopback: one interaction's
 * keys share a slot, operations spread over all masters, races and two-phase batches work across
 * them, and the partitioned delivery stream can be consumed with consumer groups.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseTimestamp } from '../../src/dedup/timestamp.js';
import { KeyLayout, RedisConnection, RedisStore, resolveTarget, type RedisStoreOptions, type StoreEvent } from '../../src/store/redis/index.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

function event(interactionId: string, updatedTimestamp: string, body = `${interactionId}@${updatedTimestamp}`): StoreEvent {
  const timestamp = parseTimestamp(updatedTimestamp);
  assert.ok(timestamp);
  return { interactionId, key: interactionId, timestamp, body };
}

describe('RedisStore on a three-master Redis Cluster', { timeout: 180_000 }, () => {
  let cluster: RedisCluster;
  const opened: RedisStore[] = [];
  let prefixCounter = 0;

  async function makeStore(options: Partial<RedisStoreOptions> = {}, prefix = `c${++prefixCounter}:`): Promise<RedisStore> {
    const connection = new RedisConnection({ target: resolveTarget(undefined, cluster.nodeList, undefined), timeoutMs: 10_000 });
    const store = new RedisStore({ connection, keyPrefix: prefix, keyFields: ['interactionId'], windowMs: 60_000, ...options });
    opened.push(store);
    await store.open(10_000);
    return store;
  }

  before(async () => {
    cluster = await startRedisCluster();
  });

  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await cluster?.dispose();
  });

  it('puts every key of one interaction in one slot, braces in ids included', async () => {
    const ids = ['plain', 'a{b}c', '}x{', '{}', '%7D', 'ünïcödé', 'x'.repeat(256)];
    const layouts = [
      new KeyLayout({ prefix: 'p:', keyFields: ['interactionId'] }),
      new KeyLayout({ prefix: 'p:', keyFields: ['interactionId', 'updatedTimestamp'] }),
      new KeyLayout({ prefix: 'p:', keyFields: ['interactionId'], stream: 'ev', partitions: 8 }),
    ];
    for (const layout of layouts) {
      for (const id of ids) {
        const keys = [layout.dedupKey(id, `${id.length}:${id}18:1705314600.0`), layout.stateKey(id), ...(layout.stream ? [layout.streamKey(id)] : [])];
        const slots = await Promise.all(keys.map((k) => cluster.keySlot(k)));
        assert.equal(new Set(slots).size, 1, `${JSON.stringify(id)}: ${keys.join(' ')} → ${slots.join(',')}`);
      }
    }
    // Different ids with the same escaped form cannot exist: the escape is injective.
    const l = layouts[0]!;
    assert.notEqual(l.stateKey('{'), l.stateKey('%7B'));
  });

  it('spreads interactions over the three masters and gives exactly one "new" per key under a race', async () => {
    const prefix = 'race:';
    const stores = await Promise.all([0, 1, 2].map(() => makeStore({}, prefix)));
    const ids = Array.from({ length: 300 }, (_, i) => `cr-${i}`);
    const results = await Promise.all(ids.flatMap((id) => stores.flatMap((s) => [0, 1].map(() => s.observe(event(id, '2024-01-15T10:30:00Z')).then((r) => [id, r.status] as const)))));
    const news = results.filter(([, st]) => st === 'new').map(([id]) => id);
    assert.equal(news.length, ids.length);
    assert.equal(new Set(news).size, ids.length);
    // Every master holds some of them.
    const perNode = new Map<number, number>();
    for (const id of ids) {
      const node = cluster.nodeForSlot(await cluster.keySlot(stores[0]!.layout.stateKey(id)));
      perNode.set(node.port, (perNode.get(node.port) ?? 0) + 1);
    }
    assert.equal(perNode.size, 3, `interactions per master: ${JSON.stringify([...perNode])}`);
    for (const node of cluster.nodes) {
      const size = await node.command(['DBSIZE']);
      assert.ok(typeof size === 'number' && size > 0, `master ${node.port} holds keys`);
    }
  });

  it('orders states on every master, and getState answers from any connection', async () => {
    const a = await makeStore();
    const b = await makeStore({}, a.layout.prefix);
    const ids = Array.from({ length: 30 }, (_, i) => `st-${i}`);
    for (const id of ids) {
      await a.observe(event(id, '2024-01-15T10:30:01Z', `${id}:newest`));
      const late = await b.observe(event(id, '2024-01-15T10:30:00Z', `${id}:older`));
      assert.ok(late.status === 'duplicate' && late.stale && !late.advanced);
    }
    for (const id of ids) assert.equal(String(await b.getState(id)), `${id}:newest`);
  });

  it('begins on all masters and commits the batch in one call', async () => {
    const store = await makeStore();
    const begun = await Promise.all(Array.from({ length: 200 }, (_, i) => store.begin(event(`tp-${i}`, '2024-01-15T10:30:00Z'))));
    const claims = begun.map((r) => (r.status !== 'pending' && r.held ? r.claim : assert.fail(r.status)));
    const results = await store.commit(claims);
    assert.ok(results.every((r) => r.ok && r.held && r.advanced));
    const again = await Promise.all(claims.map((c) => store.observe(c.event)));
    assert.ok(again.every((r) => r.status === 'duplicate'));
    const c0 = claims[0]!;
    assert.equal(await store.release(c0), false);
  });

  it('appends to partitioned streams; a consumer group per partition reads each interaction in order', async () => {
    const partitions = 6;
    const store = await makeStore({ stream: { name: 'deliveries', maxLen: 6000, deliver: 'updates', partitions } });
    assert.deepEqual(store.layout.streamKeys(), Array.from({ length: partitions }, (_, n) => `deliveries:{p${n}}`));
    const ids = Array.from({ length: 60 }, (_, i) => `ps-${i}`);
    // Three updates per interaction, sent in order per interaction but interleaved across them.
    for (const second of ['00', '01', '02']) {
      await Promise.all(ids.map((id) => store.observe(event(id, `2024-01-15T10:30:${second}Z`), `${id}@${second}`)));
    }
    // The consumer recipe: one XREADGROUP per partition (each partition is one slot, on one master).
    const conn = store.connection;
    const seen = new Map<string, string[]>();
    const partitionsUsed = new Set<number>();
    for (const [n, key] of store.layout.streamKeys().entries()) {
      await conn.send('test', key, ['XGROUP', 'CREATE', key, 'workers', '0', 'MKSTREAM']);
      const reply = (await conn.send('test', key, ['XREADGROUP', 'GROUP', 'workers', 'w1', 'COUNT', '10000', 'STREAMS', key, '>'])) as Array<[string, Array<[string, string[]]>]> | null;
      for (const [, fields] of reply?.[0]?.[1] ?? []) {
        const id = fields[1]!.split('@')[0]!;
        assert.equal(store.layout.partitionOf(id), n, `${id} in partition ${n}`);
        partitionsUsed.add(n);
        seen.set(id, [...(seen.get(id) ?? []), `${fields[3]}:${fields[1]!.split('@')[1]}`]);
      }
    }
    assert.equal(seen.size, ids.length);
    for (const id of ids) assert.deepEqual(seen.get(id), ['processed:00', 'update:01', 'update:02'], id);
    assert.ok(partitionsUsed.size >= 4, `partitions used: ${[...partitionsUsed].join(',')}`);
    // The partitions live on more than one master.
    const masters = new Set(await Promise.all(store.layout.streamKeys().map(async (k) => cluster.nodeForSlot(await cluster.keySlot(k)).port)));
    assert.ok(masters.size >= 2, `stream partitions on ${masters.size} master(s)`);
  });

  it('refuses key fields without interactionId (they would span slots)', () => {
    const connection = new RedisConnection({ target: resolveTarget(undefined, cluster.nodeList, undefined), timeoutMs: 1000 });
    assert.throws(() => new RedisStore({ connection, keyFields: ['dataActionId'], windowMs: 1000 }), /must include interactionId/);
    assert.throws(() => new RedisStore({ connection, keyFields: ['interactionId'], windowMs: 1000, stream: { name: 's', maxLen: 10, deliver: 'processed', partitions: 0 } }), /at least one partition/);
    void connection.close();
  });

  it('a stopped master fails only its own slots, within the timeout; restarted, it serves again', async () => {
    const connection = new RedisConnection({ target: resolveTarget(undefined, cluster.nodeList, undefined), timeoutMs: 500 });
    const store = new RedisStore({ connection, keyPrefix: 'fail:', keyFields: ['interactionId'], windowMs: 60_000 });
    opened.push(store);
    await store.open(10_000);
    const victim = cluster.nodes[2]!;
    const ids = Array.from({ length: 60 }, (_, i) => `f-${i}`);
    const onVictim = new Set<string>();
    for (const id of ids) if (cluster.nodeForSlot(await cluster.keySlot(store.layout.stateKey(id))) === victim) onVictim.add(id);
    assert.ok(onVictim.size > 0 && onVictim.size < ids.length);
    await victim.stop();
    const t0 = performance.now();
    const outcomes = await Promise.all(ids.map((id) => store.observe(event(id, '2024-01-15T10:30:00Z')).then((r) => r.status, (err: Error) => err.name)));
    assert.ok(performance.now() - t0 < 500 + 500, 'every call settled within the timeout (500 ms; margin for a busy machine)');
    ids.forEach((id, i) => assert.equal(outcomes[i], onVictim.has(id) ? 'RedisUnavailableError' : 'new', id));
    await victim.restart();
    await until('the restarted master to serve again', async () => {
      const r = await Promise.all([...onVictim].map((id) => store.observe(event(id, '2024-01-15T10:30:00Z')).then((x) => x.status, () => 'error')));
      return r.every((s) => s === 'new');
    }, 20_000, 100);
  });
});
