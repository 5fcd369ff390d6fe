/** The snapshot lock (src/persist/lock.ts): one daemon per snapshot file, stale locks taken over. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LockHeldError, lockPathFor, SnapshotLock, STALE_MS, type LockOwner } from '../../src/persist/lock.js';

let dir: string;
let n = 0;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cxone-lock-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
const fresh = () => path.join(dir, `s-${++n}.snap`);
const owner = (p: string): LockOwner => JSON.parse(readFileSync(lockPathFor(p), 'utf8')) as LockOwner;

/** The pid of a process that has exited (and, on a quiet test machine, not been reused). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('snapshot lock', () => {
  it('is created for its holder and refuses a second live daemon on the same host', async () => {
    const p = fresh();
    const lock = await SnapshotLock.acquire(p);
    try {
      assert.deepEqual({ ...owner(p), startedAt: undefined }, { pid: process.pid, host: hostname(), startedAt: undefined });
      // Another process of this host that is alive: our parent.
      await assert.rejects(SnapshotLock.acquire(p, { pid: process.ppid }), (err: unknown) => {
        assert.ok(err instanceof LockHeldError);
        assert.match(err.message, new RegExp(`in use by another cxone-dedup \\(pid ${process.pid} on this host, since .*\\): stop it first, or give this daemon another SNAPSHOT_PATH`));
        return true;
      });
      assert.equal(owner(p).pid, process.pid, 'the holder keeps its lock');
    } finally {
      await lock.release();
    }
    assert.equal(existsSync(lockPathFor(p)), false, 'released');
  });

  it('takes over the lock of a process that is gone, or of its own pid (a restarted container)', async () => {
    for (const pid of [await deadPid(), process.pid]) {
      const p = fresh();
      writeFileSync(lockPathFor(p), JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
      const takeovers: Array<[LockOwner | null, string]> = [];
      const lock = await SnapshotLock.acquire(p, { onTakeover: (prev, why) => takeovers.push([prev, why]) });
      try {
        assert.equal(takeovers.length, 1);
        assert.equal(takeovers[0]![0]!.pid, pid);
        assert.match(takeovers[0]![1], pid === process.pid ? /pid is ours/ : new RegExp(`pid ${pid} is not running`));
        assert.equal(owner(p).startedAt, lock.owner.startedAt);
      } finally {
        await lock.release();
      }
    }
  });

  it('from another host: held while refreshed, taken over after STALE_MS without a refresh', async () => {
    const p = fresh();
    writeFileSync(lockPathFor(p), JSON.stringify({ pid: 1, host: 'other-host', startedAt: '2026-01-01T00:00:00.000Z' }));
    await assert.rejects(SnapshotLock.acquire(p), (err: unknown) => err instanceof LockHeldError && /pid 1 on host other-host.*taken over 60 s after its last refresh/.test(err.message));
    const old = new Date(Date.now() - STALE_MS - 5000);
    utimesSync(lockPathFor(p), old, old);
    const whys: string[] = [];
    const lock = await SnapshotLock.acquire(p, { onTakeover: (_prev, why) => whys.push(why) });
    try {
      assert.equal(whys.length, 1);
      assert.match(whys[0]!, /not refreshed for 6\d s/);
      assert.equal(owner(p).host, hostname());
    } finally {
      await lock.release();
    }
  });

  it('takes over an unreadable lock file; releases only its own lock', async () => {
    const p = fresh();
    writeFileSync(lockPathFor(p), 'garbage');
    const prev: Array<LockOwner | null> = [];
    const lock = await SnapshotLock.acquire(p, { onTakeover: (o) => prev.push(o) });
    assert.deepEqual(prev, [null]);
    // Somebody else's lock now sits there (say, removed by hand and retaken): release leaves it.
    const theirs = JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: '2026-02-02T00:00:00.000Z' });
    writeFileSync(lockPathFor(p), theirs);
    await lock.release();
    assert.equal(readFileSync(lockPathFor(p), 'utf8'), theirs);
    await lock.release(); // idempotent
  });

  it('reports a lock file that cannot be created as the file system error', async () => {
    await assert.rejects(SnapshotLock.acquire(path.join(dir, 'no-such-dir', 'x.snap')), /ENOENT/);
  });
});
