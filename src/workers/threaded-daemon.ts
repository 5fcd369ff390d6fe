/**
 * WORKERS > 1: the daemon as one main thread and N worker threads serving one port.
 *
 * Each worker thread (worker.ts) runs its own uWebSockets.js app on the port, with the
 * single-threaded daemon's request path and its own Redis connection (DEDUP_STORE=redis: the
 * threads share one dedup window there; the memory store is refused, config.ts). The main thread
 * owns what must be one per process: the outbox and its dispatchers (OUTBOX_DIR is locked to one
 * owner) and an embedder's onEvent, the InfluxDB exporter, CXone registration, signals and the
 * shutdown sequence, and the sums of every thread's numbers.
 *
 * The pinned uWebSockets.js (20.30) has no acceptor API, but its apps listen with SO_REUSEPORT
 * on an explicit port, so every worker binds the same one and the kernel spreads connections
 * over them. It sets SO_REUSEPORT only for a port other than 0: with PORT=0 the main thread picks
 * a free port first (a bind with node:net), and every worker then listens on that one.
 *
 * A worker that ends unexpectedly stops the daemon (graceful for the others, exit 1 from the
 * CLI): restarting a thread in a process that just lost one would hide the fault, and a
 * supervisor restarts the whole daemon cleanly; the window is in Redis, so nothing is forgotten.
 * (A thread that dies with its listen socket open takes the process with it anyway: uWS aborts.)
 */
import { availableParallelism } from 'node:os';
import net from 'node:net';
import { within } from '../backoff.js';
import { redactedConfig, type Config } from '../config.js';
import { createExporter, createRegistration, loadFilter, resolveSecret, StartupError, type DaemonHooks } from '../daemon.js';
import type { WebhookRegistration } from '../cxone/registration.js';
import { Delivery } from '../delivery/delivery.js';
import { OutboxOpenError } from '../delivery/errors.js';
import { explainListenFailure } from '../http/listen-error.js';
import { WEBHOOK_PATH } from '../http/server.js';
import { loadUws } from '../http/uws.js';
import type { Logger } from '../log.js';
import type { MetricsExporter } from '../metrics/influx.js';
import type { MetricsReading } from '../metrics/reading.js';
import { aggregateReading, aggregateReadiness, aggregateReport, type MainParts, type Reading } from './aggregate.js';
import type { WorkerReading } from './protocol.js';
import { WorkerHandle, type WorkerRequests } from './worker-handle.js';

/** How long a report waits for the other workers' numbers (then uses the last they sent). */
const READ_TIMEOUT_MS = 1000;
/** A second signal waits this long for the workers to close their sockets, then exits anyway. */
const HALT_TIMEOUT_MS = 1000;
/** How often a worker sends its numbers unasked, for the InfluxDB exporter (at most). */
const PUSH_INTERVAL_MS = 1000;

export class ThreadedDaemon {
  #port = 0;
  #handles: WorkerHandle[] = [];
  #stopping: Promise<void> | null = null;
  #startedAt = Date.now();
  #exporter!: MetricsExporter;
  #registration!: WebhookRegistration;
  #delivery: Delivery | null = null;
  /** Set once every worker listens: from then on a worker's end is the daemon's failure. */
  #serving = false;

  private constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly onFailure: ((err: Error) => void) | undefined,
  ) {}

  get port(): number {
    return this.#port;
  }

  /** Worker threads serving the port. */
  get workers(): number {
    return this.#handles.length;
  }

  /**
   * Starts the main thread's parts, then the workers, and resolves once every worker listens.
   * `onFailure`: called after the daemon stopped itself because a worker ended unexpectedly.
   */
  static async start(config: Config, log: Logger, hooks: DaemonHooks = {}, onFailure?: (err: Error) => void): Promise<ThreadedDaemon> {
    const daemon = new ThreadedDaemon(config, log, onFailure);
    await daemon.#start(hooks);
    return daemon;
  }

  async #start(hooks: DaemonHooks): Promise<void> {
    const { config, log } = this;
    checkSharedPortRuntime(config, log);
    // Here too (each worker loads its own): a refused BLOOM_IMPLEMENTATION=native is said once, first.
    const factory = await loadFilter(config, log);
    const secret = resolveSecret(config, log);
    this.#exporter = createExporter(config, log, () => this.#reading());
    try {
      this.#delivery = await Delivery.open({ config, ...(hooks.onEvent !== undefined && { onEvent: hooks.onEvent }), logger: log });
    } catch (err) {
      await this.#exporter.close({ timeoutMs: 1000 });
      if (err instanceof OutboxOpenError) throw new StartupError(`OUTBOX_DIR: ${err.message}`);
      throw err;
    }
    this.#registration = createRegistration(config, log, secret);
    let port: number;
    try {
      port = await choosePort(config.host, config.port);
    } catch (err) {
      await this.#release();
      throw err;
    }

    const requests: WorkerRequests = {
      append: (record, body) => this.#append({ ...record, body }),
      report: (from, reading) => this.#report(from, reading),
      compaction: (record) => this.#exporter.onCompaction(record),
      log: (line) => relayLog(log, line),
      exited: (from, code, expected, error) => this.#exited(from, code, expected, error),
    };
    const cores = availableParallelism();
    if (config.workers > cores) log.warn(`WORKERS=${config.workers} is more than this host's ${cores} cores: the threads will share them`, { workers: config.workers, cores });
    this.#handles = Array.from(
      { length: config.workers },
      (_, i) =>
        new WorkerHandle(
          { worker: i + 1, config, secret, port, outbox: this.#delivery !== null, pushIntervalMs: Math.min(PUSH_INTERVAL_MS, config.metricsIntervalSeconds * 1000) },
          requests,
        ),
    );
    const started = await Promise.allSettled(this.#handles.map((h) => h.listening));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure !== undefined) {
      // Close the listen sockets of those that did listen before the process may exit.
      await this.#stopWorkers(1000);
      await this.#release();
      throw new StartupError((failure.reason as Error).message);
    }
    this.#port = port;
    this.#serving = true;
    this.#delivery?.start();
    this.#exporter.start();
    this.#registration.start();
    log.info('listening', {
      port,
      host: config.host,
      webhookPath: WEBHOOK_PATH,
      workers: config.workers,
      bloom: factory.kind,
      stateApi: config.stateApiToken === undefined ? 'open (set STATE_API_TOKEN, or keep this port private: states carry event payloads)' : 'bearer token',
      config: { ...redactedConfig(config), ...(config.webhookSecret === undefined ? { webhookSecret: 'ephemeral' } : {}) },
    });
  }

  /**
   * Graceful stop, bounded by SHUTDOWN_TIMEOUT_SECONDS: every worker stops accepting (closes its
   * listen socket), answers what is in flight and ends; then the outbox is flushed and the
   * deliveries in flight get what is left, the registration and the exporter close. Idempotent.
   */
  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#doStop(reason);
    return this.#stopping;
  }

  /**
   * A second signal: every worker closes its listen socket and connections now and ends, so the
   * process may exit without uWS aborting it. True when all ended within a second.
   */
  async halt(): Promise<boolean> {
    for (const h of this.#handles) h.halt();
    return (await within(Promise.all(this.#handles.map((h) => h.exit)), HALT_TIMEOUT_MS)) !== undefined;
  }

  async #doStop(reason: string): Promise<void> {
    const deadline = Date.now() + this.config.shutdownTimeoutSeconds * 1000;
    const left = () => Math.max(0, deadline - Date.now());
    this.log.info('shutting down', { reason, inFlight: this.#handles.reduce((n, h) => n + (h.last?.inFlight ?? 0), 0) });
    await this.#stopWorkers(left());
    // Every answered event is durable (the workers drained while the outbox still took appends).
    await this.#release(left());
    this.log.info('stopped', { uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000) });
  }

  /** Asks every worker to stop within `timeoutMs` and waits for them to end. */
  async #stopWorkers(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const h of this.#handles) h.stop(timeoutMs);
    // A worker drains within the budget, then closes its store and reports: allow it that moment.
    const stops = await within(Promise.all(this.#handles.map((h) => h.stopped)), timeoutMs + 2000);
    if (stops === undefined) this.log.error('shutdown: a worker did not stop in time');
    else if (stops.some((s) => !s.drained)) this.log.warn('shutdown timeout: requests still in flight on some workers were dropped');
    const ended = await within(Promise.all(this.#handles.map((h) => h.exit)), Math.max(500, deadline - Date.now()));
    if (ended === undefined) {
      // Their listen sockets are closed (they reported their stop), so ending them is safe now.
      await Promise.all(this.#handles.map((h) => h.terminate()));
    }
  }

  /** The main thread's parts, in the single-threaded daemon's order: outbox, registration, exporter. */
  async #release(timeoutMs = 1000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    if (this.#delivery !== null) await this.#delivery.stop(left());
    if (this.#registration !== undefined) await within(this.#registration.stop(), left());
    await this.#exporter.close({ timeoutMs: Math.max(left(), 100) });
  }

  #main(): MainParts {
    return { config: this.config, delivery: this.#delivery, exporter: this.#exporter, registration: this.#registration, startedAt: this.#startedAt };
  }

  /** What the InfluxDB exporter samples: the numbers each worker sent last. */
  #reading(): MetricsReading {
    return aggregateReading(
      this.#handles.flatMap((h) => (h.last === undefined ? [] : [h.last])),
      this.#main(),
    );
  }

  /** The process's report for one worker's request: its own reading, the others' asked now. */
  async #report(from: WorkerHandle, reading: WorkerReading): Promise<{ report: ReturnType<typeof aggregateReport>; readiness: ReturnType<typeof aggregateReadiness> }> {
    const readings: Reading[] = await Promise.all(
      this.#handles.map(async (h): Promise<Reading | undefined> => {
        if (h === from) return { reading, fresh: true };
        const now = await h.read(READ_TIMEOUT_MS);
        if (now !== undefined) return { reading: now, fresh: true };
        return h.last === undefined ? undefined : { reading: h.last, fresh: false };
      }),
    ).then((all) => all.filter((r): r is Reading => r !== undefined));
    const main = this.#main();
    return { report: aggregateReport(readings, main), readiness: aggregateReadiness(readings.map((r) => r.reading), main) };
  }

  /** A worker's event to deliver, into the outbox (and every other durable log of the main thread). */
  async #append(record: Parameters<Delivery['outbox']['append']>[0]): Promise<void> {
    if (this.#delivery === null) throw new Error('no outbox in this daemon');
    await Promise.all(this.#delivery.logs.map((l) => l.append(record)));
  }

  #exited(from: WorkerHandle, code: number, expected: boolean, error: Error | undefined): void {
    if (expected || !this.#serving) return;
    const err = new Error(`worker ${from.index} ended unexpectedly (exit code ${code})`, { cause: error });
    this.log.error(`${err.message}: stopping the daemon (the others answer what they have in flight); a supervisor should start it again`, {
      worker: from.index,
      exitCode: code,
      ...(error !== undefined && { err: error }),
    });
    void this.stop(`worker ${from.index} ended`).then(() => this.onFailure?.(err));
  }
}

/**
 * A worker's log line, written by the main thread's logger (an embedder's own included), so every
 * thread's lines go one way; the worker already applied LOG_LEVEL and made its fields safe.
 */
function relayLog(log: Logger, line: string): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  const { time: _time, level, msg, ...fields } = record;
  const write = level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? log[level] : log.info;
  write(typeof msg === 'string' ? msg : String(msg), fields);
}

/** The native uWS binary: its JS shim serves through node:http, which cannot share one port between threads. */
function checkSharedPortRuntime(config: Config, log: Logger): void {
  const { native, description, fallbackReason } = loadUws();
  if (!native) {
    throw new StartupError(
      `WORKERS=${config.workers} needs the native uWebSockets.js binary, but ${description} is loaded (${fallbackReason ?? 'unsupported Node.js ABI or glibc'}): ` +
        'its JS shim serves through node:http, which cannot share one port between threads. Run WORKERS=1, or install a uWebSockets.js build for this Node.js (README: Node.js versions)',
    );
  }
  log.info('HTTP server runtime', { runtime: description });
}

/**
 * The port every worker listens on: PORT, checked free with an exclusive bind (so the workers'
 * SO_REUSEPORT cannot join a port another process holds), or with PORT=0 a free one picked so.
 */
async function choosePort(host: string, port: number): Promise<number> {
  try {
    return await new Promise<number>((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, () => {
        const address = probe.address();
        probe.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
      });
    });
  } catch {
    throw new StartupError(`PORT/HOST: ${await explainListenFailure(host, port)}`);
  }
}
