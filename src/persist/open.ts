/**
 * Persistence at daemon start: check SNAPSHOT_PATH, lock it against a second daemon, clear
 * leftovers of an interrupted write, restore the snapshot (before the server listens), and hand
 * back the Snapshotter that keeps it current (and releases the lock after its final snapshot).
 * Exactly one log line says how the restore went.
 */
import type { Logger } from '../log.js';
import { removeStaleTempFiles } from './atomic-file.js';
import { LockHeldError, lockPathFor, SnapshotLock } from './lock.js';
import { checkSnapshotPath, moveAside, restoreSnapshot, type RestoreTarget } from './restore.js';
import { Snapshotter, type SnapshotSource } from './snapshotter.js';

/** Persistence cannot start as configured; the message is the whole story. */
export class SnapshotStartError extends Error {
  override readonly name = 'SnapshotStartError';
}

export interface OpenPersistenceOptions {
  path: string;
  intervalSeconds: number;
  /** Refuse to start (throw) when an existing snapshot cannot be restored. */
  strict: boolean;
  engine: SnapshotSource & RestoreTarget;
  logger: Logger;
}

export async function openPersistence(options: OpenPersistenceOptions): Promise<Snapshotter> {
  const { path, logger } = options;
  try {
    await checkSnapshotPath(path);
  } catch (err) {
    throw new SnapshotStartError(`SNAPSHOT_PATH (--snapshot-path) ${path}: ${(err as Error).message}`);
  }
  let lock: SnapshotLock;
  try {
    lock = await SnapshotLock.acquire(path, {
      onTakeover: (previous, why) => logger.warn('took over a stale snapshot lock', { lock: lockPathFor(path), previous, why }),
    });
  } catch (err) {
    if (err instanceof LockHeldError) throw new SnapshotStartError(`SNAPSHOT_PATH (--snapshot-path) ${err.message}`);
    throw new SnapshotStartError(`SNAPSHOT_PATH (--snapshot-path) ${path}: cannot create its lock file ${lockPathFor(path)}: ${(err as Error).message}`);
  }
  try {
    return await open(options, lock);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function open(options: OpenPersistenceOptions, lock: SnapshotLock): Promise<Snapshotter> {
  const { path, strict, engine, logger } = options;
  const stale = await removeStaleTempFiles(path);
  if (stale.length > 0) logger.info('removed temporary snapshot files left by an interrupted write', { files: stale });

  const snapshotter = new Snapshotter({ path, intervalSeconds: options.intervalSeconds, engine, logger, lock });
  const outcome = await restoreSnapshot(path, engine);
  switch (outcome.status) {
    case 'missing':
      logger.info('no snapshot yet at SNAPSHOT_PATH (first start?): starting empty', { path });
      break;
    case 'restored':
      snapshotter.restored(outcome);
      logger.info('snapshot restored', {
        path,
        interactions: outcome.interactions,
        bytes: outcome.bytes,
        createdAt: new Date(outcome.createdAtMs).toISOString(),
        ageSeconds: Math.max(0, Math.round((Date.now() - outcome.createdAtMs) / 1000)),
        durationMs: outcome.durationMs,
      });
      break;
    case 'rejected': {
      if (strict) throw new SnapshotStartError(`SNAPSHOT_PATH ${path}: ${outcome.reason}; refusing to start (--strict-snapshot)`);
      // Kept for inspection; the next snapshot would otherwise overwrite it.
      const movedTo = await moveAside(path);
      logger.error(`snapshot not restored, starting empty: ${outcome.reason}`, { path, code: outcome.code, movedTo });
      break;
    }
  }
  return snapshotter;
}
