/**
 * Wires the daemon together and owns its life cycle: start (uWS check, secret, filter, engine,
 * metrics, server, CXone registration) and a bounded, graceful stop.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sleep } from './backoff.js';
import { loadBloomFactory } from '@cxone-dedup/bloom/factory';
import type { BloomFactory } from '@cxone-dedup/bloom/factory';
import { redactedConfig, signatureScheme, type Config } from './config.js';
import { resolveCxoneSettings } from './cxone/settings.js';
import { WebhookRegistration } from './cxone/registration.js';
import { DedupEngine } from './dedup/engine.js';
import { keyNeedsDeliveryId } from './dedup/key.js';
import { WEBHOOK_PATH, WebhookServer, type ProcessOutcome, type RequestObserver } from './http/server.js';
import { RequestVerifier } from './http/signature.js';
import { loadUws, type UwsModule } from './http/uws.js';
import type { Logger } from './log.js';
import { RequestCounters } from './metrics/counters.js';
import { createMetricsExporter, type MetricsExporter } from './metrics/influx.js';
import { LatencyRecorder } from './metrics/latency.js';
import { renderPrometheus } from './metrics/prometheus.js';
import type { MetricsReport, MetricsReading } from './metrics/reading.js';
import { buildStatsDocument } from './metrics/stats-json.js';
import { openPersistence, SnapshotStartError } from './persist/open.js';
import type { Snapshotter } from './persist/snapshotter.js';
import { SNAPSHOTS_DISABLED } from './persist/status.js';

/** A start failure the operator can fix; its message is the whole story. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export class Daemon {
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly startedAt: number,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly engine: DedupEngine,
    private readonly server: WebhookServer,
    private readonly exporter: MetricsExporter,
    private readonly registration: WebhookRegistration,
    private readonly snapshotter: Snapshotter | null,
  ) {}

  get port(): number {
    return this.server.port;
  }

  /** Starts every part in order, each step below; a failure the operator can fix is a StartupError. */
  static async start(config: Config, log: Logger): Promise<Daemon> {
    const uws = checkRuntime(config, log);
    const secret = resolveSecret(config, log);
    const factory = await loadFilter(config, log);
    const counters = new RequestCounters();
    // One clock for the recorder and the server's timestamps (record(us, nowMs) skips a clock read).
    const latency = new LatencyRecorder({ now: () => performance.now() });
    // The exporter samples the engine, which reports compactions to the exporter: the closure
    // reads `engine` only once both exist.
    const reading = (): MetricsReading => ({ engine: engine.stats(), counters: counters.reading(), latency: latency.summary() });
    const exporter = createExporter(config, log, reading);
    const engine = createEngine(config, log, factory, exporter);
    // Before the server listens, so the first request already sees the old memory.
    const snapshotter = await restoreSnapshot(config, log, engine, exporter);
    const registration = createRegistration(config, log, secret);
    const startedAt = Date.now();
    const report = (): MetricsReport => ({
      ...reading(),
      latencyHistogram: latency.cumulative(),
      exporter: exporter.status(),
      uptimeSeconds: (Date.now() - startedAt) / 1000,
      snapshots: snapshotter?.status() ?? SNAPSHOTS_DISABLED,
    });
    const observer: RequestObserver = {
      received: () => counters.countReceived(),
      rejected: (reason) => counters.countRejected(reason),
      latency: (us, nowMs) => latency.record(us, nowMs),
    };
    const server = createServer(config, log, { uws, secret, engine, observer, report, registration });
    const port = await listen(server, exporter, snapshotter);
    startBackground(engine, snapshotter, exporter, registration);
    log.info('listening', {
      port,
      host: config.host,
      webhookPath: WEBHOOK_PATH,
      bloom: factory.kind,
      stateApi: config.stateApiToken === undefined ? 'open (set STATE_API_TOKEN, or keep this port private: states carry event payloads)' : 'bearer token',
      config: redactedConfig(config),
    });
    return new Daemon(startedAt, config, log, engine, server, exporter, registration, snapshotter);
  }

  /**
   * Graceful stop, bounded by SHUTDOWN_TIMEOUT_SECONDS: stop accepting, answer what is in
   * flight, stop background work, write the final snapshot, flush metrics, close every socket.
   * Idempotent.
   */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.doStop(reason);
    return this.stopping;
  }

  private async doStop(reason: string): Promise<void> {
    const budgetMs = this.config.shutdownTimeoutSeconds * 1000;
    const deadline = Date.now() + budgetMs;
    const left = () => Math.max(0, deadline - Date.now());
    this.log.info('shutting down', { reason, inFlight: this.server.pending });
    this.server.stopAccepting();
    const drained = await this.server.drain(left());
    if (!drained) this.log.warn('shutdown timeout: requests still in flight are dropped', { inFlight: this.server.pending });
    this.engine.stop();
    // After the drain (every answered event is in it), before the sockets close.
    if (this.snapshotter !== null) await this.snapshotter.final(left());
    const waited = new AbortController();
    await Promise.race([this.registration.stop(), sleep(left(), waited.signal).catch(() => undefined)]);
    waited.abort(); // no timer left behind to hold the process
    await this.exporter.close({ timeoutMs: Math.max(left(), 100) });
    this.server.closeAll();
    this.log.info('stopped', { uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) });
  }
}

// ── the steps of Daemon.start, in order ─────────────────────────────────────────────────────────

/** uWebSockets.js must be its native binary, unless ALLOW_UWS_FALLBACK accepts the slow JS shim. */
function checkRuntime(config: Config, log: Logger): UwsModule {
  const { uws, native, description } = loadUws();
  if (!native && !config.allowUwsFallback) {
    throw new StartupError(
      `${description}: the native uWebSockets.js binary did not load (unsupported Node.js ABI or glibc), so only its slow JS shim is available; ` +
        'refusing to start. Set ALLOW_UWS_FALLBACK=1 (or --allow-uws-fallback) to run on the shim anyway.',
    );
  }
  if (native) log.info('HTTP server runtime', { runtime: description });
  else log.warn('HTTP server runtime is the slow JS shim (allowed by ALLOW_UWS_FALLBACK)', { runtime: description });
  return uws;
}

/** CXONE_WEBHOOK_SECRET, or an ephemeral one for this run (logged, or nobody could use it). */
function resolveSecret(config: Config, log: Logger): string {
  if (config.webhookSecret !== undefined) return config.webhookSecret;
  const secret = randomBytes(32).toString('hex');
  // Deliberately logged: an ephemeral secret is useless unless the operator can read it.
  log.warn('CXONE_WEBHOOK_SECRET is not set: generated an ephemeral secret for this run only; set CXONE_WEBHOOK_SECRET to keep one across restarts', {
    ephemeralSecret: secret,
  });
  return secret;
}

/** The Bloom filter factory BLOOM_IMPLEMENTATION asks for. */
async function loadFilter(config: Config, log: Logger): Promise<BloomFactory> {
  try {
    return await loadBloomFactory({ prefer: config.bloom === 'auto' ? 'native' : config.bloom, logger: log, strict: config.bloom === 'native' });
  } catch (err) {
    throw new StartupError(`BLOOM_IMPLEMENTATION=${config.bloom}: ${(err as Error).message}`);
  }
}

/** The InfluxDB exporter (a disabled one without INFLUX_URL); `getStats` is sampled every interval. */
function createExporter(config: Config, log: Logger, getStats: () => MetricsReading): MetricsExporter {
  try {
    return createMetricsExporter(
      {
        url: config.influxUrl,
        token: config.influxToken,
        org: config.influxOrg,
        bucket: config.influxBucket ?? '',
        environment: config.influxEnvironment,
        host: hostname(),
        intervalSeconds: config.metricsIntervalSeconds,
        maxBufferLines: config.influxMaxBufferLines,
        getStats,
      },
      log.child({ component: 'influx' }),
    );
  } catch (err) {
    throw new StartupError(`INFLUX_*: ${(err as Error).message}`);
  }
}

/** The dedup engine; each compaction goes to the exporter and the log. */
function createEngine(config: Config, log: Logger, factory: BloomFactory, exporter: MetricsExporter): DedupEngine {
  try {
    return new DedupEngine({
      factory,
      capacity: config.dedupCapacity,
      errorRate: config.dedupErrorRate,
      compactionIntervalSeconds: config.compactionIntervalSeconds,
      stateCacheSize: config.stateCacheSize,
      stateCacheMaxBytes: config.stateCacheMaxBytes,
      keyFields: config.dedupKeyFields,
      unconfirmedPolicy: config.unconfirmedPolicy,
      onCompaction: (record) => {
        exporter.onCompaction(record);
        log.info('compaction', { ...record });
      },
      logger: log.child({ component: 'dedup' }),
    });
  } catch (err) {
    throw new StartupError(`dedup engine: ${(err as Error).message}`);
  }
}

/** With SNAPSHOT_PATH: lock it, restore it into the engine, and return the Snapshotter; else null. */
async function restoreSnapshot(config: Config, log: Logger, engine: DedupEngine, exporter: MetricsExporter): Promise<Snapshotter | null> {
  if (config.snapshotPath === undefined) return null;
  try {
    return await openPersistence({
      path: config.snapshotPath,
      intervalSeconds: config.snapshotIntervalSeconds,
      strict: config.strictSnapshot,
      engine,
      logger: log.child({ component: 'snapshot' }),
    });
  } catch (err) {
    await exporter.close({ timeoutMs: 1000 });
    if (err instanceof SnapshotStartError) throw new StartupError(err.message);
    throw err;
  }
}

/** CXone webhook registration (disabled without CXONE_CLIENT_ID), not started yet. */
function createRegistration(config: Config, log: Logger, secret: string): WebhookRegistration {
  return new WebhookRegistration({
    settings: resolveCxoneSettings({
      clientId: config.cxoneClientId,
      clientSecret: config.cxoneClientSecret,
      region: config.cxoneRegion,
      tokenUrl: config.cxoneTokenUrl,
      apiBase: config.cxoneApiBase,
      webhookUrl: config.cxoneWebhookUrl,
      webhookSecret: secret,
    }),
    logger: log,
  });
}

/** What the HTTP server is wired to. */
interface ServerParts {
  uws: UwsModule;
  secret: string;
  engine: DedupEngine;
  observer: RequestObserver;
  report: () => MetricsReport;
  registration: WebhookRegistration;
}

/** The signature verifier and the HTTP server in front of the engine, not listening yet. */
function createServer(config: Config, log: Logger, parts: ServerParts): WebhookServer {
  const { uws, secret, engine, observer, report, registration } = parts;
  const verifier = new RequestVerifier({
    secret,
    scheme: signatureScheme(config),
    replayWindowSeconds: config.replayWindowSeconds,
    requireTimestamp: config.requireTimestamp,
  });
  log.info('signature verification', {
    hmac: verifier.backend === 'native' ? 'native (Rust, SHA extensions when present)' : 'node:crypto',
    preset: config.signaturePreset,
    scheme: verifier.scheme,
  });

  const server: WebhookServer = new WebhookServer({
    uws,
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    verifier,
    ...(keyNeedsDeliveryId(config.dedupKeyFields) && { deliveryIdHeader: config.deliveryIdHeader }),
    stateToken: config.stateApiToken,
    sink: {
      process: (event, timestamp, bodyBytes, request): ProcessOutcome => {
        const r = engine.process(event, timestamp, bodyBytes, request);
        return r.status === 'processed'
          ? { status: 'processed', interactionId: event.interactionId, state: r.state }
          : { status: 'deduplicated', interactionId: event.interactionId };
      },
      getState: (id) => engine.getState(id),
    },
    observer,
    logger: log.child({ component: 'http' }),
    stats: () => buildStatsDocument(report(), { inFlight: server.pending }),
    metrics: () => renderPrometheus(report()),
    readiness: () => ({ ready: true, registration: registration.status() }),
  });
  return server;
}

/** Binds PORT/HOST; on failure releases what was opened before (exporter, snapshot lock). */
async function listen(server: WebhookServer, exporter: MetricsExporter, snapshotter: Snapshotter | null): Promise<number> {
  try {
    return await server.listen();
  } catch (err) {
    await exporter.close({ timeoutMs: 1000 });
    await snapshotter?.close();
    throw new StartupError(`PORT/HOST: ${(err as Error).message}`);
  }
}

/** Timers and background work, once the server listens: compaction, snapshots, export, registration. */
function startBackground(engine: DedupEngine, snapshotter: Snapshotter | null, exporter: MetricsExporter, registration: WebhookRegistration): void {
  engine.start();
  snapshotter?.start();
  exporter.start();
  registration.start();
}
