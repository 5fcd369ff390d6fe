/**
 * Starts the processes under load: the real built daemon (`node dist/cli.js serve`, as `npm start`
 * does) or the bare uWS.js ceiling, and the loopback downstream the delivery variants deliver to,
 * optionally pinned with taskset, on 127.0.0.1 and a free port. Every process is tracked
 * (bench/lib/children.ts) so that none outlives the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { withoutDaemonVariables } from '../../test/helpers/daemon-env.js';
import { track } from './children.js';
import { pinned } from './cpu.js';
import { ROOT } from './results.js';

export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const WEBHOOK_PATH = '/cxone/webhook/data-action';
export const BENCH_SECRET = 'bench-secret-0123456789abcdef-0123456789abcdef';

export interface ServerProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** Lines the process wrote (JSON logs and anything else), for error messages. */
  readonly output: string[];
  get url(): string;
  stop(): Promise<void>;
}

/**
 * Environment without any daemon setting from the developer's shell (a stray DELIVERY_URL or
 * REDIS_URL would send the benchmark's events somewhere real, or change what is measured).
 */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  return { ...withoutDaemonVariables(), ...extra };
}

function launch(name: string, cpus: string | null, args: string[], env: Record<string, string>, timeoutMs: number): Promise<ServerProcess> {
  const [cmd, argv] = pinned(cpus, process.execPath, args);
  const proc = track(spawn(cmd, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => fail(new Error(`${name} did not start listening within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${err.message}; output:\n${output.slice(-20).join('\n')}`));
    };
    const onLine = (line: string) => {
      if (line.trim() === '') return;
      if (output.length < 1000) output.push(line);
      if (done) return;
      let msg: { msg?: unknown; port?: unknown } | undefined;
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg?.msg !== 'listening' || typeof msg.port !== 'number') return;
      done = true;
      clearTimeout(timer);
      const port = msg.port;
      const exited = new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r())));
      resolve({
        name,
        proc,
        pid: proc.pid!,
        port,
        output,
        get url() {
          return `http://127.0.0.1:${port}`;
        },
        async stop() {
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          proc.kill('SIGTERM');
          const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(kill);
        },
      });
    };
    for (const stream of [proc.stdout!, proc.stderr!]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) !== -1) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
    proc.once('error', (err) => fail(err));
    proc.once('exit', (code, signal) => fail(new Error(`${name} exited (${code ?? signal}) before listening`)));
  });
}

/** The real daemon, built: fails with a clear message when dist/ is missing. */
export function startDaemon(options: { cpus: string | null; env?: Record<string, string>; port?: number; timeoutMs?: number; name?: string }): Promise<ServerProcess> {
  if (!existsSync(CLI)) return Promise.reject(new Error(`${CLI} is missing: run \`npm run build\` first (npm run bench does)`));
  const env = cleanEnv({ CXONE_WEBHOOK_SECRET: BENCH_SECRET, LOG_LEVEL: 'info', ...options.env });
  return launch(options.name ?? 'daemon', options.cpus, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(options.port ?? 0)], env, options.timeoutMs ?? 20_000);
}

/** bench/lib/downstream.ts: the loopback HTTP downstream of the delivery variants (answers 200, counts). */
export function startDownstream(options: { cpus: string | null; timeoutMs?: number }): Promise<ServerProcess> {
  return launch('downstream', options.cpus, ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', 'downstream.ts')], cleanEnv({}), options.timeoutMs ?? 20_000);
}

/** bench/bare-uws.ts, the ceiling. */
export function startBareUws(options: { cpus: string | null; timeoutMs?: number }): Promise<ServerProcess> {
  return launch('bare uWS.js', options.cpus, ['--import', 'tsx', path.join(ROOT, 'bench', 'bare-uws.ts')], cleanEnv({}), options.timeoutMs ?? 20_000);
}

export async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.json();
}
