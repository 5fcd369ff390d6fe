/**
 * Installs a Debian package the tests need (victoria-metrics, redis, chromium) when its binary is
 * missing: `apt-get update`, then `apt-get install`, as root. One lock file for every package, so
 * test files running in parallel never run two apt-gets at once (the second would fail on dpkg's
 * lock); a lock left by a dead process is taken over. Not root → a clear Error: tests never skip.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const INSTALL_LOCK = path.join(os.tmpdir(), 'cxone-dedup-apt-install.lock');
const INSTALL_TIMEOUT_MS = 9 * 60_000;

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` on PATH, else `fallback` if executable, else undefined. */
export function findBinary(name: string, fallback: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return isExecutable(fallback) ? fallback : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** apt-get, retried while another apt/dpkg process (another test helper's install, unattended upgrades) holds its locks. */
function aptGet(args: string[], timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', ...args], {
      encoding: 'utf8',
      timeout: Math.max(1000, deadline - Date.now()),
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (!r.error && r.status === 0) return;
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (/Could not get lock|Unable to lock/i.test(out) && Date.now() < deadline) {
      spawnSync('sleep', ['2']);
      continue;
    }
    throw new Error(`apt-get ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${out.slice(-2000)}`);
  }
}

/**
 * A Debian package may start (and enable) a system service when the machine runs an init system
 * (redis on 6379, victoria-metrics on 8428). The tests start their own on free ports, and on a
 * 2-core box a stray daemon costs, so stop and disable it. Best effort: without systemd or an
 * init script there is nothing to stop.
 */
export function stopPackagedService(service: string): void {
  const state = spawnSync('systemctl', ['is-system-running'], { encoding: 'utf8', timeout: 10_000 });
  const booted = !state.error && /^(running|degraded|starting|initializing|maintenance)/.test(state.stdout ?? '');
  if (booted) {
    spawnSync('systemctl', ['disable', '--now', service], { timeout: 30_000, stdio: 'ignore' });
  } else if (isExecutable(`/etc/init.d/${service}`)) {
    spawnSync(`/etc/init.d/${service}`, ['stop'], { timeout: 30_000, stdio: 'ignore' });
  }
}

export interface AptPackage {
  /** The Debian packages to install together, e.g. `['chromium', 'fonts-liberation']`. */
  pkgs: string[];
  /** The binary's path once installed, or undefined. */
  find: () => string | undefined;
  /** Runs once right after a successful install (e.g. stop a service the package started). */
  afterInstall?: () => void;
}

/** The binary's path, installing the package first when it is missing. Throws when impossible. */
export async function ensureAptPackage({ pkgs, find, afterInstall }: AptPackage): Promise<string> {
  const pkg = pkgs.join(' ');
  const found = find();
  if (found) return found;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(
      `${pkg} is not installed and this process is not root, so it cannot be installed here. ` +
        `Install it with: sudo apt-get update && sudo apt-get install -y ${pkg}`,
    );
  }
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    let lock;
    try {
      lock = await open(INSTALL_LOCK, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Another test file is installing (this package or another): wait, or take over a dead owner's lock.
      const owner = Number.parseInt(await readFile(INSTALL_LOCK, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) await unlink(INSTALL_LOCK).catch(() => {});
      if (Date.now() > deadline) throw new Error(`timed out waiting for another process to install packages (lock ${INSTALL_LOCK})`);
      await sleep(500);
      const now = find();
      if (now) return now;
      continue;
    }
    try {
      await lock.writeFile(String(process.pid));
      await lock.close();
      const again = find();
      if (again) return again;
      aptGet(['update'], INSTALL_TIMEOUT_MS / 3);
      aptGet(['install', '-y', '--no-install-recommends', ...pkgs], INSTALL_TIMEOUT_MS / 2);
      afterInstall?.();
      const installed = find();
      if (!installed) throw new Error(`apt-get installed ${pkg} but its binary is not where expected`);
      return installed;
    } finally {
      await unlink(INSTALL_LOCK).catch(() => {});
    }
  }
}
