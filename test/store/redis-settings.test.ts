/**
 * Redis settings: URL and cluster-node parsing, the key prefix, and the rows in the config table
 * (clear messages naming the setting, secrets never echoed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, defaultConfig, loadConfig, redactedConfig } from '../../src/config.js';
import { describeTarget, parseClusterNodes, parseKeyPrefix, parseRedisUrl, resolveTarget } from '../../src/store/redis/settings.js';

describe('parseRedisUrl', () => {
  it('reads host, port, TLS, user, password and database', () => {
    assert.deepEqual(parseRedisUrl('redis://localhost'), { host: 'localhost', port: 6379, tls: false, username: undefined, password: undefined, database: 0 });
    assert.deepEqual(parseRedisUrl('rediss://app:s%3Acret%40x@redis.example.com:6380/2'), {
      host: 'redis.example.com',
      port: 6380,
      tls: true,
      username: 'app',
      password: 's:cret@x',
      database: 2,
    });
    assert.deepEqual(parseRedisUrl('redis://:only-a-password@[::1]:7000/'), { host: '::1', port: 7000, tls: false, username: undefined, password: 'only-a-password', database: 0 });
  });

  it('refuses what it would not honour, without echoing the password', () => {
    for (const [raw, re] of [
      ['', /must not be empty/],
      ['http://localhost:6379', /must start with redis:\/\/ or rediss:\/\//],
      ['redis://localhost:0', /bad port/],
      ['redis://localhost:6379/x', /database number/],
      ['redis://localhost:6379/1?tls=true', /query string/],
      ['redis://u:hunter2-secret@bad_host:1', /bad host/],
      ['redis://localhost/99999', /database number above 16383/],
    ] as const) {
      assert.throws(() => parseRedisUrl(raw), (err: Error) => re.test(err.message) && !err.message.includes('hunter2'), raw);
    }
  });
});

describe('parseClusterNodes', () => {
  it('reads host:port lists and redis[s]:// entries', () => {
    assert.deepEqual(
      parseClusterNodes(' 10.0.0.1:7000, node-b:7001 ,[::1]:7002').map((n) => `${n.host}:${n.port}`),
      ['10.0.0.1:7000', 'node-b:7001', '::1:7002'],
    );
    const tls = parseClusterNodes('rediss://app@a:7000,rediss://app@b:7000');
    assert.equal(tls.every((n) => n.tls && n.username === 'app'), true);
  });

  it('refuses bad entries, passwords in entries, mixed schemes and repeats', () => {
    assert.throws(() => parseClusterNodes(''), /at least one/);
    assert.throws(() => parseClusterNodes('a'), /not host:port/);
    assert.throws(() => parseClusterNodes('a:99999'), /bad port/);
    assert.throws(() => parseClusterNodes('redis://u:pw@a:7000'), /REDIS_PASSWORD/);
    assert.throws(() => parseClusterNodes('rediss://a:7000,b:7001'), /same scheme/);
    assert.throws(() => parseClusterNodes('a:7000,a:7000'), /twice/);
    assert.throws(() => parseClusterNodes('redis://a:7000/3'), /database/);
  });
});

describe('parseKeyPrefix and resolveTarget', () => {
  it('keeps braces and spaces out of the prefix', () => {
    assert.equal(parseKeyPrefix('team-a:dedup:'), 'team-a:dedup:');
    assert.equal(parseKeyPrefix(''), '');
    assert.throws(() => parseKeyPrefix('a{b}'), /braces|\{/);
    assert.throws(() => parseKeyPrefix('a b'), /printable/);
  });

  it('takes exactly one of URL and cluster nodes, and the password in one place', () => {
    assert.equal(describeTarget(resolveTarget('redis://h:1/3', undefined, 'pw')), 'redis://h:1/3');
    assert.equal(resolveTarget('redis://h:1', undefined, 'pw').kind, 'standalone');
    const cluster = resolveTarget(undefined, ['a:1', 'b:2'], 'pw');
    assert.equal(cluster.kind === 'cluster' && cluster.nodes.every((n) => n.password === 'pw'), true);
    assert.equal(describeTarget(cluster), 'cluster(redis://a:1,redis://b:2)');
    assert.throws(() => resolveTarget('redis://h:1', ['a:1'], undefined), /both set/);
    assert.throws(() => resolveTarget('redis://u:x@h:1', undefined, 'pw'), /in one place/);
    assert.throws(() => resolveTarget(undefined, undefined, undefined), /neither/);
  });
});

describe('config rows', () => {
  it('defaults: no Redis, prefix cxone-dedup:, 1000 ms timeout, states kept a day', () => {
    const c = defaultConfig();
    assert.equal(c.redisUrl, undefined);
    assert.equal(c.redisClusterNodes, undefined);
    assert.equal(c.redisKeyPrefix, 'cxone-dedup:');
    assert.equal(c.redisTimeoutMs, 1000);
    assert.equal(c.stateTtlSeconds, 86_400);
  });

  it('reads the environment and flags', () => {
    const c = loadConfig(
      { REDIS_CLUSTER_NODES: 'a:7000,b:7001', REDIS_PASSWORD: 'pw-pw', REDIS_KEY_PREFIX: 'x:', STATE_TTL_SECONDS: '60' },
      ['--redis-timeout', '250'],
    );
    assert.deepEqual(c.redisClusterNodes, ['a:7000', 'b:7001']);
    assert.equal(c.redisPassword, 'pw-pw');
    assert.equal(c.redisKeyPrefix, 'x:');
    assert.equal(c.redisTimeoutMs, 250);
    assert.equal(c.stateTtlSeconds, 60);
    assert.equal(loadConfig({ REDIS_URL: 'rediss://u:p@h:6380' }).redisUrl, 'rediss://u:p@h:6380');
  });

  it('names the setting in every error and never echoes a URL or password', () => {
    const bad = (env: Record<string, string>, re: RegExp) =>
      assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && re.test(err.message) && !err.message.includes('hunter2'));
    bad({ REDIS_URL: 'http://u:hunter2@h' }, /^REDIS_URL \(--redis-url\) must start with redis:\/\//);
    bad({ REDIS_CLUSTER_NODES: 'nope' }, /^REDIS_CLUSTER_NODES .*not host:port/);
    bad({ REDIS_TIMEOUT_MS: '0' }, /^REDIS_TIMEOUT_MS .*between 1 and 60000/);
    bad({ STATE_TTL_SECONDS: '1.5' }, /^STATE_TTL_SECONDS .*whole number/);
    bad({ REDIS_KEY_PREFIX: 'a{b' }, /^REDIS_KEY_PREFIX .*\{ or \}/);
    bad({ REDIS_URL: 'redis://h:1', REDIS_CLUSTER_NODES: 'a:1' }, /both set/);
    bad({ REDIS_URL: 'redis://u:hunter2@h:1', REDIS_PASSWORD: 'hunter2-again' }, /in one place/);
    bad({ REDIS_PASSWORD: 'hunter2' }, /neither REDIS_URL nor REDIS_CLUSTER_NODES/);
  });

  it('redacts the URL and the password', () => {
    const r = redactedConfig(loadConfig({ REDIS_URL: 'redis://u:hunter2@h:1' }));
    assert.equal(r.redisUrl, 'set');
    assert.equal(r.redisPassword, 'unset');
  });
});

describe('DEDUP_STORE, REDIS_FAILURE_POLICY and the Redis Streams sink settings', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
    return [];
  };

  it('defaults: the memory store, reject, no stream, a million entries', () => {
    const c = defaultConfig();
    assert.equal(c.dedupStore, 'memory');
    assert.equal(c.redisFailurePolicy, 'reject');
    assert.equal(c.deliveryRedisStream, undefined);
    assert.equal(c.deliveryRedisMaxLen, 1_000_000);
    const r = loadConfig({ DEDUP_STORE: 'Redis', REDIS_URL: 'redis://h:1', DELIVERY_REDIS_MAXLEN: '5_000' }, ['--delivery-redis-stream', 'events']);
    assert.deepEqual([r.dedupStore, r.redisFailurePolicy, r.deliveryRedisStream, r.deliveryRedisMaxLen], ['redis', 'reject', 'events', 5000]);
    assert.equal(loadConfig({ DEDUP_STORE: 'redis', REDIS_CLUSTER_NODES: 'a:7000' }, ['--redis-failure-policy=local']).redisFailurePolicy, 'local');
  });

  it('refuses what cannot work, saying what and why', () => {
    assert.deepEqual(problems({ DEDUP_STORE: 'redis' }), [
      'DEDUP_STORE=redis (--dedup-store) needs REDIS_URL (one server) or REDIS_CLUSTER_NODES (Redis Cluster): the replicas share their dedup window and states there',
    ]);
    assert.deepEqual(problems({ DELIVERY_REDIS_STREAM: 'events' }), [
      'DELIVERY_REDIS_STREAM (--delivery-redis-stream) needs REDIS_URL (one server) or REDIS_CLUSTER_NODES (Redis Cluster): the stream lives there',
    ]);
    const [cluster] = problems({ DEDUP_STORE: 'redis', REDIS_CLUSTER_NODES: 'a:7000', DEDUP_KEY_FIELDS: 'dataActionId' });
    assert.match(cluster!, /^DEDUP_KEY_FIELDS=dataActionId \(--dedup-key-fields\) with DEDUP_STORE=redis on Redis Cluster: a dedup key without interactionId spans interactions/);
    // The same key fields are fine on one server (no slot rule there).
    assert.deepEqual(problems({ DEDUP_STORE: 'redis', REDIS_URL: 'redis://h:1', DEDUP_KEY_FIELDS: 'dataActionId' }), []);
    const [local] = problems({ DEDUP_STORE: 'redis', REDIS_URL: 'redis://h:1', REDIS_FAILURE_POLICY: 'local', DELIVERY_REDIS_STREAM: 'events' });
    assert.match(local!, /^REDIS_FAILURE_POLICY=local \(--redis-failure-policy\) cannot keep DELIVERY_REDIS_STREAM's promise/);
    // The memory store takes a stream whatever the (unused) policy says.
    assert.deepEqual(problems({ REDIS_URL: 'redis://h:1', REDIS_FAILURE_POLICY: 'local', DELIVERY_REDIS_STREAM: 'events' }), []);
    assert.match(problems({ DEDUP_STORE: 'disk' })[0]!, /^DEDUP_STORE \(--dedup-store\) must be one of memory, redis, got "disk"/);
    assert.match(problems({ REDIS_FAILURE_POLICY: 'retry' })[0]!, /^REDIS_FAILURE_POLICY \(--redis-failure-policy\) must be one of reject, local/);
    assert.match(problems({ REDIS_URL: 'redis://h:1', DELIVERY_REDIS_STREAM: 'a{b}' })[0]!, /^DELIVERY_REDIS_STREAM .*\{ or \}/);
    assert.match(problems({ REDIS_URL: 'redis://h:1', DELIVERY_REDIS_STREAM: 'two words' })[0]!, /^DELIVERY_REDIS_STREAM .*printable ASCII without spaces/);
    assert.match(problems({ DELIVERY_REDIS_MAXLEN: '0' })[0]!, /^DELIVERY_REDIS_MAXLEN .*whole number/);
  });

  it('--help lists them', async () => {
    const { settingsHelp } = await import('../../src/config.js');
    const help = settingsHelp();
    for (const name of ['DEDUP_STORE', 'REDIS_FAILURE_POLICY', 'DELIVERY_REDIS_STREAM', 'DELIVERY_REDIS_MAXLEN']) assert.ok(help.includes(name), name);
    assert.match(help, /--dedup-store memory\|redis/);
  });
});

describe('createRedisStore', () => {
  it('builds the store from the configuration (window = two compaction intervals)', async () => {
    const { createRedisStore } = await import('../../src/store/redis/index.js');
    const config = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', COMPACTION_INTERVAL_SECONDS: '1.5', STATE_TTL_SECONDS: '30', REDIS_KEY_PREFIX: 'x:', REDIS_TIMEOUT_MS: '250', DEDUP_KEY_FIELDS: 'interactionId,updatedTimestamp' });
    const store = createRedisStore(config, { stream: { name: 'ev', maxLen: 100, deliver: 'updates' } });
    assert.equal(store.windowMs, 3000);
    assert.equal(store.stateTtlMs, 30_000);
    assert.equal(store.connection.kind, 'cluster');
    assert.equal(store.connection.timeoutMs, 250);
    assert.equal(store.layout.prefix, 'x:');
    assert.equal(store.layout.partitions, 16, 'a stream in Cluster is partitioned by default');
    await store.close();
    assert.throws(() => createRedisStore(defaultConfig()), /neither REDIS_URL nor REDIS_CLUSTER_NODES/);
  });
});
