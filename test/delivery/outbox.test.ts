/** The outbox (src/delivery/outbox.ts) on real files: appends, cursors, segments, limits, life cycle. */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { cp, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OutboxRejectedError, OutboxLockedError } from '../../src/delivery/errors.js';
import { Outbox, type OutboxOptions } from '../../src/delivery/outbox.js';
import { until } from '../helpers/wait.js';
import { bodyIntact, captureLogger, drain, makeRecord, segmentBytesOnDisk, segmentFiles, take, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('cxone-outbox-');
});
after(() => tmp.cleanup());

type Opts = Partial<OutboxOptions> & { dir: string };
const opened: Outbox[] = [];
async function openOutbox(o: Opts): Promise<Outbox & { lines: ReturnType<typeof captureLogger>['lines'] }> {
  const { logger, lines } = captureLogger();
  const outbox = await Outbox.open({ sinks: ['a'], maxBytes: 64 * 1024 * 1024, logger, ...o });
  opened.push(outbox);
  return Object.assign(outbox, { lines });
}
after(async () => {
  for (const o of opened) await o.close();
});

const appendAll = (outbox: Outbox, ids: string[], size = 200) => Promise.all(ids.map((id) => outbox.append(makeRecord(id, size))));
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('outbox: appending and reading', () => {
  it('round trip: every field comes back as appended, in acceptance order, with increasing seqs', async () => {
    const dir = tmp.fresh();
    const outbox = await openOutbox({ dir });
    const records = [
      makeRecord('r-1', 0, { status: 'processed', interactionId: 'ïnteraction-ü', acceptedAtMs: 1_700_000_000_123 }),
      makeRecord('r-2', 5000, { status: 'update' }),
      makeRecord('ключ-3', 1),
    ];
    const seqs: number[] = [];
    for (const r of records) seqs.push(await outbox.append(r));
    assert.deepEqual(seqs, [1, 2, 3]);
    const got = await take(outbox, 'a', 3);
    assert.deepEqual(
      got.map((r) => ({ ...r, body: r.body.toString('base64') })),
      records.map((r, i) => ({ ...r, seq: seqs[i], body: r.body.toString('base64') })),
    );
    // The same after a restart, now read back from disk.
    await outbox.close();
    const again = await openOutbox({ dir });
    const fromDisk = await take(again, 'a', 3);
    assert.deepEqual(
      fromDisk.map((r) => ({ ...r, body: r.body.toString('base64') })),
      records.map((r, i) => ({ ...r, seq: seqs[i], body: r.body.toString('base64') })),
    );
  });

  it('concurrent appends get distinct seqs in call order; next() hands them in seq order, max at a time', async () => {
    const outbox = await openOutbox({ dir: tmp.fresh() });
    const names = ids('c', 500);
    const seqs = await appendAll(outbox, names);
    assert.deepEqual(seqs, names.map((_, i) => i + 1));
    const batch = await outbox.next('a', 7);
    assert.deepEqual(batch.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7]);
    const rest = await take(outbox, 'a', 493);
    assert.deepEqual([...batch, ...rest].map((r) => r.id), names);
    assert.equal(outbox.stats().sinks.a!.queuedRecords, 500, 'handed but not acked: still queued');
    assert.equal(outbox.stats().sinks.a!.inFlight, 500);
  });

  it('next() waits for the next commit, and resolves [] on abort and on close', async () => {
    const outbox = await openOutbox({ dir: tmp.fresh() });
    const waiting = outbox.next('a', 10);
    await outbox.append(makeRecord('late'));
    assert.deepEqual((await waiting).map((r) => r.id), ['late']);

    const ac = new AbortController();
    const aborted = outbox.next('a', 10, ac.signal);
    ac.abort();
    assert.deepEqual(await aborted, []);

    const pending = outbox.next('a', 10);
    await outbox.close();
    assert.deepEqual(await pending, []);
    assert.deepEqual(await outbox.next('a', 10), []);
  });

  it('group commit: concurrent appends share writes and syncs (counted, not timed)', async () => {
    const outbox = await openOutbox({ dir: tmp.fresh(), commitDelayMs: 5 });
    await appendAll(outbox, ids('g', 3000));
    const s = outbox.stats();
    assert.equal(s.appends, 3000);
    assert.ok(s.commits <= 5, `3000 appends issued together took ${s.commits} commits`);
    assert.ok(s.batchRecords.max >= 1000, `largest batch ${s.batchRecords.max}`);
    // Sequential appends cannot share: one commit each.
    for (const id of ids('seq', 5)) await outbox.append(makeRecord(id));
    assert.equal(outbox.stats().commits, s.commits + 5);
    // No delay at all still gathers what one turn of the event loop appends.
    const immediate = await openOutbox({ dir: tmp.fresh(), commitDelayMs: 0 });
    await appendAll(immediate, ids('z', 500));
    assert.equal(immediate.stats().commits, 1);
  });

  it('group commit: a large batch is written without waiting for the commit delay', async (t) => {
    const outbox = await openOutbox({ dir: tmp.fresh(), commitDelayMs: 100 });
    t.mock.timers.enable({ apis: ['setTimeout'] });
    // 1024 records reach the flush threshold: written although no timer can fire.
    await appendAll(outbox, ids('big', 1024));
    assert.equal(outbox.stats().commits, 1);
    // One record waits for the commit delay...
    const one = outbox.append(makeRecord('lonely'));
    await stat(outbox.dir); // a round trip through the thread pool: a write would have been issued by now
    assert.equal(outbox.stats().pending, 1);
    assert.equal(outbox.stats().commits, 1);
    // ...and is written when it ends.
    t.mock.timers.tick(100);
    assert.equal(await one, 1025);
    t.mock.timers.reset();
  });

  it('rejects malformed records with TypeError and unknown sinks with RangeError, changing nothing', async () => {
    const outbox = await openOutbox({ dir: tmp.fresh() });
    const bad = [
      { ...makeRecord('x'), id: '' },
      { ...makeRecord('x'), interactionId: 7 },
      { ...makeRecord('x'), status: 'deduplicated' },
      { ...makeRecord('x'), acceptedAtMs: Number.NaN },
      { ...makeRecord('x'), body: 'not a buffer' },
    ];
    for (const r of bad) await assert.rejects(outbox.append(r as never), TypeError);
    assert.throws(() => outbox.next('nope', 1), RangeError);
    assert.throws(() => outbox.ack('nope', 1), RangeError);
    assert.throws(() => outbox.next('a', 0), RangeError);
    assert.throws(() => outbox.ack('a', 1), RangeError, 'never handed');
    assert.equal(outbox.stats().nextSeq, 1);
    assert.equal(outbox.stats().appends, 0);
  });
});

describe('outbox: cursors', () => {
  it('out-of-order acks keep a low-water mark; after a restart the sink resumes just above its persisted mark', async () => {
    const dir = tmp.fresh();
    const first = await openOutbox({ dir, cursorSyncMs: 60_000 });
    await appendAll(first, ids('o', 10));
    const got = await take(first, 'a', 10);
    for (const seq of [2, 1, 4, 5, 7, 8, 9, 10]) first.ack('a', seq); // 3 and 6 still out
    assert.equal(first.stats().sinks.a!.ackedSeq, 2);
    assert.equal(first.stats().sinks.a!.queuedRecords, 2);
    first.ack('a', 3);
    assert.equal(first.stats().sinks.a!.ackedSeq, 5);
    first.ack('a', 3); // a repeated ack changes nothing
    assert.equal(first.stats().sinks.a!.ackedSeq, 5);
    assert.equal(got.length, 10);
    await first.close();

    const second = await openOutbox({ dir });
    assert.equal(second.stats().sinks.a!.persistedSeq, 5);
    // At least once: 6 was never acked, 7–10 were acked above the mark and come again; 1–5 never.
    assert.deepEqual((await take(second, 'a', 5)).map((r) => r.seq), [6, 7, 8, 9, 10]);
    assert.equal(second.stats().sinks.a!.queuedRecords, 5);
  });

  it('a crash loses at most the acks since the last cursor write (they are handed again)', async () => {
    const dir = tmp.fresh();
    const first = await openOutbox({ dir, cursorSyncMs: 60_000 });
    await appendAll(first, ids('k', 6));
    for (const r of await take(first, 'a', 3)) first.ack('a', r.seq);
    await first.flushCursors();
    assert.equal(first.stats().sinks.a!.persistedSeq, 3);
    for (const r of await take(first, 'a', 3)) first.ack('a', r.seq);
    assert.equal(first.stats().sinks.a!.ackedSeq, 6);
    assert.equal(first.stats().sinks.a!.persistedSeq, 3, 'not written per ack');
    // What a kill -9 leaves: the cursor file as last written. Simulated by copying the directory.
    const copy = `${dir}-copy`;
    await cp(dir, copy, { recursive: true });
    rmSync(path.join(copy, 'outbox.lock'));
    const after = await openOutbox({ dir: copy });
    assert.deepEqual((await take(after, 'a', 3)).map((r) => r.id), ['k-3', 'k-4', 'k-5']);
  });

  it('acks are written without being asked, within cursorSyncMs', async () => {
    const outbox = await openOutbox({ dir: tmp.fresh(), cursorSyncMs: 20 });
    await appendAll(outbox, ids('w', 3));
    for (const r of await take(outbox, 'a', 3)) outbox.ack('a', r.seq);
    await until('cursor persisted', () => outbox.stats().sinks.a!.persistedSeq === 3);
    const file = JSON.parse(readFileSync(path.join(outbox.dir, 'cursors.json'), 'utf8')) as { sinks: Record<string, number> };
    assert.equal(file.sinks.a, 3);
  });

  it('two sinks have independent cursors, across restarts', async () => {
    const dir = tmp.fresh();
    const first = await openOutbox({ dir, sinks: ['http', 'stream'] });
    await appendAll(first, ids('t', 20));
    for (const r of await take(first, 'http', 20)) first.ack('http', r.seq);
    for (const r of await take(first, 'stream', 5)) first.ack('stream', r.seq);
    await first.close();

    const second = await openOutbox({ dir, sinks: ['http', 'stream'] });
    const s = second.stats();
    assert.equal(s.sinks.http!.queuedRecords, 0);
    assert.equal(s.sinks.stream!.queuedRecords, 15);
    assert.ok(s.sinks.stream!.queuedBytes > 15 * 200);
    assert.equal(s.sinks.http!.queuedBytes, 0);
    assert.deepEqual((await take(second, 'stream', 15)).map((r) => r.id), ids('t', 20).slice(5));
    await second.append(makeRecord('both'));
    assert.deepEqual((await take(second, 'http', 1)).map((r) => r.id), ['both']);
    assert.deepEqual((await take(second, 'stream', 1)).map((r) => r.id), ['both']);
  });

  it('a sink added later starts after the records already there; a sink removed stops holding segments back', async () => {
    const dir = tmp.fresh();
    const first = await openOutbox({ dir, sinks: ['a', 'old'], segmentBytes: 4096, maxBytes: 1024 * 1024 });
    await appendAll(first, ids('n', 50), 500);
    for (const r of await take(first, 'a', 50)) first.ack('a', r.seq);
    await first.close();
    const second = await openOutbox({ dir, sinks: ['a', 'new'], segmentBytes: 4096, maxBytes: 1024 * 1024 });
    assert.ok(second.lines.some((l) => /no longer configured/.test(l.msg) && JSON.stringify(l.sinks) === '["old"]'));
    assert.equal(second.stats().sinks.new!.queuedRecords, 0);
    assert.equal(second.stats().segments, 1, 'the segments only "old" still needed were deleted');
    await second.append(makeRecord('fresh'));
    assert.deepEqual((await take(second, 'new', 1)).map((r) => r.seq), [51]);
  });

  it('seqs keep increasing across restarts, even when every segment was deleted', async () => {
    const dir = tmp.fresh();
    const first = await openOutbox({ dir, segmentBytes: 4096, maxBytes: 1024 * 1024 });
    await appendAll(first, ids('m', 40), 400);
    for (const r of await drain(first, 'a')) assert.ok(r.seq <= 40);
    await first.close();
    const second = await openOutbox({ dir, segmentBytes: 4096, maxBytes: 1024 * 1024 });
    assert.equal(await second.append(makeRecord('m-40')), 41);
    await drain(second, 'a');
    await second.close();
    // Even an operator deleting the segments does not reuse seqs: the cursor file keeps the floor.
    for (const f of segmentFiles(dir)) rmSync(path.join(dir, f));
    const third = await openOutbox({ dir, segmentBytes: 4096, maxBytes: 1024 * 1024 });
    assert.equal(await third.append(makeRecord('m-41')), 42);
  });
});

describe('outbox: disk space', () => {
  it('finished segments are deleted, so disk use stays bounded while far more than maxBytes passes through', async () => {
    const maxBytes = 256 * 1024;
    const outbox = await openOutbox({ dir: tmp.fresh(), maxBytes, segmentBytes: 16 * 1024, cursorSyncMs: 0, sinks: ['a', 'b'] });
    let total = 0;
    for (let round = 0; round < 40; round++) {
      await appendAll(outbox, ids(`d${round}`, 50), 1000);
      total += 50 * 1000;
      for (const sink of ['a', 'b']) await drain(outbox, sink);
      const onDisk = segmentBytesOnDisk(outbox.dir);
      assert.ok(onDisk <= maxBytes, `round ${round}: ${onDisk} bytes of segments on disk`);
    }
    assert.ok(total > 7 * maxBytes);
    await outbox.flushCursors();
    const s = outbox.stats();
    assert.ok(s.segmentsDeleted > 10, `${s.segmentsDeleted} segments deleted`);
    assert.ok(s.segments <= 2, `${s.segments} segments left`);
    assert.equal(s.segments, segmentFiles(outbox.dir).length);
    assert.equal(s.bytesOnDisk, segmentBytesOnDisk(outbox.dir));
  });

  it('full: a typed rejection that leaves nothing behind, /readyz-style flag, and appends again once the sink catches up', async () => {
    const maxBytes = 64 * 1024;
    const outbox = await openOutbox({ dir: tmp.fresh(), maxBytes, segmentBytes: 4096, cursorSyncMs: 60_000 });
    const accepted: string[] = [];
    let refused: OutboxRejectedError | undefined;
    for (let i = 0; refused === undefined; i++) {
      try {
        await outbox.append(makeRecord(`f-${i}`, 1000));
        accepted.push(`f-${i}`);
      } catch (err) {
        assert.ok(err instanceof OutboxRejectedError, String(err));
        refused = err;
      }
    }
    assert.equal(refused.reason, 'full');
    assert.match(refused.message, /OUTBOX_MAX_BYTES/);
    const s = outbox.stats();
    assert.equal(s.full, true);
    assert.equal(s.rejected.full, 1);
    assert.ok(s.bytesOnDisk <= maxBytes);
    assert.ok(accepted.length > 40);
    const refusedId = `f-${accepted.length}`;
    // The sink catches up; the next refusal writes the cursors at once, which frees whole segments.
    for (const r of await take(outbox, 'a', accepted.length)) outbox.ack('a', r.seq);
    await assert.rejects(outbox.append(makeRecord('while-full', 1000)), { reason: 'full' });
    await until('space freed', () => !outbox.stats().full);
    assert.equal(await outbox.append(makeRecord('after', 1000)), accepted.length + 1, 'no seq was spent on refused records');
    for (const f of segmentFiles(outbox.dir)) {
      const bytes = readFileSync(path.join(outbox.dir, f));
      assert.equal(bytes.includes(Buffer.from(`"${refusedId}"`)), false, `refused ${refusedId} is not in ${f}`);
      assert.equal(bytes.includes(Buffer.from('"while-full"')), false);
    }
  });

  it('a record that can never fit is rejected as too_large', async () => {
    const outbox = await openOutbox({ dir: tmp.fresh(), maxBytes: 64 * 1024, segmentBytes: 4096 });
    await assert.rejects(outbox.append(makeRecord('huge', 70_000)), (err: unknown) => err instanceof OutboxRejectedError && err.reason === 'too_large');
    assert.equal(outbox.stats().rejected.too_large, 1);
    assert.equal(await outbox.append(makeRecord('fine', 100)), 1);
  });

  it('memory stays bounded: records beyond the in-memory tail are read back from disk, intact', async () => {
    const memoryBytes = 32 * 1024;
    const outbox = await openOutbox({ dir: tmp.fresh(), memoryBytes, segmentBytes: 256 * 1024 });
    const names = ids('mem', 2000);
    for (let i = 0; i < names.length; i += 250) await appendAll(outbox, names.slice(i, i + 250), 1000);
    const s = outbox.stats();
    assert.ok(s.memory.bytes <= memoryBytes, `${s.memory.bytes} bytes held`);
    assert.ok(s.bytesOnDisk > 2_000_000);
    assert.ok(s.segments >= 8);
    const got = await take(outbox, 'a', 2000);
    assert.deepEqual(got.map((r) => r.id), names);
    assert.ok(got.every((r) => bodyIntact(r.id, r.body)));
    assert.equal(got[1999]!.seq, 2000);
  });
});

describe('outbox: life cycle', () => {
  it('stats: queue, lag and commit figures', async () => {
    let now = 1_000_000;
    const outbox = await openOutbox({ dir: tmp.fresh(), now: () => now });
    await outbox.append(makeRecord('s-1', 100, { acceptedAtMs: 999_000 }));
    await outbox.append(makeRecord('s-2', 100, { acceptedAtMs: 999_500 }));
    let s = outbox.stats();
    assert.equal(s.sinks.a!.queuedRecords, 2);
    assert.equal(s.sinks.a!.oldestUnackedAgeMs, 1000);
    assert.equal(s.commits, 2);
    assert.ok(s.commitLatencyMs.max >= s.commitLatencyMs.last && s.commitLatencyMs.last > 0);
    const [first] = await take(outbox, 'a', 2);
    now += 500;
    assert.equal(outbox.stats().sinks.a!.oldestUnackedAgeMs, 1500, 'handed but unacked still counts');
    outbox.ack('a', first!.seq);
    s = outbox.stats();
    assert.equal(s.sinks.a!.oldestUnackedAgeMs, 1000);
    assert.equal(s.sinks.a!.queuedRecords, 1);
    outbox.ack('a', 2);
    s = outbox.stats();
    assert.equal(s.sinks.a!.oldestUnackedAgeMs, 0);
    assert.deepEqual([s.sinks.a!.queuedRecords, s.sinks.a!.queuedBytes, s.full], [0, 0, false]);
  });

  it('close flushes pending appends, is idempotent, and later appends are rejected as closed', async () => {
    const dir = tmp.fresh();
    const outbox = await openOutbox({ dir, commitDelayMs: 50 });
    const pending = appendAll(outbox, ids('p', 10));
    const closing = outbox.close();
    assert.equal(outbox.close(), closing);
    await closing;
    assert.deepEqual(await pending, ids('p', 10).map((_, i) => i + 1));
    await assert.rejects(outbox.append(makeRecord('late')), { name: 'OutboxRejectedError', reason: 'closed' });
    const again = await openOutbox({ dir });
    assert.equal((await take(again, 'a', 10)).length, 10);
  });

  it('a second outbox on the same directory is refused, in this process and from another one', async () => {
    const dir = tmp.fresh();
    const outbox = await openOutbox({ dir });
    await assert.rejects(Outbox.open({ dir, sinks: ['a'], maxBytes: 1 << 20, logger: captureLogger().logger }), OutboxLockedError);
    await outbox.close();
    const reopened = await openOutbox({ dir });
    await reopened.close();
    assert.equal(statSync(dir).isDirectory(), true);
  });

  it('rejects bad options', async () => {
    const { logger } = captureLogger();
    const dir = tmp.fresh();
    const bad: Array<Partial<OutboxOptions>> = [
      { sinks: [] },
      { sinks: ['a', 'a'] },
      { sinks: ['no spaces'] },
      { maxBytes: 100 },
      { maxBytes: 1 << 20, segmentBytes: 1 << 19 },
      { commitDelayMs: -1 },
      { memoryBytes: -5 },
    ];
    for (const o of bad) await assert.rejects(Outbox.open({ dir, sinks: ['a'], maxBytes: 1 << 20, logger, ...o }), TypeError, JSON.stringify(o));
  });
});
