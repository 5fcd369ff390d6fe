/**
 * Every process and temporary directory a benchmark starts, so that nothing outlives it: each
 * part stops its own processes in `finally`, and this is the net under that — on exit (a thrown
 * error, process.exit, or SIGINT/SIGTERM/SIGHUP once `stopAllOnExit()` is installed) every child
 * still running gets SIGKILL and every directory is removed.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}
process.once('exit', killAll);

/** Registers a child so that it is killed if this process exits first. */
export function track<T extends ChildProcess>(child: T): T {
  if (child.exitCode === null && child.signalCode === null) {
    live.add(child);
    child.once('exit', () => live.delete(child));
  }
  return child;
}

/** A new directory under the system's temporary directory, removed at exit if not before. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

let installed = false;

/**
 * Turns SIGINT, SIGTERM and SIGHUP into an orderly exit (status 128 + signal), so the 'exit'
 * handlers above and in test/helpers/redis.ts run: Node's default for these signals skips them.
 */
export function stopAllOnExit(script: string): void {
  if (installed) return;
  installed = true;
  const codes: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
  for (const [signal, n] of Object.entries(codes)) {
    process.once(signal, () => {
      process.stderr.write(`\n${script}: ${signal}: stopping every process it started\n`);
      process.exit(128 + n);
    });
  }
}

/** How many tracked children are still running (for a final check). */
export function liveChildren(): number {
  return [...live].filter((c) => c.exitCode === null && c.signalCode === null).length;
}
