/** The facts about the machine a benchmark ran on, recorded next to every result. */
import { spawnSync } from 'node:child_process';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { loadUws } from '../../src/http/uws.js';
import { tasksetWorks } from './cpu.js';

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  rustc: string;
  uws: string;
  taskset: boolean;
  /** 1-minute load average when the facts were taken: a busy shared machine shows here. */
  loadAverage1m: number;
  freeMemoryGiB: number;
  date: string;
}

function rustcVersion(): string {
  const r = spawnSync('rustc', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return `unavailable (${r.error?.message ?? `exit ${r.status}`})`;
  return r.stdout.trim();
}

function uwsRuntime(): string {
  try {
    return loadUws().description;
  } catch (err) {
    return `does not load: ${(err as Error).message}`;
  }
}

export function machineFacts(): MachineFacts {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    rustc: rustcVersion(),
    uws: uwsRuntime(),
    taskset: tasksetWorks(),
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    date: new Date().toISOString(),
  };
}

export function machineLine(m: MachineFacts): string {
  return (
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; Linux ${m.kernel}; Node.js ${m.node}; ${m.rustc}; ` +
    `${m.uws}; taskset ${m.taskset ? 'yes' : 'no'}; load ${m.loadAverage1m}; ${m.date}`
  );
}
