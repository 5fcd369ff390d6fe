/**
 * Under a supervisor: SIGTERM to the process it runs stops the daemon gracefully (exit 0, the
 * `stopped` line), both for docs/cxone-dedup.service's ExecStart and for `npm start`, which must
 * not leave the daemon behind as an orphan.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureAptPackage, findBinary } from '../helpers/apt.js';
import { withoutDaemonVariables } from '../helpers/daemon-env.js';
import { ROOT, TEST_SECRET, type LogLine } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

const UNIT = path.join(ROOT, 'docs', 'cxone-dedup.service');
/** Where the unit expects the package and Node.js; the test runs them from here instead. */
const UNIT_ROOT = '/opt/cxone-dedup';
const UNIT_NODE = '/usr/bin/node';

interface Unit {
  get(section: string, key: string): string[];
}

/** `[Section]` / `Key=Value` lines, comments dropped; a key may repeat (Environment=). */
function parseUnit(text: string): Unit {
  const entries: Array<[string, string, string]> = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a unit line: ${line}`);
    entries.push([section, line.slice(0, eq), line.slice(eq + 1)]);
  }
  return { get: (s, k) => entries.filter(([es, ek]) => es === s && ek === k).map(([, , v]) => v) };
}

/** `Environment=A=1` lines → { A: '1' }. */
function environmentOf(unit: Unit): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of unit.get('Service', 'Environment')) {
    const eq = v.indexOf('=');
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** A clean environment: nothing of the daemon's settings leaks in from the developer's shell. */
function baseEnv(): Record<string, string> {
  const env = withoutDaemonVariables();
  if (process.env.CXONE_TEST_UWS_SHIM === '1') env.ALLOW_UWS_FALLBACK = '1';
  return env;
}

/** JSON log lines from a child's stderr, as they come. */
function collectLogs(proc: ChildProcess): LogLine[] {
  const logs: LogLine[] = [];
  let buf = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith('{')) logs.push(JSON.parse(line) as LogLine);
    }
  });
  proc.stdout?.resume();
  return logs;
}

/**
 * The child's exit, or a rejection after `timeoutMs`. 'exit', not 'close': an orphan left behind
 * would hold the pipes open, and 'close' would never come.
 */
function exited(proc: ChildProcess, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pid ${proc.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Every descendant of `pid` now (from /proc): what would be orphaned if `pid` died alone. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 4 of /proc/<pid>/stat, after the parenthesised command (which may hold spaces).
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) if (parent === p) out.push(child), walk(child);
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('docs/cxone-dedup.service', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cxone-dedup-unit-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the daemon itself with the settings a supervisor needs', () => {
    assert.deepEqual(unit.get('Service', 'ExecStart'), [`${UNIT_NODE} ${UNIT_ROOT}/dist/cli.js serve`]);
    assert.deepEqual(unit.get('Service', 'KillSignal'), ['SIGTERM']);
    assert.deepEqual(unit.get('Service', 'Restart'), ['on-failure']);
    assert.deepEqual(unit.get('Service', 'EnvironmentFile'), ['/etc/cxone-dedup/cxone-dedup.env'], 'secrets from a file, and the file required');
    const env = environmentOf(unit);
    for (const secret of ['CXONE_WEBHOOK_SECRET', 'STATE_API_TOKEN', 'INFLUX_TOKEN', 'CXONE_CLIENT_SECRET', 'DELIVERY_SECRET']) {
      assert.equal(env[secret], undefined, `${secret} belongs in the EnvironmentFile`);
    }
    // systemd must wait longer than the daemon's own bound on a graceful stop before SIGKILL.
    const stopSec = Number(unit.get('Service', 'TimeoutStopSec')[0]);
    assert.ok(stopSec > Number(env.SHUTDOWN_TIMEOUT_SECONDS) + 5, `TimeoutStopSec ${stopSec} vs SHUTDOWN_TIMEOUT_SECONDS ${env.SHUTDOWN_TIMEOUT_SECONDS}`);
    // Read-only everywhere but where it writes: the snapshot's directory and the outbox.
    assert.deepEqual(unit.get('Service', 'ProtectSystem'), ['strict']);
    assert.deepEqual(unit.get('Service', 'NoNewPrivileges'), ['yes']);
    assert.deepEqual(unit.get('Service', 'MemoryDenyWriteExecute'), [], "V8's JIT needs W+X memory");
    const writable = unit.get('Service', 'ReadWritePaths').flatMap((v) => v.split(/\s+/));
    const under = (p: string) => writable.some((w) => p === w || p.startsWith(`${w}/`));
    assert.ok(under(path.dirname(env.SNAPSHOT_PATH!)), `SNAPSHOT_PATH ${env.SNAPSHOT_PATH} not writable`);
    assert.ok(under(env.OUTBOX_DIR!), `OUTBOX_DIR ${env.OUTBOX_DIR} not writable`);
    const stateDirs = unit.get('Service', 'StateDirectory').flatMap((v) => v.split(/\s+/)).map((d) => `/var/lib/${d}`);
    for (const p of [path.dirname(env.SNAPSHOT_PATH!), env.OUTBOX_DIR!]) assert.ok(stateDirs.includes(p), `${p} is created by StateDirectory=`);
  });

  it('passes systemd-analyze verify (no unknown keys, an executable ExecStart)', async () => {
    const analyze = await ensureAptPackage({ pkgs: ['systemd'], find: () => findBinary('systemd-analyze', '/usr/bin/systemd-analyze') });
    const copy = path.join(dir, 'cxone-dedup.service');
    writeFileSync(copy, readFileSync(UNIT, 'utf8').replaceAll(UNIT_NODE, process.execPath));
    const r = spawnSync(analyze, ['verify', copy], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim(), '', r.stderr);
  });

  it("its ExecStart, given its environment and environment file, stops on SIGTERM: exit 0, 'stopped', final snapshot written", async () => {
    const state = path.join(dir, 'state');
    const env: Record<string, string> = { ...baseEnv() };
    for (const [k, v] of Object.entries(environmentOf(unit))) env[k] = v.replace('/var/lib/cxone-dedup', state);
    Object.assign(env, { HOST: '127.0.0.1', PORT: '0', CXONE_WEBHOOK_SECRET: TEST_SECRET }); // the EnvironmentFile's part
    const [command, ...args] = unit.get('Service', 'ExecStart')[0]!.split(' ');
    assert.equal(command, UNIT_NODE);
    const argv = args.map((a) => a.replace(UNIT_ROOT, ROOT));
    spawnSync('mkdir', ['-p', path.join(state, 'outbox')]); // StateDirectory='s part
    const proc = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(proc);
    const logs = collectLogs(proc);
    try {
      const listening = await until('the listening line', () => logs.find((l) => l.msg === 'listening'), 20_000);
      const res = await fetch(`http://127.0.0.1:${listening.port}/healthz`);
      assert.equal(res.status, 200);
      proc.kill('SIGTERM'); // what systemd does on stop (KillSignal=SIGTERM)
      const exit = await done;
      assert.deepEqual(exit, { code: 0, signal: null }, JSON.stringify(logs));
      await until("the 'stopped' line", () => logs.some((l) => l.msg === 'stopped'), 5000);
      assert.ok(existsSync(path.join(state, 'snapshot.bin')), 'final snapshot in SNAPSHOT_PATH');
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  });
});

describe('npm start', () => {
  it('SIGTERM to npm reaches the daemon: it stops gracefully, npm exits 0, nothing is left running', async () => {
    const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
    const env = { ...baseEnv(), HOST: '127.0.0.1', PORT: '0', CXONE_WEBHOOK_SECRET: TEST_SECRET, LOG_LEVEL: 'info' };
    const proc = spawn(npm[0]!, [...npm.slice(1), 'start', '--silent'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(proc);
    const logs = collectLogs(proc);
    let tree: number[] = [];
    try {
      const listening = await until('the listening line', () => logs.find((l) => l.msg === 'listening'), 30_000);
      tree = descendants(proc.pid!);
      assert.ok(tree.length > 0, 'npm runs the daemon as its child');
      proc.kill('SIGTERM'); // what `kill -TERM <pid of npm start>` does
      const exit = await done;
      assert.deepEqual(exit, { code: 0, signal: null }, JSON.stringify(logs));
      // No orphan: every process npm had started is gone, and the port is closed.
      await until('npm’s children to be gone', () => tree.every((pid) => !alive(pid)), 5000);
      await until("the 'stopped' line", () => logs.some((l) => l.msg === 'stopped'), 5000);
      assert.ok(logs.some((l) => l.msg === 'shutting down' && l.reason === 'SIGTERM'), JSON.stringify(logs));
      const refused = await fetch(`http://127.0.0.1:${listening.port}/healthz`).then(
        () => false,
        () => true,
      );
      assert.ok(refused, 'nothing listens on the port any more');
    } finally {
      for (const pid of [proc.pid!, ...tree]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
