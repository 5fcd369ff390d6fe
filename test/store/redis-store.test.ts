/**
 * The Redis store against a real standalone redis-server: races between several connections,
 * the window's TTL, latest-state ordering, the two-phase claim protocol, the stream append, and
 * Redis going away and coming back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keyBuilder, type KeyField } from '../../src/dedup/key.js';
import { parseTimestamp } from '../../src/dedup/timestamp.js';
import {
  RedisConnection,
  RedisStore,
  RedisUnavailableError,
  resolveTarget,
  type BeginResult,
  type RedisStoreOptions,
  type StoreEvent,
} from '../../src/store/redis/index.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

// The bound the failure tests assert. Functional tests use a generous one: a burst of thousands
// of operations on a busy 2-core machine may take longer than 400 ms, and that is not their subject.
const TIMEOUT_MS = 400;
const FUNCTIONAL_TIMEOUT_MS = 10_000;

function ts(s: string) {
  const t = parseTimestamp(s);
  assert.ok(t, s);
  return t;
}

function event(interactionId: string, updatedTimestamp: string, body: string | Buffer = `{"i":"${interactionId}","t":"${updatedTimestamp}"}`, fields: readonly KeyField[] = ['interactionId']): StoreEvent {
  const timestamp = ts(updatedTimestamp);
  const key = keyBuilder(fields)({ interactionId, dataActionId: 'da-1' }, timestamp);
  return { interactionId, key, timestamp, body };
}

describe('RedisStore on a standalone redis-server', { timeout: 120_000 }, () => {
  let server: RedisServer;
  const opened: RedisStore[] = [];
  let prefixCounter = 0;

  /** A store on its own connection; every call gets a fresh key prefix so tests do not meet. */
  async function makeStore(options: Partial<RedisStoreOptions> & { timeoutMs?: number; maxQueueLength?: number } = {}, prefix = `t${++prefixCounter}:`): Promise<RedisStore> {
    const { timeoutMs, maxQueueLength, ...rest } = options;
    const connection = new RedisConnection({
      target: resolveTarget(server.url, undefined, undefined),
      timeoutMs: timeoutMs ?? FUNCTIONAL_TIMEOUT_MS,
      ...(maxQueueLength !== undefined && { maxQueueLength }),
    });
    const store = new RedisStore({ connection, keyPrefix: prefix, keyFields: ['interactionId'], windowMs: 60_000, ...rest });
    opened.push(store);
    await store.open(5000);
    return store;
  }

  before(async () => {
    server = await startRedis({ args: ['--stream-node-max-entries', '10'] });
  });

  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await server?.dispose();
  });

  describe('deciding', () => {
    it('gives exactly one "new" per key when four connections race on 300 keys, three copies each', async () => {
      const prefix = 'race:';
      const stores = await Promise.all([0, 1, 2, 3].map(() => makeStore({}, prefix)));
      const ids = Array.from({ length: 300 }, (_, i) => `race-${i}`);
      const calls = ids.flatMap((id) => stores.flatMap((s) => [0, 1, 2].map(() => s.observe(event(id, '2024-01-15T10:30:00Z')).then((r) => [id, r.status] as const))));
      const results = await Promise.all(calls);
      const newCount = new Map<string, number>();
      for (const [id, status] of results) {
        assert.notEqual(status, 'pending');
        if (status === 'new') newCount.set(id, (newCount.get(id) ?? 0) + 1);
      }
      assert.equal(newCount.size, ids.length);
      assert.ok([...newCount.values()].every((n) => n === 1));
      assert.equal(results.length, 300 * 12);
    });

    it('gives exactly one claim per key when begin races, and the rest "pending"', async () => {
      const prefix = 'race2:';
      const stores = await Promise.all([0, 1, 2].map(() => makeStore({}, prefix)));
      const ids = Array.from({ length: 100 }, (_, i) => `b-${i}`);
      const results = await Promise.all(ids.flatMap((id) => stores.flatMap((s) => [s.begin(event(id, '2024-01-15T10:30:00Z')), s.observe(event(id, '2024-01-15T10:30:00Z'))])));
      const byStatus = (st: string) => results.filter((r) => r.status === st).length;
      // Per key: the first script to run wins (a begin's claim or an observe's "new"); the others
      // see a claim (pending) or a remembered key (duplicate).
      assert.equal(byStatus('new'), ids.length);
      assert.equal(byStatus('new') + byStatus('pending') + byStatus('duplicate'), ids.length * 6);
    });

    it('forgets a key after the window, and keeps it while events arrive within it', async () => {
      const windowMs = 300;
      const store = await makeStore({ windowMs });
      const key = store.layout.dedupKey('w-1', 'w-1');
      assert.equal((await store.observe(event('w-1', '2024-01-15T10:30:00Z'))).status, 'new');
      const pttl = await server.command(['PTTL', key]);
      assert.ok(typeof pttl === 'number' && pttl > 0 && pttl <= windowMs, `PTTL ${String(pttl)}`);
      // Events 150 ms apart (half the window, i.e. one compaction interval) for 600 ms, twice the
      // window: every one refreshes the key, so every one is a duplicate.
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 150));
        assert.equal((await store.observe(event('w-1', '2024-01-15T10:30:00Z'))).status, 'duplicate', `event ${i + 2}`);
      }
      // Idle: the key expires with its TTL, and the next event is new again.
      await until('the dedup key to expire', async () => (await server.command(['EXISTS', key])) === 0, 5000, 10);
      assert.equal((await store.observe(event('w-1', '2024-01-15T10:30:00Z'))).status, 'new');
    });

    it('keeps multi-field keys apart within one interaction and shares the interaction\'s slot tag', async () => {
      const fields: KeyField[] = ['interactionId', 'updatedTimestamp'];
      const store = await makeStore({ keyFields: fields });
      const a = event('m-1', '2024-01-15T10:30:00Z', 'a', fields);
      const b = event('m-1', '2024-01-15T12:30:00+02:00', 'b', fields); // the same instant: the same key
      const c = event('m-1', '2024-01-15T10:31:00Z', 'c', fields);
      assert.equal((await store.observe(a)).status, 'new');
      assert.equal((await store.observe(b)).status, 'duplicate');
      assert.equal((await store.observe(c)).status, 'new');
      assert.match(store.layout.dedupKey('m-1', c.key), /^t\d+:\{m-1\}:k:/);
      assert.equal(String(await store.getState('m-1')), 'c');
    });

    it('works with a dedup key that spans interactions (dataActionId) on a standalone server', async () => {
      const fields: KeyField[] = ['dataActionId'];
      const store = await makeStore({ keyFields: fields });
      assert.equal((await store.observe(event('x-1', '2024-01-15T10:30:00Z', 'one', fields))).status, 'new');
      const second = await store.observe(event('x-2', '2024-01-15T10:30:00Z', 'two', fields));
      assert.equal(second.status, 'duplicate');
      // Duplicates update their own interaction's state.
      assert.equal(String(await store.getState('x-2')), 'two');
    });
  });

  describe('latest state', () => {
    it('newest wins, older never overwrites, a tie goes to the later arrival, and "advanced" says when it changed', async () => {
      const store = await makeStore();
      const id = 's-1';
      const steps: Array<[string, string, { status: string; advanced: boolean; stale: boolean }, string]> = [
        ['2024-01-15T10:30:00Z', 'first', { status: 'new', advanced: true, stale: false }, 'first'],
        ['2024-01-15T10:30:01Z', 'newer', { status: 'duplicate', advanced: true, stale: false }, 'newer'],
        ['2024-01-15T10:29:59Z', 'older', { status: 'duplicate', advanced: false, stale: true }, 'newer'],
        ['2024-01-15T10:30:01.000Z', 'newer', { status: 'duplicate', advanced: false, stale: false }, 'newer'],
        ['2024-01-15T12:30:01+02:00', 'tie, other bytes', { status: 'duplicate', advanced: true, stale: false }, 'tie, other bytes'],
        ['2024-01-15T10:30:00.999999999Z', 'a nanosecond older', { status: 'duplicate', advanced: false, stale: true }, 'tie, other bytes'],
        ['2024-01-15T10:30:01.000000001Z', 'a nanosecond newer', { status: 'duplicate', advanced: true, stale: false }, 'a nanosecond newer'],
      ];
      for (const [t, body, expected, state] of steps) {
        const r = await store.observe(event(id, t, body));
        assert.deepEqual({ status: r.status, advanced: 'advanced' in r && r.advanced, stale: 'stale' in r && r.stale }, expected, `${t} ${body}`);
        assert.equal(String(await store.getState(id)), state, `state after ${t} ${body}`);
      }
    });

    it('orders a leap second after …:59.999999999 and before the next second', async () => {
      const store = await makeStore();
      const id = 'leap';
      await store.observe(event(id, '2016-12-31T23:59:59.999999999Z', 'before'));
      assert.equal((await store.observe(event(id, '2016-12-31T23:59:60Z', 'leap'))).status, 'duplicate');
      assert.equal(String(await store.getState(id)), 'leap');
      assert.deepEqual(await store.observe(event(id, '2016-12-31T23:59:59.5Z', 'late')), { status: 'duplicate', advanced: false, stale: true, entryId: null, stored: null });
      await store.observe(event(id, '2017-01-01T00:00:00Z', 'after'));
      assert.equal(String(await store.getState(id)), 'after');
      // Before 1970 (negative epoch seconds) and far years compare too.
      await store.observe(event('old', '1969-12-31T23:59:59.5Z', 'a'));
      assert.deepEqual(await store.observe(event('old', '0001-01-01T00:00:00Z', 'b')), { status: 'duplicate', advanced: false, stale: true, entryId: null, stored: null });
      await store.observe(event('old', '9999-12-31T23:59:59.999999999Z', 'c'));
      assert.equal(String(await store.getState('old')), 'c');
    });

    it('keeps the exact bytes, binary included, and expires states after the state TTL', async () => {
      const store = await makeStore({ stateTtlMs: 250 });
      const bytes = Buffer.from([0, 0xff, 0xfe, 0x7b, 0x22, 0x0a, 0x80, 0xc3, 0x28]);
      await store.observe(event('bin', '2024-01-15T10:30:00Z', bytes));
      assert.deepEqual(await store.getState('bin'), bytes);
      assert.equal(await store.getState('never-seen'), null);
      await until('the state to expire', async () => (await store.getState('bin')) === null, 5000, 10);
    });
  });

  describe('two-phase: begin, commit, release', () => {
    const claimOf = (r: BeginResult) => (r.status !== 'pending' && r.held ? r.claim : assert.fail(`not held: ${JSON.stringify(r)}`));

    it('holds a new key, makes others wait, and commits the key and the state', async () => {
      const store = await makeStore({ claimTtlMs: 5000 });
      const other = await makeStore({}, store.layout.prefix);
      const ev = event('tp-1', '2024-01-15T10:30:00Z', 'one');
      const begun = await store.begin(ev);
      assert.ok(begun.status === 'new' && begun.held && begun.advanced);
      assert.equal(await store.getState('tp-1'), null, 'nothing applied before commit');
      const waiting = await other.begin(ev);
      assert.equal(waiting.status, 'pending');
      assert.ok(waiting.status === 'pending' && waiting.pendingMs > 0 && waiting.pendingMs <= 5000);
      assert.equal((await other.observe(ev)).status, 'pending');
      // Another event of the same interaction waits too, even under another dedup key.
      assert.equal((await other.observe(event('tp-1', '2024-01-15T10:30:09Z', 'x'))).status, 'pending');
      const [committed] = await store.commit([claimOf(begun)]);
      assert.deepEqual(committed, { ok: true, held: true, advanced: true, stale: false, entryId: null, stored: null });
      assert.equal(String(await store.getState('tp-1')), 'one');
      const pttl = await server.command(['PTTL', store.layout.dedupKey('tp-1', 'tp-1')]);
      assert.ok(typeof pttl === 'number' && pttl > 5000, 'remembered for the window, not the claim TTL');
      assert.equal(await server.command(['EXISTS', store.layout.claimKey('tp-1')]), 0, 'the interaction is free again');
      // DELIVER=processed: a duplicate is delivered nowhere, so it is decided and applied at once.
      assert.deepEqual(await other.begin(event('tp-1', '2024-01-15T10:30:01Z', 'two')), { status: 'duplicate', held: false, stored: null, advanced: true, stale: false });
      assert.equal(String(await store.getState('tp-1')), 'two');
      assert.equal(await store.release(claimOf(begun)), false, 'a committed claim is no longer a claim');
    });

    it('release drops the claim (only our own), so the next event is new', async () => {
      const store = await makeStore();
      const ev = event('tp-2', '2024-01-15T10:30:00Z');
      const first = await store.begin(ev);
      assert.equal(first.status, 'new');
      assert.equal(await store.release(claimOf(first)), true);
      assert.equal(await store.release(claimOf(first)), false);
      const second = await store.begin(ev);
      assert.equal(second.status, 'new');
      assert.equal(await store.getState('tp-2'), null, 'a released event leaves no state');
    });

    it('an expired claim lets another caller in; the late commit still remembers the key', async () => {
      const store = await makeStore({ claimTtlMs: 100 });
      const ev = event('tp-3', '2024-01-15T10:30:00Z', 'late');
      const first = await store.begin(ev);
      assert.equal(first.status, 'new');
      const key = store.layout.dedupKey('tp-3', 'tp-3');
      await until('the claim to lapse', async () => (await server.command(['EXISTS', key, store.layout.claimKey('tp-3')])) === 0, 5000, 10);
      const second = await store.begin(event('tp-3', '2024-01-15T10:30:00Z', 'other'));
      assert.equal(second.status, 'new', 'a lapsed claim is forgotten');
      const [late] = await store.commit([claimOf(first)]);
      assert.deepEqual(late, { ok: true, held: false, advanced: true, stale: false, entryId: null, stored: null });
      assert.equal(await server.command(['GET', key]), '1', 'the durable event is remembered');
      // The second caller's claim on the key was overwritten; its claim on the interaction is still
      // its own (release drops that), and its commit reports the claim lost.
      assert.equal(await store.release(claimOf(second)), true);
      const [again] = await store.commit([claimOf(second)]);
      assert.deepEqual(again, { ok: true, held: false, advanced: true, stale: false, entryId: null, stored: null });
      assert.equal(String(await store.getState('tp-3')), 'other', 'same instant, other bytes, later arrival wins');
    });

    it('commits a batch of 500 claims in one call', async () => {
      const store = await makeStore();
      const begun = await Promise.all(Array.from({ length: 500 }, (_, i) => store.begin(event(`batch-${i}`, '2024-01-15T10:30:00Z', `b${i}`))));
      const results = await store.commit(begun.map(claimOf));
      assert.equal(results.length, 500);
      assert.ok(results.every((r) => r.ok && r.held && r.advanced));
      assert.equal(String(await store.getState('batch-499')), 'b499');
      assert.equal((await store.observe(event('batch-7', '2024-01-15T10:30:00Z', 'b7'))).status, 'duplicate');
    });

    it('DELIVER=updates holds exactly the events that advance the state, duplicates included, and applies nothing before commit', async () => {
      const store = await makeStore({ deliver: 'updates' });
      const other = await makeStore({ deliver: 'updates' }, store.layout.prefix);
      const id = 'tu-1';
      const first = await store.begin(event(id, '2024-01-15T10:30:00Z', 'a'));
      assert.ok(first.status === 'new' && first.held);
      await store.commit([claimOf(first)]);
      // A repeat and a stale event advance nothing: decided and applied at once.
      assert.deepEqual(await store.begin(event(id, '2024-01-15T10:30:00Z', 'a')), { status: 'duplicate', held: false, stored: null, advanced: false, stale: false });
      assert.deepEqual(await store.begin(event(id, '2024-01-15T10:29:00Z', 'old')), { status: 'duplicate', held: false, stored: null, advanced: false, stale: true });
      // A newer update is a duplicate of the key, but it is delivered: held, the state untouched.
      const update = await store.begin(event(id, '2024-01-15T10:31:00Z', 'b'));
      assert.ok(update.status === 'duplicate' && update.held && update.advanced);
      assert.equal(String(await store.getState(id)), 'a', 'held: the state waits for the commit');
      assert.equal((await other.begin(event(id, '2024-01-15T10:31:00Z', 'b'))).status, 'pending', 'its copy on another replica waits');
      // Its append failed: released, the state stays, and the copy is decided afresh (and held).
      assert.equal(await store.release(claimOf(update)), true);
      assert.equal(String(await store.getState(id)), 'a');
      const retried = await other.begin(event(id, '2024-01-15T10:31:00Z', 'b'));
      assert.ok(retried.status === 'duplicate' && retried.held);
      const [done] = await other.commit([claimOf(retried)]);
      assert.deepEqual(done, { ok: true, held: true, advanced: true, stale: false, entryId: null, stored: null });
      assert.equal(String(await store.getState(id)), 'b');
    });

    it('a new key older than the state: not held under updates, and its answer carries the stored state', async () => {
      const fields: KeyField[] = ['interactionId', 'updatedTimestamp'];
      const store = await makeStore({ deliver: 'updates', keyFields: fields });
      const newer = await store.begin(event('ts-1', '2024-01-15T10:31:00Z', 'newer', fields));
      await store.commit([claimOf(newer)]);
      const older = await store.begin(event('ts-1', '2024-01-15T10:30:00Z', 'older', fields));
      assert.ok(older.status === 'new' && !older.held && older.stale);
      assert.equal(String(older.held ? '' : older.stored), 'newer');
      // The same through observe, and through a processed-mode commit.
      assert.equal(String((await store.observe(event('ts-1', '2024-01-15T10:29:00Z', 'oldest', fields))) .status), 'new');
      const obs = await store.observe(event('ts-1', '2024-01-15T10:28:00Z', 'older still', fields));
      assert.ok(obs.status === 'new' && obs.stale && String(obs.stored) === 'newer');
      const p = await makeStore({ keyFields: fields }, store.layout.prefix);
      const held = await p.begin(event('ts-1', '2024-01-15T10:27:00Z', 'very old', fields));
      const [c] = await p.commit([claimOf(held)]);
      assert.ok(c!.ok && c.stale && String(c.stored) === 'newer');
    });

    it('appends to the stream at commit: processed when new, update when a held duplicate advances', async () => {
      const store = await makeStore({ deliver: 'updates', stream: { name: 'deliveries-commit', maxLen: 100 } });
      const a = await store.begin(event('sc-1', '2024-01-15T10:30:00Z', 'a'), 'id-a');
      assert.equal(await server.command(['EXISTS', 'deliveries-commit']), 0, 'nothing appended at begin');
      const [ca] = await store.commit([claimOf(a)]);
      assert.ok(ca!.ok && ca.entryId !== null);
      const b = await store.begin(event('sc-1', '2024-01-15T10:30:01Z', 'b'), 'id-b');
      const [cb] = await store.commit([claimOf(b)]);
      assert.ok(cb!.ok && cb.entryId !== null);
      const entries = (await server.command(['XRANGE', 'deliveries-commit', '-', '+'])) as unknown as Array<[string, string[]]>;
      assert.deepEqual(entries.map(([, f]) => f), [
        ['id', 'id-a', 'status', 'processed', 'event', 'a'],
        ['id', 'id-b', 'status', 'update', 'event', 'b'],
      ]);
      await assert.rejects(store.begin(event('sc-2', '2024-01-15T10:30:00Z')), /delivery id is required/);
    });
  });

  describe('stream append (Redis Streams sink)', () => {
    type Entry = [string, Buffer[]];
    const read = async (key: string) => (await server.command(['XRANGE', key, '-', '+'])) as unknown as Array<[string, string[]]>;

    it('DELIVER=processed appends each new event once, with id, status and the exact bytes', async () => {
      const store = await makeStore({ stream: { name: 'deliveries-p', maxLen: 1000, deliver: 'processed' } });
      const first = await store.observe(event('st-1', '2024-01-15T10:30:00Z', 'one'), 'st-1@1');
      assert.ok(first.status === 'new' && first.entryId !== null);
      const dup = await store.observe(event('st-1', '2024-01-15T10:30:05Z', 'newer'), 'st-1@2');
      assert.ok(dup.status === 'duplicate' && dup.advanced && dup.entryId === null, 'a duplicate is not delivered, even when it advances');
      await store.observe(event('st-2', '2024-01-15T10:30:00Z', 'two'), 'st-2@1');
      const entries = await read('deliveries-p');
      assert.deepEqual(entries.map(([, f]) => f), [
        ['id', 'st-1@1', 'status', 'processed', 'event', 'one'],
        ['id', 'st-2@1', 'status', 'processed', 'event', 'two'],
      ]);
      assert.equal(entries[0]![0], first.entryId);
    });

    it('DELIVER=updates appends exactly the events that advanced the state', async () => {
      const store = await makeStore({ stream: { name: 'deliveries-u', maxLen: 1000, deliver: 'updates' } });
      const id = 'up-1';
      const sent: Array<[string, string]> = [
        ['2024-01-15T10:30:00Z', 'a'], // new → processed
        ['2024-01-15T10:30:00Z', 'a'], // repeat → nothing
        ['2024-01-15T10:30:02Z', 'c'], // newer → update
        ['2024-01-15T10:30:01Z', 'b'], // stale → nothing
        ['2024-01-15T10:30:02Z', 'c2'], // tie, other bytes → update
      ];
      for (const [t, body] of sent) await store.observe(event(id, t, body), `${id}@${t}`);
      assert.deepEqual((await read('deliveries-u')).map(([, f]) => `${f[3]}:${f[5]}`), ['processed:a', 'update:c', 'update:c2']);
    });

    it('trims with MAXLEN ~ and serves a consumer group', async () => {
      const store = await makeStore({ stream: { name: 'deliveries-t', maxLen: 20, deliver: 'processed' } });
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.observe(event(`tr-${i}`, '2024-01-15T10:30:00Z', Buffer.from([i & 0xff, 0xff])), `tr-${i}`)));
      const len = await server.command(['XLEN', 'deliveries-t']);
      // Approximate trimming removes whole nodes (10 entries each here): at most maxLen + one node.
      assert.ok(typeof len === 'number' && len >= 20 && len <= 30, `XLEN ${String(len)}`);
      // A consumer group reads what is left, the exact bytes included, and acknowledges it.
      const conn = store.connection;
      assert.equal(await conn.send('test', 'deliveries-t', ['XGROUP', 'CREATE', 'deliveries-t', 'g', '0']), 'OK');
      const reply = (await conn.send('test', 'deliveries-t', ['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '1000', 'STREAMS', 'deliveries-t', '>'], 'buffer')) as Array<[Buffer, Entry[]]>;
      const entries = reply[0]![1];
      assert.equal(entries.length, len);
      const last = entries.at(-1)!;
      const fields = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [String(last[1][i * 2]), last[1][i * 2 + 1]!]));
      assert.equal(String(fields.id), 'tr-199');
      assert.equal(String(fields.status), 'processed');
      assert.deepEqual(fields.event, Buffer.from([199, 0xff]));
      const acked = await conn.send('test', 'deliveries-t', ['XACK', 'deliveries-t', 'g', ...entries.map(([entryId]) => String(entryId))]);
      assert.equal(acked, entries.length);
    });

    it('a failed XADD leaves nothing behind: no remembered key, no state', async () => {
      const store = await makeStore({ stream: { name: 'not-a-stream', maxLen: 10, deliver: 'processed' } });
      await server.command(['SET', 'not-a-stream', 'a string']);
      await assert.rejects(store.observe(event('fx-1', '2024-01-15T10:30:00Z'), 'fx-1'), (err: Error) => err instanceof RedisUnavailableError && /WRONGTYPE/.test(err.message));
      assert.equal(await server.command(['EXISTS', store.layout.dedupKey('fx-1', 'fx-1'), store.layout.stateKey('fx-1')]), 0);
      await server.command(['DEL', 'not-a-stream']);
      assert.equal((await store.observe(event('fx-1', '2024-01-15T10:30:00Z'), 'fx-1')).status, 'new');
    });

    it('requires a delivery id with a stream', async () => {
      const store = await makeStore({ stream: { name: 'deliveries-x', maxLen: 10, deliver: 'processed' } });
      await assert.rejects(store.observe(event('di', '2024-01-15T10:30:00Z')), /delivery id is required/);
    });
  });

  describe('scripts', () => {
    it('reloads scripts after SCRIPT FLUSH (EVALSHA answers NOSCRIPT, EVAL runs and caches)', async () => {
      const store = await makeStore();
      await store.observe(event('sf-1', '2024-01-15T10:30:00Z'));
      await server.command(['SCRIPT', 'FLUSH']);
      const before = (await server.info('commandstats')).get('cmdstat_eval') ?? 'calls=0';
      assert.equal((await store.observe(event('sf-2', '2024-01-15T10:30:00Z'))).status, 'new');
      assert.equal((await store.observe(event('sf-2', '2024-01-15T10:30:00Z'))).status, 'duplicate');
      const after = (await server.info('commandstats')).get('cmdstat_eval') ?? '';
      const calls = (s: string) => Number(/calls=(\d+)/.exec(s)?.[1] ?? 0);
      assert.equal(calls(after) - calls(before), 1, 'one EVAL, then EVALSHA again');
    });
  });
});

describe('RedisStore when Redis goes away', { timeout: 120_000 }, () => {
  it('rejects with RedisUnavailableError within the timeout while down, and recovers after a restart', async () => {
    const server = await startRedis({ appendonly: true, appendfsync: 'always' });
    const connection = new RedisConnection({ target: resolveTarget(server.url, undefined, undefined), timeoutMs: TIMEOUT_MS });
    const store = new RedisStore({ connection, keyFields: ['interactionId'], windowMs: 60_000 });
    try {
      await store.open(5000);
      assert.equal((await store.observe(event('down-1', '2024-01-15T10:30:00Z', 'kept'))).status, 'new');
      await server.stop();
      for (const op of [
        () => store.observe(event('down-2', '2024-01-15T10:30:00Z')),
        () => store.begin(event('down-3', '2024-01-15T10:30:00Z')),
        () => store.getState('down-1'),
      ]) {
        const t0 = performance.now();
        await assert.rejects(op(), RedisUnavailableError);
        const ms = performance.now() - t0;
        // Margin for a busy machine: the bound is TIMEOUT_MS.
        assert.ok(ms <= TIMEOUT_MS + 300, `rejected after ${ms.toFixed(0)} ms, bound ${TIMEOUT_MS} ms`);
      }
      const [commit] = await store.commit([{ event: event('down-4', '2024-01-15T10:30:00Z'), token: 'x', isNew: true, deliveryId: undefined }]);
      assert.ok(commit && !commit.ok && commit.error instanceof RedisUnavailableError);
      await server.restart();
      // Back: the client reconnects by itself; the script cache is empty (NOSCRIPT → EVAL).
      await until('an observe to succeed again', () => store.observe(event('down-5', '2024-01-15T10:30:00Z')).then((r) => r.status === 'new', () => false), 10_000, 50);
      assert.equal((await store.observe(event('down-1', '2024-01-15T10:30:00Z', 'kept'))).status, 'duplicate', 'the window survived (appendonly)');
      assert.equal(String(await store.getState('down-1')), 'kept');
      assert.equal((await store.observe(event('down-2', '2024-01-15T10:30:00Z'))).status, 'new', 'nothing was recorded while down');
    } finally {
      await store.close();
      await server.dispose();
    }
  });

  it('bounds the queue: with Redis killed, a burst beyond maxQueueLength is refused at once and the rest time out', async () => {
    const server = await startRedis();
    const connection = new RedisConnection({ target: resolveTarget(server.url, undefined, undefined), timeoutMs: TIMEOUT_MS, maxQueueLength: 200 });
    const store = new RedisStore({ connection, keyFields: ['interactionId'], windowMs: 60_000 });
    try {
      await store.open(5000);
      await server.kill();
      await until('the client to notice', () => !connection.healthy, 5000, 10);
      const t0 = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          store.observe(event(`burst-${i}`, '2024-01-15T10:30:00Z')).then(
            () => 'ok' as const,
            (err: unknown) => err,
          ),
        ),
      );
      const elapsed = performance.now() - t0;
      assert.ok(outcomes.every((o) => o instanceof RedisUnavailableError), 'every call fails as unavailable');
      const causes = (outcomes as RedisUnavailableError[]).map((e) => String((e.cause as Error | undefined)?.message ?? e.message));
      const full = causes.filter((m) => /queue is full/i.test(m)).length;
      const timedOut = causes.filter((m) => /timed out|no answer within/i.test(m)).length;
      // At most 200 commands wait (the bound); the other 800 are refused without queueing.
      assert.ok(full >= 800 && full + timedOut === 1000, `queue full: ${full}, timed out: ${timedOut}, other: ${1000 - full - timedOut}`);
      // Margin for a busy machine: the bound is TIMEOUT_MS.
      assert.ok(elapsed <= TIMEOUT_MS + 500, `all settled after ${elapsed.toFixed(0)} ms`);
      await server.restart();
      await until('recovery', () => store.observe(event('burst-0', '2024-01-15T10:30:00Z')).then((r) => r.status === 'new', () => false), 10_000, 50);
    } finally {
      await store.close();
      await server.dispose();
    }
  });

  it('open() gives up within its wait when Redis is down, and the store works once Redis is up', async () => {
    const server = await startRedis();
    await server.stop();
    const connection = new RedisConnection({ target: resolveTarget(server.url, undefined, undefined), timeoutMs: TIMEOUT_MS });
    const store = new RedisStore({ connection, keyFields: ['interactionId'], windowMs: 60_000 });
    try {
      const t0 = performance.now();
      await assert.rejects(store.open(300), RedisUnavailableError);
      assert.ok(performance.now() - t0 < 1000);
      await assert.rejects(store.observe(event('late-1', '2024-01-15T10:30:00Z')), RedisUnavailableError);
      await server.restart();
      await until('the first success', () => store.observe(event('late-1', '2024-01-15T10:30:00Z')).then((r) => r.status === 'new', () => false), 10_000, 50);
    } finally {
      await store.close();
      await server.dispose();
    }
  });

  it('rejects at once after close', async () => {
    const server = await startRedis();
    const connection = new RedisConnection({ target: resolveTarget(server.url, undefined, undefined), timeoutMs: TIMEOUT_MS });
    const store = new RedisStore({ connection, keyFields: ['interactionId'], windowMs: 60_000 });
    try {
      await store.open(5000);
      await store.close();
      await assert.rejects(store.getState('x'), /closed/);
    } finally {
      await server.dispose();
    }
  });
});

describe('RedisStore credentials', { timeout: 60_000 }, () => {
  it('logs in with a password in the URL, in REDIS_PASSWORD, or as an ACL user; a wrong one is unavailable', async () => {
    const server = await startRedis({ args: ['--requirepass', 'default-pass-1234', '--user', 'app', 'on', '>app-pass-5678', '~*', '+@all'] });
    const stores: RedisStore[] = [];
    const make = (url: string, password?: string) => {
      const connection = new RedisConnection({ target: resolveTarget(url, undefined, password), timeoutMs: 2000 });
      const store = new RedisStore({ connection, keyFields: ['interactionId'], windowMs: 60_000 });
      stores.push(store);
      return store;
    };
    try {
      const viaUrl = make(`redis://:default-pass-1234@127.0.0.1:${server.port}`);
      await viaUrl.open(5000);
      assert.equal((await viaUrl.observe(event('auth-1', '2024-01-15T10:30:00Z'))).status, 'new');
      const viaSetting = make(server.url, 'default-pass-1234');
      await viaSetting.open(5000);
      assert.equal((await viaSetting.observe(event('auth-1', '2024-01-15T10:30:00Z'))).status, 'duplicate');
      const aclUser = make(`redis://app:app-pass-5678@127.0.0.1:${server.port}`);
      await aclUser.open(5000);
      assert.equal((await aclUser.observe(event('auth-1', '2024-01-15T10:30:00Z'))).status, 'duplicate');
      const wrong = make(server.url, 'not-the-password');
      await assert.rejects(wrong.open(1000), (err: Error) => err instanceof RedisUnavailableError && !err.message.includes('not-the-password'));
      await assert.rejects(wrong.observe(event('auth-2', '2024-01-15T10:30:00Z')), RedisUnavailableError);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await server.dispose();
    }
  });
});
