/**
 * One daemon per snapshot file: `<SNAPSHOT_PATH>.lock` names the daemon that writes it. Two daemons
 * on one file would overwrite each other's snapshots and restore whichever came last, so a second
 * one refuses to start while the first runs.
 *
 * The lock is a small JSON file created exclusively (O_EXCL) holding pid, host and start time. A
 * lock left behind by a crash (kill -9, power loss) is taken over: on the same host when its pid no
 * longer runs (or is our own, as for PID 1 in a restarted container); from another host (a shared
 * volume) when the holder has not refreshed it for STALE_MS, since a live holder touches it every
 * REFRESH_MS.
 */
import { hostname } from 'node:os';
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';

/** Whether a process with this pid exists on this host (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const REFRESH_MS = 10_000;
export const STALE_MS = 60_000;

export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

/** Another live daemon holds the lock; the message says which and what to do. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
}

export interface AcquireOptions {
  /** Called when a stale lock is taken over (for one log line). */
  onTakeover?: (previous: LockOwner | null, why: string) => void;
  /** The pid to hold the lock as (tests pose as another process); default process.pid. */
  pid?: number;
  /** What a refusal calls the locked thing (default `snapshotPath`; the outbox names its directory). */
  name?: string;
  /** The setting a refusal suggests changing (default SNAPSHOT_PATH). */
  setting?: string;
}

export const lockPathFor = (snapshotPath: string): string => `${snapshotPath}.lock`;

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (Number.isSafeInteger(o.pid) && (o.pid as number) > 0 && typeof o.host === 'string' && typeof o.startedAt === 'string') {
      return { pid: o.pid as number, host: o.host, startedAt: o.startedAt };
    }
  } catch {
    // Not ours, or torn: treated as stale.
  }
  return null;
}

export class SnapshotLock {
  readonly path: string;
  readonly owner: LockOwner;
  #timer: NodeJS.Timeout | undefined;
  #released = false;

  private constructor(path: string, owner: LockOwner) {
    this.path = path;
    this.owner = owner;
  }

  /** Takes the lock of `snapshotPath`, or throws LockHeldError (or the file system's error). */
  static async acquire(snapshotPath: string, options: AcquireOptions = {}): Promise<SnapshotLock> {
    const path = lockPathFor(snapshotPath);
    const owner: LockOwner = { pid: options.pid ?? process.pid, host: hostname(), startedAt: new Date().toISOString() };
    // Twice at most: once more after removing a stale lock (if a rival took it meanwhile, it holds).
    for (let attempt = 0; ; attempt++) {
      try {
        const fh = await open(path, 'wx', 0o600);
        try {
          await fh.writeFile(`${JSON.stringify(owner)}\n`);
        } finally {
          await fh.close();
        }
        const lock = new SnapshotLock(path, owner);
        lock.#startRefreshing();
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      }
      let text: string;
      let mtimeMs: number;
      try {
        [text, mtimeMs] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mtimeMs)]);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw err;
      }
      const held = parseOwner(text);
      const ageMs = Math.max(0, Date.now() - mtimeMs);
      let stale: string | null;
      if (held === null) stale = 'unreadable lock file';
      else if (held.host === owner.host) {
        stale = held.pid === owner.pid ? 'its pid is ours (a restarted container)' : processAlive(held.pid) ? null : `pid ${held.pid} is not running`;
      } else {
        stale = ageMs >= STALE_MS ? `not refreshed for ${Math.round(ageMs / 1000)} s` : null;
      }
      if (stale === null) {
        const who = `pid ${held!.pid} on ${held!.host === owner.host ? 'this host' : `host ${held!.host}`}, since ${held!.startedAt}`;
        const remedy =
          held!.host === owner.host
            ? `stop it first, or give this daemon another ${options.setting ?? 'SNAPSHOT_PATH'}`
            : `stop it first; if it is gone, its lock is taken over ${Math.round(STALE_MS / 1000)} s after its last refresh`;
        throw new LockHeldError(`${options.name ?? snapshotPath} is in use by another cxone-dedup (${who}): ${remedy}`);
      }
      options.onTakeover?.(held, stale);
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }

  /** Removes the lock (only if it is still ours). Idempotent; never throws. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    try {
      const current = parseOwner(await readFile(this.path, 'utf8'));
      const { pid, host, startedAt } = this.owner;
      if (current?.pid === pid && current.host === host && current.startedAt === startedAt) await unlink(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }

  #startRefreshing(): void {
    this.#timer = setInterval(() => {
      const t = new Date();
      utimes(this.path, t, t).catch(() => undefined);
    }, REFRESH_MS);
    this.#timer.unref();
  }
}
