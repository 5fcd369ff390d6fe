/**
 * The snapshot container in-process, against real engines and the real Bloom filters: a round
 * trip restores what dedup needs, every kind of damage is refused with its own reason and leaves
 * the engine untouched, writes are atomic and never overlap.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BloomFactory } from '@cxone-dedup/bloom/factory';
import { DedupEngine, type DataActionEvent } from '../../src/dedup/engine.js';
import type { KeyField } from '../../src/dedup/key.js';
import { createLogger } from '../../src/log.js';
import { removeStaleTempFiles, writeFileAtomically } from '../../src/persist/atomic-file.js';
import { CHECKSUM_BYTES, GENERATION_META_BYTES, HEADER_BYTES } from '../../src/persist/format.js';
import { restoreSnapshot } from '../../src/persist/restore.js';
import { Snapshotter } from '../../src/persist/snapshotter.js';
import { loadFactory } from '../dedup/factories.js';

const quiet = createLogger({ level: 'silent' });
let native: BloomFactory;
let fallback: BloomFactory;
let dir: string;

before(async () => {
  native = await loadFactory('native');
  fallback = await loadFactory('fallback');
  dir = mkdtempSync(path.join(tmpdir(), 'cxone-snapfmt-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface EngineOpts {
  factory?: BloomFactory;
  capacity?: number;
  errorRate?: number;
  keyFields?: KeyField[];
  stateCacheSize?: number;
}

function engine(o: EngineOpts = {}): DedupEngine {
  return new DedupEngine({
    factory: o.factory ?? native,
    capacity: o.capacity ?? 10_000,
    errorRate: o.errorRate ?? 0.001,
    compactionIntervalSeconds: 300,
    stateCacheSize: o.stateCacheSize ?? 1000,
    // A still clock: stats() (ages included) then compare exactly before and after a refused restore.
    now: () => 1_790_000_000_000,
    ...(o.keyFields ? { keyFields: o.keyFields } : {}),
  });
}

let n = 0;
function ev(overrides: Partial<DataActionEvent> = {}): DataActionEvent {
  n++;
  return { interactionId: `i-${n}`, dataActionId: `d-${n}`, updatedTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString(), payload: { n }, ...overrides };
}

function nested(depth: number): Record<string, unknown> {
  let o: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i++) o = { d: o };
  return o;
}

let files = 0;
async function snapshotOf(e: DedupEngine): Promise<string> {
  const file = path.join(dir, `s-${++files}.snap`);
  const s = new Snapshotter({ path: file, intervalSeconds: 60, engine: e, logger: quiet });
  const r = await s.write('manual');
  assert.equal(r.status, 'written', JSON.stringify(r));
  return file;
}

/** Recomputes the SHA-256 trailer, so a deliberately altered file passes the checksum. */
function reseal(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  createHash('sha256').update(out.subarray(0, out.length - CHECKSUM_BYTES)).digest().copy(out, out.length - CHECKSUM_BYTES);
  return out;
}

/** Offset of the first interaction record (after header, key fields and both generations). */
function recordsOffset(buf: Buffer): number {
  let at = HEADER_BYTES + buf.readUInt16LE(60);
  for (let g = 0; g < 2; g++) at += GENERATION_META_BYTES + Number(buf.readBigUInt64LE(at + 24)) + Number(buf.readBigUInt64LE(at + 32));
  return at;
}

describe('snapshot round trip', () => {
  it('restores states, generations with their fingerprint tables and their ages: the same events are duplicates afterwards', async () => {
    const a = engine();
    const events = [
      ev(),
      ev({ interactionId: 'unicode-é漢字🎉', payload: { text: 'ünïcødé ✓', emoji: '🎉' } }),
      ev({ interactionId: '__proto__', payload: JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}') }),
      ev({ payload: nested(32) }),
      ev({ payload: { big: 'x'.repeat(200_000) } }),
    ];
    for (const e of events) assert.equal(a.process(e).status, 'processed');
    a.compact('manual'); // keys now in the previous generation: both must survive
    const late = ev();
    a.process(late);
    const file = await snapshotOf(a);

    const b = engine();
    const r = await restoreSnapshot(file, b);
    assert.equal(r.status, 'restored', JSON.stringify(r));
    assert.equal(r.status === 'restored' && r.interactions, events.length + 1);
    const sa = a.stats().filter;
    const sb = b.stats().filter;
    assert.deepEqual(
      [sb.activeInsertions, sb.active.fillRatio, sb.active.ageSeconds, sb.previous.fillRatio, sb.previous.ageSeconds],
      [sa.activeInsertions, sa.active.fillRatio, sa.active.ageSeconds, sa.previous.fillRatio, sa.previous.ageSeconds],
    );
    assert.deepEqual([sb.active.tableLength, sb.previous.tableLength, sb.active.exact, sb.previous.exact], [1, events.length, true, true]);
    for (const e of [...events, late]) {
      assert.deepEqual(b.getState(e.interactionId), e);
      assert.equal(b.process(e).status, 'deduplicated', e.interactionId);
    }
    assert.equal(b.process(ev()).status, 'processed');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    assert.equal(Object.getPrototypeOf(b.getState('__proto__')!.payload), Object.prototype);
  });

  it('multi-field keys survive a restart', async () => {
    const keyFields: KeyField[] = ['interactionId', 'updatedTimestamp'];
    const a = engine({ keyFields });
    const first = ev();
    const second = { ...first, updatedTimestamp: '2027-01-01T00:00:00Z' };
    a.process(first);
    a.process(second);
    const b = engine({ keyFields });
    assert.equal((await restoreSnapshot(await snapshotOf(a), b)).status, 'restored');
    assert.equal(b.process(first).status, 'deduplicated');
    assert.equal(b.process(second).status, 'deduplicated');
    assert.equal(b.process({ ...first, updatedTimestamp: '2028-01-01T00:00:00Z' }).status, 'processed');
  });

  it('a format-1 snapshot (written by the previous release, before fingerprint tables) still restores', async () => {
    // test/vectors/snapshot-v1.snap: capacity 1000, p 0.01, a 3-state cache. Events: the first two
    // before a compaction, then three; the cache had evicted 'v1-evicted-from-cache'.
    const file = path.join(dir, 'format-1.snap');
    writeFileSync(file, readFileSync(new URL('../vectors/snapshot-v1.snap', import.meta.url)));
    for (const [factory, policy, evictedStatus] of [
      [native, 'duplicate', 'deduplicated'],
      [fallback, 'new', 'processed'],
    ] as const) {
      const b = new DedupEngine({ factory, capacity: 1000, errorRate: 0.01, compactionIntervalSeconds: 300, stateCacheSize: 10, unconfirmedPolicy: policy, now: () => 1_790_000_000_000 });
      const r = await restoreSnapshot(file, b);
      assert.equal(r.status, 'restored', JSON.stringify(r));
      assert.equal(r.status === 'restored' && r.interactions, 3);
      assert.equal(b.getState('v1-active-a')?.updatedTimestamp, '2026-01-01T00:00:04Z');
      assert.deepEqual(b.getState('v1-active-b')?.payload, { n: 4, note: 'v1' });
      // Keys the old cache knew within the window: exact duplicates.
      for (const id of ['v1-active-a', 'v1-active-b', 'v1-cached-previous-generation']) {
        const d = b.process({ interactionId: id, dataActionId: 'x', updatedTimestamp: '2026-02-01T00:00:00Z', payload: {} });
        assert.deepEqual([d.status, d.unconfirmed], ['deduplicated', false], id);
      }
      // Only the old Bloom filter knows this one: unconfirmed, the policy decides.
      const u = b.process({ interactionId: 'v1-evicted-from-cache', dataActionId: 'x', updatedTimestamp: '2026-02-01T00:00:00Z', payload: {} });
      assert.deepEqual([u.status, u.unconfirmed], [evictedStatus, true]);
      assert.equal(b.stats().filter.previous.exact, false);
      // Once written again, it is format 2.
      const again = await snapshotOf(b);
      assert.equal(readFileSync(again).readUInt16LE(8), 2);
    }
  });

  it('a native snapshot restores into the fallback filter and back (same bits)', async () => {
    const a = engine({ factory: native });
    const e = ev();
    a.process(e);
    const b = engine({ factory: fallback });
    assert.equal((await restoreSnapshot(await snapshotOf(a), b)).status, 'restored');
    assert.equal(b.process(e).status, 'deduplicated');
    const c = engine({ factory: native });
    assert.equal((await restoreSnapshot(await snapshotOf(b), c)).status, 'restored');
    assert.equal(c.process(e).status, 'deduplicated');
  });

  it('a missing file is reported as such', async () => {
    assert.deepEqual(await restoreSnapshot(path.join(dir, 'nope.snap'), engine()), { status: 'missing' });
  });

  it('the file is private (0600) and nothing temporary is left behind', async () => {
    const a = engine();
    a.process(ev());
    const file = await snapshotOf(a);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });
});

describe('damaged and foreign snapshots', () => {
  let good: Buffer;
  let goodFile: string;
  const known: DataActionEvent[] = [];

  before(async () => {
    const a = engine();
    for (let i = 0; i < 20; i++) {
      const e = ev({ payload: { i, text: `payload ${i}` } });
      known.push(e);
      a.process(e);
    }
    goodFile = await snapshotOf(a);
    good = readFileSync(goodFile);
  });

  async function expectRejected(buf: Buffer, code: string, message: RegExp, target = engine()): Promise<void> {
    const file = path.join(dir, `bad-${++files}.snap`);
    writeFileSync(file, buf);
    const existing = ev();
    target.process(existing);
    const before = JSON.stringify(target.stats());
    const r = await restoreSnapshot(file, target);
    assert.equal(r.status, 'rejected', `${code}: ${JSON.stringify(r)}`);
    assert.equal(r.status === 'rejected' && r.code, code, r.status === 'rejected' ? r.reason : '');
    assert.match(r.status === 'rejected' ? r.reason : '', message);
    // Nothing changed: the engine still has exactly what it had.
    assert.equal(JSON.stringify(target.stats()), before);
    assert.deepEqual(target.getState(existing.interactionId), existing);
    assert.equal(target.getState(known[0]!.interactionId), undefined);
  }

  it('flipped bits anywhere → checksum mismatch', async () => {
    for (const at of [HEADER_BYTES + 30, Math.floor(good.length / 2), recordsOffset(good) + 10, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x10;
      await expectRejected(bad, 'checksum', /checksum mismatch/);
    }
  });

  it('truncation at any point → truncated or checksum mismatch', async () => {
    await expectRejected(Buffer.alloc(0), 'truncated', /truncated/);
    await expectRejected(good.subarray(0, 5), 'truncated', /truncated/);
    await expectRejected(good.subarray(0, 70), 'truncated', /truncated/);
    for (const len of [HEADER_BYTES + CHECKSUM_BYTES + 10, Math.floor(good.length / 2), good.length - 1]) {
      await expectRejected(good.subarray(0, len), 'checksum', /checksum mismatch/);
    }
  });

  it('foreign files → not a snapshot', async () => {
    await expectRejected(Buffer.from('{"interactions": []}'.repeat(10)), 'foreign', /not a cxone-dedup snapshot/);
    await expectRejected(Buffer.from(engine().exportState().generations.active.bloom), 'foreign', /not a cxone-dedup snapshot/);
    let seed = 7;
    const random = Buffer.alloc(4096, 0).map(() => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff);
    await expectRejected(Buffer.from(random), 'foreign', /not a cxone-dedup snapshot/);
  });

  it('another format version → refused by version, even with a valid checksum', async () => {
    const bad = Buffer.from(good);
    bad.writeUInt16LE(3, 8);
    await expectRejected(reseal(bad), 'version', /format version 3 is not supported/);
  });

  it('other filter parameters or key fields → incompatible, naming both sides', async () => {
    await expectRejected(good, 'incompatible', /capacity 10000.*this daemon uses capacity 20000/, engine({ capacity: 20_000 }));
    await expectRejected(good, 'incompatible', /error rate 0\.001.*error rate 0\.01/, engine({ errorRate: 0.01 }));
    await expectRejected(good, 'incompatible', /key fields interactionId;.*key fields interactionId,dataActionId/, engine({ keyFields: ['interactionId', 'dataActionId'] }));
  });

  it('structural lies inside a valid checksum → corrupt', async () => {
    const start = recordsOffset(good);
    // Count larger than the records present.
    let bad = Buffer.from(good);
    bad.writeUInt32LE(21, 56);
    await expectRejected(reseal(bad), 'corrupt', /runs past the end|exceeds/);
    // Count smaller: bytes left over.
    bad = Buffer.from(good);
    bad.writeUInt32LE(19, 56);
    await expectRejected(reseal(bad), 'corrupt', /unexpected bytes/);
    // An absurd record length.
    bad = Buffer.from(good);
    bad.writeUInt32LE(0xffffffff, start);
    await expectRejected(reseal(bad), 'corrupt', /larger than/);
    // A generation length that does not fit the filter.
    bad = Buffer.from(good);
    bad.writeBigUInt64LE(12n, HEADER_BYTES + bad.readUInt16LE(60) + 24);
    await expectRejected(reseal(bad), 'corrupt', /wrong length/);
    // A table length past the end of the file.
    bad = Buffer.from(good);
    bad.writeBigUInt64LE(BigInt(good.length), HEADER_BYTES + bad.readUInt16LE(60) + 32);
    await expectRejected(reseal(bad), 'corrupt', /fingerprint table runs past the end/);
    // Unknown generation flags.
    bad = Buffer.from(good);
    bad.writeUInt32LE(6, HEADER_BYTES + bad.readUInt16LE(60) + 16);
    await expectRejected(reseal(bad), 'corrupt', /unknown flags/);
    // A record that is not JSON.
    bad = Buffer.from(good);
    bad[start + 4] = 0x40;
    await expectRejected(reseal(bad), 'corrupt', /not valid JSON/);
  });

  function withRecord(json: string): Buffer {
    // The good file with its records replaced by one record.
    const head = Buffer.from(good.subarray(0, recordsOffset(good)));
    head.writeUInt32LE(1, 56);
    const body = Buffer.from(json, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length);
    return reseal(Buffer.concat([head, len, body, Buffer.alloc(CHECKSUM_BYTES)]));
  }

  it('records nesting deeper than payloads may → corrupt, before JSON.parse', async () => {
    const state = { interactionId: 'x', dataActionId: 'd', updatedTimestamp: '2026-01-01T00:00:00Z' };
    const ok = withRecord(JSON.stringify({ ...state, payload: nested(32) }));
    const file = path.join(dir, 'nested-ok.snap');
    writeFileSync(file, ok);
    assert.equal((await restoreSnapshot(file, engine())).status, 'restored');
    await expectRejected(withRecord(JSON.stringify({ ...state, payload: nested(33) })), 'corrupt', /nests too deep/);
    await expectRejected(withRecord(`{"payload":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), 'corrupt', /nests too deep/);
  });

  it('states the engine would not accept → invalid_state, nothing imported', async () => {
    const state = { interactionId: 'x', dataActionId: 'd', updatedTimestamp: '2026-01-01T00:00:00Z', payload: {} };
    await expectRejected(withRecord(JSON.stringify({ ...state, updatedTimestamp: 'yesterday' })), 'invalid_state', /updatedTimestamp/);
    await expectRejected(withRecord(JSON.stringify({ ...state, payload: [] })), 'invalid_state', /payload/);
    await expectRejected(withRecord(JSON.stringify({ ...state, interactionId: 5 })), 'invalid_state', /interactionId/);
    await expectRejected(withRecord(JSON.stringify({ state, seen: [] })), 'invalid_state', /interactionId/);
    await expectRejected(withRecord('[1,2,3]'), 'corrupt', /not an object/);
  });

  it('a directory in place of the file → unreadable', async () => {
    const r = await restoreSnapshot(dir, engine());
    assert.equal(r.status, 'rejected');
    assert.equal(r.status === 'rejected' && r.code, 'unreadable');
  });
});

describe('atomic writes', () => {
  it('an aborted write removes its temporary file and leaves the previous snapshot intact', async () => {
    const file = path.join(dir, 'atomic.snap');
    writeFileSync(file, 'previous');
    const controller = new AbortController();
    let temp = '';
    async function* chunks() {
      yield Buffer.from('new content, part 1');
      controller.abort(new Error('stop'));
      yield Buffer.from('part 2');
    }
    await assert.rejects(writeFileAtomically(file, chunks(), { signal: controller.signal, onTempFile: (t) => (temp = t) }), /stop/);
    assert.ok(temp.includes('.tmp-'));
    assert.equal(readFileSync(file, 'utf8'), 'previous');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('atomic.snap.tmp-')), []);
  });

  it('a failing source leaves the previous snapshot intact', async () => {
    const file = path.join(dir, 'atomic2.snap');
    writeFileSync(file, 'previous');
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('x');
      throw new Error('serialisation failed');
    }
    await assert.rejects(writeFileAtomically(file, chunks()), /serialisation failed/);
    assert.equal(readFileSync(file, 'utf8'), 'previous');
  });

  it('stale temporary files of dead writers are removed, a live writer’s are kept', async () => {
    const file = path.join(dir, 'stale.snap');
    const dead = `stale.snap.tmp-999999999-1`;
    const live = `stale.snap.tmp-${process.ppid}-1`;
    writeFileSync(path.join(dir, dead), 'x');
    writeFileSync(path.join(dir, live), 'x');
    assert.deepEqual(await removeStaleTempFiles(file), [dead]);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('stale.snap.tmp-')), [live]);
  });

  it('never two snapshots at once; an unchanged engine is not rewritten', async () => {
    const e = engine();
    e.process(ev());
    const s = new Snapshotter({ path: path.join(dir, 'once.snap'), intervalSeconds: 60, engine: e, logger: quiet });
    const [first, second] = await Promise.all([s.write('interval'), s.write('interval')]);
    assert.equal(first.status, 'written');
    assert.equal(second.status, 'busy');
    assert.equal((await s.write('interval')).status, 'unchanged');
    e.process(ev());
    assert.equal((await s.write('interval')).status, 'written');
    const st = s.status();
    assert.equal(st.written, 2);
    assert.equal(st.unchanged, 1);
    assert.equal(st.inProgress, false);
    assert.equal(st.last?.interactions, 2);
    assert.ok(Number.isFinite(st.last?.maxEventLoopDelayMs) && Number.isFinite(st.last?.captureMs));
  });

  it('a snapshot that cannot be written is reported, not thrown', async () => {
    const e = engine();
    e.process(ev());
    const s = new Snapshotter({ path: path.join(dir, 'missing-dir', 'x.snap'), intervalSeconds: 60, engine: e, logger: quiet });
    const r = await s.write('interval');
    assert.equal(r.status, 'failed');
    assert.match(s.status().lastError?.message ?? '', /ENOENT/);
    assert.equal(s.status().failed, 1);
  });
});
