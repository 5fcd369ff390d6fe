/**
 * Persistence at daemon start: check SNAPSHOT_PATH, clear leftovers of an interrupted write,
 * restore the snapshot (before the server listens), and hand back the Snapshotter that keeps it
 * current. Exactly one log line says how the restore went.
 */
import type { Logger } from '../log.js';
import { removeStaleTempFiles } from './atomic-file.js';
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
  const { path, strict, engine, logger } = options;
  try {
    await checkSnapshotPath(path);
  } catch (err) {
    throw new SnapshotStartError(`SNAPSHOT_PATH (--snapshot-path) ${path}: ${(err as Error).message}`);
  }
  const stale = await removeStaleTempFiles(path);
  if (stale.length > 0) logger.info('removed temporary snapshot files left by an interrupted write', { files: stale });

  const snapshotter = new Snapshotter({ path, intervalSeconds: options.intervalSeconds, engine, logger });
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
