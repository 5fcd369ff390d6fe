/**
 * Runs the real daemon (`node dist/cli.js serve`, as `npm start` does) on a free loopback port
 * and talks to it over HTTP. `npm test` builds dist/ first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signRequest } from '../../src/http/signature.js';
import { withoutDaemonVariables } from './daemon-env.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const WEBHOOK_PATH = '/cxone/webhook/data-action';
export const TEST_SECRET = 'test-secret-0123456789abcdef-0123456789';

/**
 * The daemon's warning that it runs on uWebSockets.js's JS shim (where no binary matches the
 * Node.js ABI: the multi-Node runs). Tests that count other warnings and errors leave it out.
 */
export const isShimNotice = (l: { msg: string }): boolean => l.msg.startsWith('HTTP server runtime is the slow JS shim');

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface DaemonOptions {
  env?: Record<string, string | undefined>;
  /**
   * WORKERS: this many threads serve the port (more than 1 needs DEDUP_STORE=redis and a
   * REDIS_URL in `env`). Unset: one thread, or what CXONE_TEST_WORKERS asks for (below).
   */
  workers?: number;
  args?: string[];
  /** Default TEST_SECRET; null leaves CXONE_WEBHOOK_SECRET unset. */
  secret?: string | null;
  /**
   * The daemon's working directory. Default: the repository, or with `secret: null` a fresh
   * temporary one (the daemon writes its ephemeral secret there: `RunningDaemon.cwd`).
   */
  cwd?: string;
  startTimeoutMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class RunningDaemon {
  readonly logs: LogLine[] = [];
  /** Lines on stderr/stdout that are not JSON (should stay empty). */
  readonly rawOutput: string[] = [];
  port = 0;
  /** STATE_API_TOKEN, when the daemon was started with one: stats() sends it. */
  stateToken: string | undefined;
  /** Its working directory. */
  cwd = ROOT;
  readonly exited: Promise<Exit>;

  constructor(
    readonly proc: ChildProcess,
    readonly secret: string,
  ) {
    // 'close', not 'exit': by then stdout and stderr are fully read, so the last log lines are in.
    this.exited = new Promise((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
    const onLine = (line: string) => {
      if (line.trim() === '') return;
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.rawOutput.push(line);
      }
    };
    for (const stream of [proc.stdout, proc.stderr]) {
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) !== -1) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything written to the logs so far, as text (for "never logged" assertions). */
  logText(): string {
    return [...this.logs.map((l) => JSON.stringify(l)), ...this.rawOutput].join('\n');
  }

  async waitForLog(predicate: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find(predicate);
      if (hit) return hit;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`daemon exited (${this.proc.exitCode ?? this.proc.signalCode}) before the expected log line; logs:\n${this.logText()}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line; logs:\n${this.logText()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** POSTs a body (object → JSON) to the webhook path, signed unless `signature` is given. */
  async post(body: unknown, opts: { signature?: string | null; timestamp?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any; headers: Headers }> {
    const raw = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
    if (opts.signature !== null) headers['x-nice-signature'] = opts.signature ?? signRequest(this.secret, raw, opts.timestamp);
    if (opts.timestamp !== undefined) headers['x-nice-timestamp'] = opts.timestamp;
    const res = await fetch(this.url + WEBHOOK_PATH, { method: 'POST', body: raw, headers, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    return { status: res.status, json: parseJson(text), headers: res.headers };
  }

  async get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string; headers: Headers }> {
    const res = await fetch(this.url + pathname, { headers, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    return { status: res.status, json: parseJson(text), text, headers: res.headers };
  }

  async stats(): Promise<any> {
    return (await this.get('/stats', this.stateToken === undefined ? {} : { authorization: `Bearer ${this.stateToken}` })).json;
  }

  /** Sends a signal and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<Exit> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

let suiteDaemons = 0;

/**
 * A whole suite run against worker threads (test/workers/contract.test.ts runs the contract
 * suites so): with CXONE_TEST_WORKERS=N and CXONE_TEST_REDIS_URL set, every daemon started here
 * serves from N threads on the Redis store, each under its own key prefix (a fresh window, as a
 * fresh memory store would be), unless the test itself chooses WORKERS or the store.
 */
function suiteWorkers(options: DaemonOptions): Record<string, string> {
  const workers = process.env.CXONE_TEST_WORKERS;
  const redisUrl = process.env.CXONE_TEST_REDIS_URL;
  if (workers === undefined || options.workers !== undefined || options.env?.WORKERS !== undefined || options.env?.DEDUP_STORE !== undefined) return {};
  if (redisUrl === undefined) throw new Error('CXONE_TEST_WORKERS needs CXONE_TEST_REDIS_URL (the Redis store the threads share)');
  return { WORKERS: workers, DEDUP_STORE: 'redis', REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `t${process.pid}-${++suiteDaemons}:` };
}

/** Whether the daemons of this suite run on worker threads and the Redis store (CXONE_TEST_WORKERS). */
export const suiteOnWorkers = process.env.CXONE_TEST_WORKERS !== undefined;

/** Starts `cxone-dedup serve` on 127.0.0.1 with a free port and waits until it listens. */
export async function startDaemon(options: DaemonOptions = {}): Promise<RunningDaemon> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does) before these tests`);
  const secret = options.secret === undefined ? TEST_SECRET : options.secret;
  // Start from a clean slate: no daemon setting leaks in from the developer's shell.
  const env = withoutDaemonVariables();
  env.LOG_LEVEL = 'info';
  // The multi-Node run (scripts/test.mjs) tests daemons on uWebSockets.js's JS shim where no binary matches.
  if (process.env.CXONE_TEST_UWS_SHIM === '1') env.ALLOW_UWS_FALLBACK = '1';
  if (secret !== null) env.CXONE_WEBHOOK_SECRET = secret;
  Object.assign(env, suiteWorkers(options));
  if (options.workers !== undefined) env.WORKERS = String(options.workers);
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const cwd = options.cwd ?? (secret === null ? mkdtempSync(path.join(os.tmpdir(), 'cxone-dedup-cwd-')) : ROOT);
  const proc = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', ...(options.args ?? [])], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const daemon = new RunningDaemon(proc, secret ?? '');
  daemon.cwd = cwd;
  daemon.stateToken = env.STATE_API_TOKEN;
  try {
    const line = await daemon.waitForLog((l) => l.msg === 'listening', options.startTimeoutMs ?? 15_000);
    daemon.port = Number(line.port);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return daemon;
}

/** Runs the CLI to completion (for start failures, --help, tools). */
export function runCli(args: string[], options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
  // On the shim (multi-Node runs), allow it, unless the test is about that switch itself.
  if (process.env.CXONE_TEST_UWS_SHIM === '1' && options.env?.ALLOW_UWS_FALLBACK === undefined && options.env?.UWS_USE_FALLBACK === undefined) env.ALLOW_UWS_FALLBACK = '1';
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`cli ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    proc.stdin.end(options.input ?? '');
  });
}

let counter = 0;
/** A valid event with a fresh interactionId unless one is given. */
export function makeEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    interactionId: `int-${process.pid}-${Date.now()}-${counter}`,
    dataActionId: `da-${counter}`,
    updatedTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, counter)).toISOString(),
    payload: { step: counter, note: 'hello' },
    ...overrides,
  };
}
