/**
 * A real VictoriaMetrics single-node server for tests: it accepts the InfluxDB `/api/v2/write` line
 * protocol our exporter sends, and `/api/v1/export` reads the samples back (measurement and field
 * joined with `_`, tags as labels).
 *
 * The binary comes from Debian's `victoria-metrics` package. When it is missing and we are root, it is
 * installed once per machine (./apt.ts, serialised with every other install); otherwise a clear
 * Error is thrown: tests never skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureAptPackage, findBinary, stopPackagedService } from './apt.js';
import { freePort } from './ports.js';

const BINARY_NAME = 'victoria-metrics';
const FALLBACK_PATH = '/usr/bin/victoria-metrics';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/** One series of `/api/v1/export` (JSON lines). */
export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface Victoria {
  /** Base URL, e.g. `http://127.0.0.1:41234`: what the Influx client takes as `url`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Every series matching the selector, e.g. `{__name__=~"cxone_deduplication_stats_.*"}`. */
  export(match: string): Promise<ExportedSeries[]>;
  /** Graceful stop (SIGTERM); the data stays. */
  stop(): Promise<void>;
  /** Start again on the same port and data directory (after stop or kill). */
  restart(): Promise<void>;
  /** SIGKILL, as a crash would; the data stays. */
  kill(): Promise<void>;
  /** Kill if running and delete the data directory. Safe to call twice. */
  dispose(): Promise<void>;
  /** Whether the server process is up (after start or restart, before stop, kill or dispose). */
  isRunning(): boolean;
  /** Last lines the server printed; for assertion messages. */
  logTail(): string;
}

/** The binary's path, or undefined. */
export function findVictoriaBinary(): string | undefined {
  return findBinary(BINARY_NAME, FALLBACK_PATH);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Finds the binary, installing Debian's package once per machine when root. Throws when impossible. */
export function ensureVictoriaInstalled(): Promise<string> {
  return ensureAptPackage({ pkgs: [BINARY_NAME], find: findVictoriaBinary, afterInstall: () => stopPackagedService(BINARY_NAME) });
}

async function fetchWithTimeout(url: string, timeoutMs: number): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
}

// Every live child and data directory, so that a crashing test run still leaves nothing behind.
const live = new Set<ChildProcess>();
const dataDirs = new Set<string>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

export interface StartVictoriaOptions {
  /** Extra command-line flags. */
  flags?: string[];
}

export async function startVictoria(options: StartVictoriaOptions = {}): Promise<Victoria> {
  const binary = await ensureVictoriaInstalled();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cxone-dedup-vm-'));
  dataDirs.add(dataDir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const args = [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${dataDir}`,
    '-loggerLevel=ERROR',
    '-retentionPeriod=1',
    // Queries (not /api/v1/export) hide the most recent 30 s by default; show everything at once.
    '-search.latencyOffset=0s',
    '-search.disableCache',
    ...(options.flags ?? []),
  ];

  const launch = async (): Promise<void> => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    const append = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-8000);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        live.delete(proc);
        resolve();
      });
      proc.once('error', (err) => {
        log += `\nspawn error: ${err.message}`;
        live.delete(proc);
        resolve();
      });
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    let exitedEarly = false;
    void exited.then(() => {
      exitedEarly = true;
    });
    for (;;) {
      if (exitedEarly) throw new Error(`${BINARY_NAME} exited during start-up:\n${log.slice(-2000)}`);
      try {
        const res = await fetchWithTimeout(`${url}/health`, 1000);
        await res.text();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`${BINARY_NAME} did not answer /health on ${url} within ${START_TIMEOUT_MS} ms:\n${log.slice(-2000)}`);
      }
      await sleep(50);
    }
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
    });
    const outcome = await Promise.race([exited.then(() => 'exited' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      proc.kill('SIGKILL');
      await exited;
    }
    child = undefined;
  };

  try {
    await launch();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    port,
    dataDir,
    async export(match: string): Promise<ExportedSeries[]> {
      // Freshly written rows sit in memory buffers for up to ~10 s before search sees them.
      const flushed = await fetchWithTimeout(`${url}/internal/force_flush`, 5000);
      await flushed.text();
      if (!flushed.ok) throw new Error(`force_flush: HTTP ${flushed.status}`);
      // The default time range ends a little before "now" and would hide the newest samples.
      const range = { 'match[]': match, start: '0', end: String(Math.ceil(Date.now() / 1000) + 86_400) };
      const res = await fetchWithTimeout(`${url}/api/v1/export?${new URLSearchParams(range)}`, 5000);
      const body = await res.text();
      if (!res.ok) throw new Error(`export ${match}: HTTP ${res.status}: ${body.slice(0, 500)}`);
      return body
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ExportedSeries);
    },
    stop: () => terminate('SIGTERM'),
    async restart(): Promise<void> {
      await terminate('SIGTERM');
      await launch();
    },
    kill: () => terminate('SIGKILL'),
    async dispose(): Promise<void> {
      await terminate('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      dataDirs.delete(dataDir);
    },
    isRunning: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    logTail: () => log,
  };
}
