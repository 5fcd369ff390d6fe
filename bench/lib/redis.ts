/**
 * The loopback redis-server of bench:e2e's Redis variants: Debian's redis-server (installed by
 * the tests' helper when missing and we are root), started fresh for each run in its own
 * temporary directory, without persistence (as in the tests), pinned like the load generator's
 * helpers. Its CPU time comes from /proc/<pid>/stat (bench/lib/cpu.ts), like every process's.
 */
import { spawnSync } from 'node:child_process';
import { startRedis, type RedisServer } from '../../test/helpers/redis.js';

/** Commands redis-server ran so far, from INFO commandstats (the bench's own INFO and XLEN left out). */
export interface CommandCounts {
  /** Every command, those that scripts ran with redis.call included. */
  total: number;
  /** Script invocations (EVAL, EVALSHA, FCALL and their _RO forms): one each per client call. */
  scripts: number;
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);
const OWN_COMMANDS = new Set(['info', 'xlen', 'ping']);

export interface BenchRedis {
  readonly url: string;
  readonly pid: number;
  commands(): Promise<CommandCounts>;
  /** XLEN of a stream (0 when it does not exist). */
  streamLength(name: string): Promise<number>;
  stop(): Promise<void>;
}

/** Starts redis-server and, when `cpus` is given, pins every thread of it there (taskset -a -p). */
export async function startBenchRedis(cpus: string | null): Promise<BenchRedis> {
  const server: RedisServer = await startRedis();
  const pid = server.pid();
  if (pid === undefined) {
    await server.dispose();
    throw new Error('redis-server started but reports no pid');
  }
  if (cpus !== null) {
    const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8', timeout: 5000 });
    if (r.error || r.status !== 0) {
      await server.dispose();
      throw new Error(`taskset -a -p -c ${cpus} ${pid} (redis-server) failed: ${r.error?.message ?? r.stderr}`);
    }
  }
  return {
    url: server.url,
    pid,
    async commands() {
      const counts: CommandCounts = { total: 0, scripts: 0 };
      for (const [key, value] of await server.info('commandstats')) {
        const name = key.replace(/^cmdstat_/, '').toLowerCase();
        const calls = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
        if (OWN_COMMANDS.has(name)) continue;
        counts.total += calls;
        if (SCRIPT_COMMANDS.has(name)) counts.scripts += calls;
      }
      return counts;
    },
    async streamLength(name: string) {
      const reply = await server.command(['XLEN', name]);
      return typeof reply === 'number' ? reply : Number.NaN;
    },
    stop: () => server.dispose(),
  };
}
