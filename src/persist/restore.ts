/**
 * Start-up side of persistence: check that SNAPSHOT_PATH can be written, read the snapshot, check
 * it completely and hand it to the engine. Every failure becomes a RestoreOutcome with one clear
 * reason; nothing here throws on bad file content, and the engine is untouched unless the whole
 * snapshot is valid.
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants as fsConstants } from 'node:fs';
import { access, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EngineState, EngineStateV1 } from '../dedup/state.js';
import type { EngineStats } from '../dedup/stats.js';
import { decodeSnapshot, SnapshotFormatError, type SnapshotErrorCode } from './format.js';

/** What restoring needs from the dedup engine. */
export interface RestoreTarget {
  readonly keyFields: readonly string[];
  stats(): EngineStats;
  importState(state: EngineState | EngineStateV1): void;
}

export type RestoreOutcome =
  | { status: 'missing' }
  | { status: 'restored'; bytes: number; interactions: number; createdAtMs: number; durationMs: number }
  | { status: 'rejected'; code: SnapshotErrorCode | 'unreadable' | 'invalid_state'; reason: string };

/** The largest file we try to read (a Buffer's limit). */
export const MAX_SNAPSHOT_BYTES = bufferConstants.MAX_LENGTH;

/**
 * Throws an Error whose message is the whole story when snapshots could never be written there:
 * the directory is missing or not writable, or the path names something other than a file.
 */
export async function checkSnapshotPath(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  let dirStat;
  try {
    dirStat = await stat(dir);
  } catch {
    throw new Error(`directory ${dir} does not exist`);
  }
  if (!dirStat.isDirectory()) throw new Error(`${dir} is not a directory`);
  try {
    await access(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch {
    throw new Error(`directory ${dir} is not writable by this process`);
  }
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error(`${file} exists and is not a regular file`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Reads `file` and restores it into `engine`; see RestoreOutcome. */
export async function restoreSnapshot(file: string, engine: RestoreTarget): Promise<RestoreOutcome> {
  const started = performance.now();
  let buf: Buffer;
  try {
    const s = await stat(file);
    if (s.size > MAX_SNAPSHOT_BYTES) return { status: 'rejected', code: 'too_large', reason: `snapshot is ${s.size} bytes, more than this process can read (${MAX_SNAPSHOT_BYTES})` };
    buf = await readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { status: 'missing' };
    return { status: 'rejected', code: 'unreadable', reason: `snapshot cannot be read: ${e.code ?? e.message}` };
  }

  const { filter } = engine.stats();
  let decoded;
  try {
    decoded = decodeSnapshot(buf, {
      capacity: filter.capacity,
      errorRate: filter.errorRate,
      bitCount: filter.bitCount,
      hashCount: filter.hashCount,
      keyFields: engine.keyFields,
    });
  } catch (err) {
    if (err instanceof SnapshotFormatError) return { status: 'rejected', code: err.code, reason: err.message };
    return { status: 'rejected', code: 'corrupt', reason: `snapshot could not be decoded: ${(err as Error).message}` };
  }
  try {
    engine.importState(decoded.state);
  } catch (err) {
    return { status: 'rejected', code: 'invalid_state', reason: `snapshot content rejected: ${(err as Error).message}` };
  }
  return {
    status: 'restored',
    bytes: buf.length,
    interactions: decoded.state.version === 1 ? decoded.state.interactions.length : decoded.state.states.length,
    createdAtMs: decoded.header.createdAtMs,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
  };
}

/** Renames a rejected snapshot to `<file>.rejected` (replacing an older one), so the next write cannot destroy the evidence. */
export async function moveAside(file: string): Promise<string | null> {
  const target = `${file}.rejected`;
  try {
    await rename(file, target);
    return target;
  } catch {
    return null;
  }
}
