/**
 * The main thread's handle on one worker thread: its start (listening or failed), its latest
 * numbers, requests to it (its reading now, stop, halt) and its end. What the worker asks of the
 * main thread (appends, reports, compactions) goes to the `WorkerRequests` it is created with.
 */
import { Worker } from 'node:worker_threads';
import type { CompactionRecord } from '../dedup/stats.js';
import type { Readiness } from '../http/server.js';
import type { MetricsReport } from '../metrics/reading.js';
import type { AppendRecord, MainMessage, WorkerData, WorkerMessage, WorkerReading } from './protocol.js';

/** What a worker asks of the main thread. */
export interface WorkerRequests {
  /** Resolves once the record is durable; rejects with why not. */
  append(record: AppendRecord, body: Buffer): Promise<void>;
  /** The process's report for this worker's GET /stats, /metrics or /readyz. */
  report(from: WorkerHandle, reading: WorkerReading): Promise<{ report: MetricsReport; readiness: Readiness }>;
  compaction(record: CompactionRecord): void;
  /** One of its JSON log lines. */
  log(line: string): void;
  /** The worker ended (`expected`: after stop or halt, or a start that failed and said so); `error`: what ended it, if it threw. */
  exited(from: WorkerHandle, code: number, expected: boolean, error: Error | undefined): void;
}

/** The worker thread's module: dist/workers/worker.js (worker.ts when run from source with tsx). */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

export class WorkerHandle {
  readonly index: number;
  readonly #worker: Worker;
  readonly #requests: WorkerRequests;
  /** The last numbers it sent (asked or not), and whether it answered the last time it was asked. */
  last: WorkerReading | undefined;
  /** Settles when it listens (its port) or fails to start (its reason). */
  readonly listening: Promise<number>;
  /** Resolves when it reported its stop (drained or not), or ended. */
  readonly stopped: Promise<{ drained: boolean }>;
  /** Resolves with its exit code. */
  readonly exit: Promise<number>;
  #expectExit = false;
  #ended = false;
  #error: Error | undefined;
  #nextId = 1;
  readonly #reads = new Map<number, (r: WorkerReading | undefined) => void>();

  constructor(data: WorkerData, requests: WorkerRequests) {
    this.index = data.worker;
    this.#requests = requests;
    this.#worker = new Worker(WORKER_URL, { workerData: data });
    let listened: (port: number) => void;
    let failed: (err: Error) => void;
    this.listening = new Promise((resolve, reject) => {
      listened = resolve;
      failed = reject;
    });
    // Rejections of `listening` are handled by whoever starts the pool; never unhandled.
    this.listening.catch(() => undefined);
    let reportStop: (r: { drained: boolean }) => void;
    this.stopped = new Promise((resolve) => (reportStop = resolve));
    this.exit = new Promise((resolve) =>
      this.#worker.once('exit', (code) => {
        this.#ended = true;
        failed(new Error(`worker ${this.index} ended (exit code ${code}) before listening`));
        reportStop({ drained: false });
        for (const resolveRead of this.#reads.values()) resolveRead(undefined);
        this.#reads.clear();
        this.#requests.exited(this, code, this.#expectExit, this.#error);
        resolve(code);
      }),
    );
    this.#worker.on('error', (err) => {
      this.#error = err;
      failed(err);
    });
    this.#worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'listening':
          listened(m.port);
          return;
        case 'failed':
          this.#expectExit = true;
          failed(new Error(m.message));
          return;
        case 'append':
          this.#requests.append(m.record, Buffer.from(m.body)).then(
            () => this.#send({ type: 'appended', id: m.id }),
            (err: unknown) => this.#send({ type: 'appended', id: m.id, error: err instanceof Error ? err.message : String(err) }),
          );
          return;
        case 'report-request':
          this.last = m.reading;
          this.#requests.report(this, m.reading).then(
            (r) => this.#send({ type: 'report', id: m.id, ...r }),
            // Not answered: the worker's own timeout turns it into a 500 (and logs it).
            () => undefined,
          );
          return;
        case 'reading': {
          this.last = m.reading;
          const resolveRead = m.id === undefined ? undefined : this.#reads.get(m.id);
          if (resolveRead !== undefined) {
            this.#reads.delete(m.id!);
            resolveRead(m.reading);
          }
          return;
        }
        case 'compaction':
          this.#requests.compaction(m.record);
          return;
        case 'log':
          this.#requests.log(m.line);
          return;
        case 'stopped':
          this.last = m.reading;
          this.#expectExit = true;
          reportStop({ drained: m.drained });
          return;
      }
    });
  }

  /** Its numbers now, or undefined when it does not answer within `timeoutMs` (or has ended). */
  read(timeoutMs: number): Promise<WorkerReading | undefined> {
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        this.#reads.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.#reads.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      if (!this.#send({ type: 'read', id })) {
        this.#reads.delete(id);
        clearTimeout(timer);
        resolve(undefined);
      }
    });
  }

  /** Stop accepting, answer what is in flight within `timeoutMs`, then end. */
  stop(timeoutMs: number): void {
    this.#expectExit = true;
    this.#send({ type: 'stop', timeoutMs });
  }

  /** Close everything now and end (a second signal). */
  halt(): void {
    this.#expectExit = true;
    this.#send({ type: 'halt' });
  }

  /**
   * Ends the thread from outside. Only once its listen socket is closed (it reported `stopped`,
   * or it never listened): uWS aborts the whole process otherwise.
   */
  terminate(): Promise<number> {
    return this.#worker.terminate();
  }

  #send(message: MainMessage): boolean {
    try {
      this.#worker.postMessage(message);
      return true;
    } catch {
      return false; // it has ended
    }
  }
}
