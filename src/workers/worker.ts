/**
 * One worker thread of WORKERS > 1: its own uWebSockets.js app on the shared port (SO_REUSEPORT),
 * the same request path as the single-threaded daemon (verify → parse → store → durable hand-off
 * → answer) with its own Redis connection, and everything that must be one per process left to
 * the main thread: an event to deliver is appended to the main thread's outbox (the 200 waits for
 * its commit), and /stats, /metrics and /readyz answer for the whole process.
 *
 * uWS aborts the process when a thread ends with its listen socket open, so this thread ends only
 * after closing it: on the main thread's `stop` (drain first) or `halt`. Exceptions that escape a
 * handler are logged and the thread keeps serving, as the single-threaded daemon does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createEngine, createServer, loadFilter, openStores, RETRY_AFTER_SECONDS, type Stores } from '../daemon.js';
import type { RequestObserver, WebhookServer } from '../http/server.js';
import { loadUws } from '../http/uws.js';
import { Intake } from '../intake/intake.js';
import { createLogger } from '../log.js';
import { RequestCounters } from '../metrics/counters.js';
import { LatencyRecorder } from '../metrics/latency.js';
import { renderPrometheus } from '../metrics/prometheus.js';
import { buildStatsDocument } from '../metrics/stats-json.js';
import { MainLink } from './main-link.js';
import type { WorkerData, WorkerReading } from './protocol.js';

const data = workerData as WorkerData;
const { config } = data;
const link = new MainLink(parentPort!);
// Lines go to the main thread's logger (one stream, an embedder's logger included).
const log = createLogger({ level: config.logLevel, base: { worker: data.worker }, write: (line) => link.send({ type: 'log', line }) });

process.on('uncaughtException', (err) => log.error('uncaught exception', { err }));
process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err }));

async function start(): Promise<void> {
  let stores: Stores | undefined;
  try {
    // The main thread checked the runtime (and refused the shim, which cannot share a port).
    const { uws } = loadUws();
    const factory = await loadFilter(config, log);
    const counters = new RequestCounters();
    const latency = new LatencyRecorder({ now: () => performance.now() });
    const engine = createEngine(config, log, factory, { onCompaction: (record) => link.send({ type: 'compaction', record }) });
    stores = await openStores(config, log, engine, { close: async () => undefined }, null);
    const { dedup, redis } = stores;
    const intake = new Intake({
      store: dedup,
      logs: [...(data.outbox ? [link.outbox] : []), ...stores.logs],
      deliver: config.deliver,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
      logger: log.child({ component: 'intake' }),
    });
    const observer: RequestObserver = {
      received: () => counters.countReceived(),
      rejected: (reason) => counters.countRejected(reason),
      latency: (us, nowMs) => latency.record(us, nowMs),
    };
    let server: WebhookServer | undefined;
    const streamStats = stores.stream?.stats.bind(stores.stream);
    const reading = (): WorkerReading => ({
      worker: data.worker,
      counters: counters.reading(),
      engine: redis?.engineStats() ?? engine.stats(),
      store: redis?.stats() ?? { kind: 'memory' },
      latency: latency.recent(),
      latencyHistogram: latency.cumulative(),
      intake: intake.stats(),
      ...(streamStats !== undefined && { stream: streamStats() }),
      inFlight: server?.pending ?? 0,
    });
    server = createServer({ ...config, port: data.port }, log, {
      uws,
      secret: data.secret,
      engine,
      store: dedup,
      intake,
      observer,
      answers: () => ({
        stats: () => link.report(reading()).then(({ report }) => buildStatsDocument(report)),
        metrics: () => link.report(reading()).then(({ report }) => renderPrometheus(report)),
        readiness: () => link.report(reading()).then(({ readiness }) => readiness),
      }),
    });
    const port = await server.listen().catch((err: unknown) => {
      throw new Error(`PORT/HOST: ${(err as Error).message}`);
    });
    engine.start();
    // Unasked, now and then: the main thread's InfluxDB exporter samples what it last heard.
    const push = setInterval(() => link.send({ type: 'reading', reading: reading() }), data.pushIntervalMs);
    push.unref();
    const live = server;
    const opened = stores;
    let stopping = false;
    link.serve({
      reading,
      stop: (timeoutMs) => {
        if (stopping) return;
        stopping = true;
        clearInterval(push);
        void stop(live, opened, () => engine.stop(), timeoutMs, reading);
      },
      halt: () => {
        // A second signal: close now (the listen socket first), then end the thread.
        live.closeAll();
        process.exit(1);
      },
    });
    link.send({ type: 'listening', port });
    // So the main thread has every worker's numbers before its exporter's first sample.
    link.send({ type: 'reading', reading: reading() });
  } catch (err) {
    // Nothing listens yet: the thread may end (the main thread stops the others and says why).
    link.send({ type: 'failed', message: (err as Error).message ?? String(err) });
    await stores?.close().catch(() => undefined);
    link.close();
  }
}

/** Stop accepting (this thread's listen socket closes), answer what is in flight, close, report. */
async function stop(server: WebhookServer, stores: Stores, stopEngine: () => void, timeoutMs: number, reading: () => WorkerReading): Promise<void> {
  server.stopAccepting();
  const drained = await server.drain(timeoutMs);
  if (!drained) log.warn('shutdown timeout: requests still in flight are dropped', { inFlight: server.pending });
  stopEngine();
  // Every answered event is decided (destroy: nothing waits on Redis).
  await stores.close().catch((err: unknown) => log.warn('closing the store failed', { err }));
  server.closeAll();
  log.info('worker stopped', { drained });
  link.send({ type: 'stopped', drained, reading: reading() });
  link.close();
}

void start();
