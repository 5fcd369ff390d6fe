/**
 * Replaces a file atomically: the new content goes to a temporary file in the same directory,
 * which is fsync'ed, renamed over the target, and the directory fsync'ed, so after a crash at any
 * point the target holds either the old content or the new, never a mix. The content arrives as
 * chunks written with async I/O, so the event loop keeps turning between them.
 */
import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from './lock.js';

/** `<base>.tmp-<pid>-<n>`: recognisable as ours, so leftovers of a crash can be removed at start. */
export function tempPrefix(target: string): string {
  return `${path.basename(target)}.tmp-`;
}

let sequence = 0;

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.byteLength) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
    off += bytesWritten;
  }
}

/** fsync a directory so a rename inside it is durable (Linux allows opening a directory read-only for this). */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface AtomicWriteOptions {
  /** Checked between chunks: an abort removes the temporary file and rejects with the reason. */
  signal?: AbortSignal;
  /** Permissions of the new file (default 0o600: snapshots hold interaction payloads). */
  mode?: number;
  /** Called with the temporary path once it exists (tests use it). */
  onTempFile?: (tempPath: string) => void;
}

/** Writes `chunks` to `target` atomically; returns the number of bytes written. */
export async function writeFileAtomically(target: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: AtomicWriteOptions = {}): Promise<number> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `${tempPrefix(target)}${process.pid}-${++sequence}`);
  const { signal } = options;
  signal?.throwIfAborted();
  let fh: FileHandle | undefined = await open(temp, 'wx', options.mode ?? 0o600);
  let bytes = 0;
  try {
    options.onTempFile?.(temp);
    for await (const chunk of chunks) {
      signal?.throwIfAborted();
      await writeAll(fh, chunk);
      bytes += chunk.byteLength;
    }
    signal?.throwIfAborted();
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(temp, target);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
  return bytes;
}

/**
 * Removes temporary files a killed writer left next to `target` (those of a process that is gone,
 * or of this pid, i.e. an earlier life of a recycled pid); returns their names.
 */
export async function removeStaleTempFiles(target: string): Promise<string[]> {
  const prefix = tempPrefix(target);
  let names: string[];
  try {
    names = await readdir(path.dirname(target));
  } catch {
    return [];
  }
  const stale = names.filter((n) => {
    if (!n.startsWith(prefix)) return false;
    const pid = Number(/^(\d+)-\d+$/.exec(n.slice(prefix.length))?.[1]);
    return !Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !processAlive(pid);
  });
  for (const name of stale) await rm(path.join(path.dirname(target), name), { force: true }).catch(() => undefined);
  return stale;
}
