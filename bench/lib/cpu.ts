/** CPU pinning (taskset) and per-process CPU time from /proc, for the load-generating benchmarks. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

let tasksetCache: boolean | undefined;

/** True when `taskset -c 0 true` runs here and there are at least two CPUs to split between processes. */
export function tasksetWorks(): boolean {
  if (tasksetCache === undefined) {
    const r = spawnSync('taskset', ['-c', '0', 'true'], { timeout: 5000 });
    tasksetCache = !r.error && r.status === 0 && cpus().length >= 2;
  }
  return tasksetCache;
}

/** Which CPUs the server and the load generator get: disjoint halves when pinning works. */
export interface Placement {
  pinned: boolean;
  server: string | null;
  generator: string | null;
  note: string;
}

export function placement(): Placement {
  const n = cpus().length;
  if (!tasksetWorks()) {
    return { pinned: false, server: null, generator: null, note: 'taskset unavailable: server and load generator are NOT pinned and share every CPU' };
  }
  const half = Math.max(1, Math.floor(n / 2));
  const server = half === 1 ? '0' : `0-${half - 1}`;
  const generator = n - half === 1 ? String(half) : `${half}-${n - 1}`;
  return { pinned: true, server, generator, note: `server pinned to CPU ${server}, load generator to CPU ${generator} (taskset)` };
}

/** `[command, ...args]` prefixed with `taskset -c cpus` when `cpus` is given. */
export function pinned(cpuList: string | null, command: string, args: string[]): [string, string[]] {
  if (cpuList === null) return [command, args];
  return ['taskset', ['-c', cpuList, command, ...args]];
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 });
    const v = Number(r.stdout?.trim());
    clockTicks = Number.isFinite(v) && v > 0 ? v : 100;
  }
  return clockTicks;
}

/** User + system CPU seconds a process has used so far (all its threads), or NaN if it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM), or NaN. */
export function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Busy CPU-seconds of the whole machine so far (all CPUs: user, nice, system, irq, softirq, steal), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
    return busy / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}
