/**
 * Wires the daemon together and owns its life cycle: start (uWS check, filter, secret, engine,
 * metrics, server, CXone registration) and a bounded, graceful stop. One thread; WORKERS > 1 is
 * src/workers/, which builds each worker thread's server from the steps exported here.
 */
import { hostname } from 'node:os';
import { within } from './backoff.js';
import { loadBloomFactory } from '@cxone-dedup/bloom/factory';
import type { BloomFactory } from '@cxone-dedup/bloom/factory';
import { redactedConfig, signatureScheme, type Config } from './config.js';
import { resolveCxoneSettings } from './cxone/settings.js';
import { WebhookRegistration } from './cxone/registration.js';
import { DedupEngine } from './dedup/engine.js';
import { keyNeedsDeliveryId } from './dedup/key.js';
import { Delivery, type DeliveryStats } from './delivery/delivery.js';
import { OutboxOpenError } from './delivery/errors.js';
import type { OnEvent } from './delivery/in-process-sink.js';
import { RedisStreamLog } from './delivery/redis-stream.js';
import { createEphemeralSecret, EPHEMERAL_SECRET_FILE, type EphemeralSecret } from './ephemeral-secret.js';
import { Intake, type DurableLog } from './intake/intake.js';
import { RedisDedupStore } from './intake/redis-store.js';
import { MemoryStore, StoreUnavailableError, type DedupStore } from './intake/store.js';
import { NativeWebhookPath } from './http/native-path.js';
import { signatureMessages, StateUnavailable, WEBHOOK_PATH, WebhookServer, type ProcessOutcome, type RequestObserver, type ServerOptions } from './http/server.js';
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
import { createRedisStore, redisConnectionFor } from './store/redis/factory.js';
import type { RedisStore } from './store/redis/store.js';
import { StreamCounters } from './store/redis/stream-stats.js';

/** Retry-After (seconds) of every 503 that asks CXone to send again: about a claim's lifetime in Redis. */
export const RETRY_AFTER_SECONDS = 5;

/** A start failure the operator can fix; its message is the whole story. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** What an embedder adds to the configuration (see src/index.ts). */
export interface DaemonHooks {
  /** In-process sink: every event to deliver, at least once, from the durable outbox. */
  onEvent?: OnEvent;
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
    private readonly delivery: Delivery | null,
    private readonly stores: Stores,
  ) {}

  get port(): number {
    return this.server.port;
  }

  /** Starts every part in order, each step below; a failure the operator can fix is a StartupError. */
  static async start(config: Config, log: Logger, hooks: DaemonHooks = {}): Promise<Daemon> {
    if (config.workers > 1) throw new StartupError(`Daemon.start serves one thread; WORKERS=${config.workers} is started by startDaemon() (the package root) or cxone-dedup serve`);
    const uws = checkRuntime(config, log);
    // Before the secret: a refused BLOOM_IMPLEMENTATION=native must be the only complaint.
    const factory = await loadFilter(config, log);
    const secret = resolveSecret(config, log);
    const counters = new RequestCounters();
    // One clock for the recorder and the server's timestamps (record(us, nowMs) skips a clock read).
    const latency = new LatencyRecorder({ now: () => performance.now() });
    // The exporter samples the engine, which reports compactions to the exporter: the closure
    // reads `engine` only once both exist.
    const reading = (): MetricsReading => {
      const deliveryStats = deliveryReport(config, delivery, stores.stream, intake);
      return {
        engine: stores.redis?.engineStats() ?? engine.stats(),
        counters: counters.reading(),
        latency: latency.summary(),
        ...(deliveryStats !== undefined && { delivery: deliveryStats }),
        store: stores.redis?.stats() ?? { kind: 'memory' },
      };
    };
    const exporter = createExporter(config, log, reading);
    const engine = createEngine(config, log, factory, exporter);
    // Before the server listens, so the first request already sees the old memory.
    const snapshotter = await restoreSnapshot(config, log, engine, exporter);
    // DEDUP_STORE, and the Redis stream beside the memory store.
    const stores = await openStores(config, log, engine, exporter, snapshotter);
    // Also before listening: what a previous run accepted but did not deliver goes first.
    const delivery = await openDelivery(config, log, hooks, exporter, snapshotter, stores);
    const intake = new Intake({
      store: stores.dedup,
      logs: [...(delivery?.logs ?? []), ...stores.logs],
      deliver: config.deliver,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
      logger: log.child({ component: 'intake' }),
    });
    delivery?.countRejectionsWith(() => intake.stats().rejectedForDurability);
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
    const answers = ownAnswers({ report, delivery, redis: stores.redis, registration });
    const server = createServer(config, log, { uws, secret, engine, store: stores.dedup, intake, observer, answers });
    const port = await listen(server, exporter, snapshotter, delivery, stores);
    startBackground(engine, snapshotter, exporter, registration, delivery);
    log.info('listening', {
      port,
      host: config.host,
      webhookPath: WEBHOOK_PATH,
      bloom: factory.kind,
      stateApi: config.stateApiToken === undefined ? 'open (set STATE_API_TOKEN, or keep this port private: states carry event payloads)' : 'bearer token',
      // An unset secret was generated for this run: say so, not "unset".
      config: { ...redactedConfig(config), ...(config.webhookSecret === undefined ? { webhookSecret: 'ephemeral' } : {}) },
    });
    return new Daemon(startedAt, config, log, engine, server, exporter, registration, snapshotter, delivery, stores);
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
    // Deliveries in flight get what is left of the budget; the rest stays in the outbox.
    if (this.delivery !== null) await this.delivery.stop(left());
    // Every answered event is decided; the outbox is flushed. (destroy: nothing waits on Redis.)
    await this.stores.close();
    await within(this.registration.stop(), left());
    await this.exporter.close({ timeoutMs: Math.max(left(), 100) });
    this.server.closeAll();
    this.log.info('stopped', { uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) });
  }
}

// ── the steps of Daemon.start, in order ─────────────────────────────────────────────────────────

/** uWebSockets.js must be its native binary, unless ALLOW_UWS_FALLBACK accepts the slow JS shim. */
export function checkRuntime(config: Config, log: Logger): UwsModule {
  const { uws, native, description, fallbackReason } = loadUws();
  const why = fallbackReason === undefined ? 'unsupported Node.js ABI or glibc' : fallbackReason;
  if (!native && !config.allowUwsFallback) {
    throw new StartupError(
      `${description}: the native uWebSockets.js binary did not load (${why}), so only its slow JS shim is available; refusing to start. ` +
        'Install a uWebSockets.js build for this Node.js (README: Node.js versions), or set ALLOW_UWS_FALLBACK=1 (or --allow-uws-fallback) to run on the shim anyway.',
    );
  }
  if (native) log.info('HTTP server runtime', { runtime: description });
  else log.warn('HTTP server runtime is the slow JS shim (allowed by ALLOW_UWS_FALLBACK)', { runtime: description, reason: why });
  return uws;
}

/** The Bloom filter factory BLOOM_IMPLEMENTATION asks for. */
export async function loadFilter(config: Config, log: Logger): Promise<BloomFactory> {
  try {
    return await loadBloomFactory({ prefer: config.bloom === 'auto' ? 'native' : config.bloom, logger: log, strict: config.bloom === 'native' });
  } catch (err) {
    throw new StartupError(`BLOOM_IMPLEMENTATION=${config.bloom}: ${(err as Error).message}`);
  }
}

/**
 * CXONE_WEBHOOK_SECRET, or an ephemeral one for this run, written to a file only this user can
 * read (the log says where, never what): `cxone-dedup send` and `sign` in the same directory use it.
 */
export function resolveSecret(config: Config, log: Logger): string {
  if (config.webhookSecret !== undefined) return config.webhookSecret;
  let made: EphemeralSecret;
  try {
    made = createEphemeralSecret();
  } catch (err) {
    throw new StartupError(`CXONE_WEBHOOK_SECRET is not set and the ephemeral secret could not be written to ${EPHEMERAL_SECRET_FILE} in ${process.cwd()} (${(err as Error).message}); set CXONE_WEBHOOK_SECRET`);
  }
  log.warn('CXONE_WEBHOOK_SECRET is not set: generated an ephemeral secret for this run only, readable in its file by this user (cxone-dedup send and sign in this directory use it); set CXONE_WEBHOOK_SECRET to keep one across restarts', {
    ephemeralSecretFile: made.file,
  });
  return made.secret;
}

/** The InfluxDB exporter (a disabled one without INFLUX_URL); `getStats` is sampled every interval. */
export function createExporter(config: Config, log: Logger, getStats: () => MetricsReading): MetricsExporter {
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
export function createEngine(config: Config, log: Logger, factory: BloomFactory, exporter: Pick<MetricsExporter, 'onCompaction'>): DedupEngine {
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
export function createRegistration(config: Config, log: Logger, secret: string): WebhookRegistration {
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

/** The dedup store DEDUP_STORE names, and the Redis stream beside the memory store; closed at stop. */
export interface Stores {
  dedup: DedupStore;
  /** DEDUP_STORE=redis. */
  redis: RedisDedupStore | null;
  /** With DELIVERY_REDIS_STREAM: its appends and failures, counted by the store's scripts or the stream log. */
  stream: StreamCounters | undefined;
  /** Durable logs besides the outbox: the stream beside the memory store (the Redis store appends in its scripts). */
  logs: DurableLog[];
  close(): Promise<void>;
}

/**
 * DEDUP_STORE=memory: the engine (MemoryStore), and with DELIVERY_REDIS_STREAM a stream log the
 * intake appends to. DEDUP_STORE=redis: the Redis store, whose scripts append to the stream
 * themselves (in the decision without an outbox, at commit with one). A Redis that is not
 * reachable at start is no reason not to start: it is waited for briefly, then the daemon serves
 * (503s or local decisions) while the connection keeps trying.
 */
export async function openStores(config: Config, log: Logger, engine: DedupEngine, exporter: Pick<MetricsExporter, 'close'>, snapshotter: Snapshotter | null): Promise<Stores> {
  const stream = config.deliveryRedisStream;
  const waitMs = Math.max(1000, config.redisTimeoutMs);
  const logger = log.child({ component: 'store' });
  const unreachable = (err: unknown, what: string) =>
    log.warn(`redis not reachable at start; serving anyway, ${what}, and connecting in the background`, { err });
  try {
    if (config.dedupStore === 'redis') {
      const store: RedisStore = createRedisStore(config, {
        deliver: config.deliver,
        ...(stream !== undefined && { stream: { name: stream, maxLen: config.deliveryRedisMaxLen, deliver: config.deliver } }),
        logger: log,
      });
      const counters = store.stream === undefined ? undefined : new StreamCounters(store.stream.name, store.stream.partitions ?? 0);
      const redis = new RedisDedupStore({
        store,
        engine,
        failurePolicy: config.redisFailurePolicy,
        ...(counters !== undefined && { streamCounters: counters }),
        logIntervalMs: config.metricsIntervalSeconds * 1000,
        logger,
      });
      await redis.open(waitMs).catch((err: unknown) => unreachable(err, config.redisFailurePolicy === 'local' ? 'deciding locally until it is' : 'answering 503 until it is'));
      log.info('dedup store', {
        store: 'redis',
        redis: store.connection.description,
        keyPrefix: store.layout.prefix,
        failurePolicy: config.redisFailurePolicy,
        windowMs: store.windowMs,
        ...(store.stream !== undefined && { stream: store.layout.streamKeys().length > 1 ? `${store.stream.name}:{p0..p${store.stream.partitions! - 1}}` : store.stream.name }),
      });
      return { dedup: redis, redis, stream: counters, logs: [], close: () => redis.close() };
    }
    const dedup = new MemoryStore(engine);
    if (stream === undefined) return { dedup, redis: null, stream: undefined, logs: [], close: async () => undefined };
    const connection = redisConnectionFor(config, log);
    const streamLog = new RedisStreamLog({ connection, stream, maxLen: config.deliveryRedisMaxLen });
    await streamLog.open(waitMs).catch((err: unknown) => unreachable(err, 'answering 503 to events to deliver until it is'));
    log.info('dedup store', { store: 'memory', stream: streamLog.streamKeys().length > 1 ? `${stream}:{p0..p${streamLog.streamKeys().length - 1}}` : stream, redis: connection.description });
    return { dedup, redis: null, stream: streamLog.counters, logs: [streamLog], close: () => streamLog.close() };
  } catch (err) {
    await exporter.close({ timeoutMs: 1000 });
    await snapshotter?.close();
    throw new StartupError(`DEDUP_STORE=${config.dedupStore}: ${(err as Error).message}`);
  }
}

/** What /stats shows of delivery: the outbox's sinks and the Redis stream; undefined with neither. */
function deliveryReport(config: Config, delivery: Delivery | null, stream: StreamCounters | undefined, intake: Intake): DeliveryStats | undefined {
  if (delivery === null && stream === undefined) return undefined;
  const d = delivery?.stats();
  const sinks = { ...d?.sinks };
  if (stream !== undefined) {
    const c = stream.stats();
    // Appended before the 200 or not at all: nothing is queued, retried or dead-lettered here.
    sinks['redis-stream'] = { queuedRecords: 0, queuedBytes: 0, oldestUndeliveredAgeMs: 0, delivered: c.appended, retried: 0, deadLettered: 0, inFlight: c.inFlight, lastError: c.lastError, failures: c.failures };
  }
  return { deliver: config.deliver, ...(d !== undefined && { outbox: d.outbox }), rejectedForDurability: intake.stats().rejectedForDurability, sinks };
}

/** With a delivery sink configured: the outbox (recovered) and its dispatchers, not started; else null. */
async function openDelivery(config: Config, log: Logger, hooks: DaemonHooks, exporter: MetricsExporter, snapshotter: Snapshotter | null, stores: Stores): Promise<Delivery | null> {
  try {
    return await Delivery.open({ config, ...(hooks.onEvent !== undefined && { onEvent: hooks.onEvent }), logger: log });
  } catch (err) {
    await exporter.close({ timeoutMs: 1000 });
    await snapshotter?.close();
    await stores.close();
    if (err instanceof OutboxOpenError) throw new StartupError(`OUTBOX_DIR: ${err.message}`);
    throw err;
  }
}

/** What /stats, /metrics and /readyz answer. */
export type ServerAnswers = Pick<ServerOptions, 'stats' | 'metrics' | 'readiness'>;

/** What the HTTP server is wired to. */
export interface ServerParts {
  uws: UwsModule;
  secret: string;
  engine: DedupEngine;
  store: DedupStore;
  intake: Intake;
  observer: RequestObserver;
  /** /stats, /metrics and /readyz for the server (which tells its requests in flight). */
  answers: (server: WebhookServer) => ServerAnswers;
}

/** This process's own answers: its report, and ready unless the outbox is full. */
function ownAnswers(parts: { report: () => MetricsReport; delivery: Delivery | null; redis: RedisDedupStore | null; registration: WebhookRegistration }): (server: WebhookServer) => ServerAnswers {
  const { report, delivery, redis, registration } = parts;
  return (server) => ({
    stats: () => buildStatsDocument(report(), { inFlight: server.pending }),
    metrics: () => renderPrometheus(report()),
    // A full outbox answers 503 to every new event to deliver: take this replica out of rotation.
    readiness: () => ({
      ready: !(delivery?.full ?? false),
      registration: registration.status(),
      ...(delivery !== null && { outbox: delivery.full ? 'full' : 'ok' }),
      // Shown, not judged: every replica shares the Redis, and REDIS_FAILURE_POLICY says what happens without it.
      ...(redis !== null && { redis: redis.stats().redisReachable ? 'reachable' : 'unreachable' }),
    }),
  });
}

/** The signature verifier and the HTTP server in front of the engine, not listening yet. */
export function createServer(config: Config, log: Logger, parts: ServerParts): WebhookServer {
  const { uws, secret, engine, store, intake, observer, answers } = parts;
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
  const fastPath = nativeWebhookPath(config, log, { engine, store, intake, verifier, secret });

  const server: WebhookServer = new WebhookServer({
    uws,
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    verifier,
    ...(keyNeedsDeliveryId(config.dedupKeyFields) && { deliveryIdHeader: config.deliveryIdHeader }),
    stateToken: config.stateApiToken,
    ...(fastPath !== null && { fastPath }),
    sink: {
      process: (event, timestamp, body, request): ProcessOutcome | Promise<ProcessOutcome> => intake.accept(event, timestamp, body, request),
      getState: (id) => stateOf(store, id),
    },
    observer,
    logger: log.child({ component: 'http' }),
    // Late-bound: the answers read the server's requests in flight.
    stats: () => served.stats(),
    metrics: () => served.metrics(),
    readiness: () => served.readiness(),
  });
  const served = answers(server);
  return server;
}

/**
 * One native call per webhook (native-path.ts) where it applies: the embedded store, nothing to
 * make durable first, the native window and HMAC, a key of body fields. One log line says which
 * path webhooks take, and why not the native one.
 */
function nativeWebhookPath(
  config: Config,
  log: Logger,
  p: { engine: DedupEngine; store: DedupStore; intake: Intake; verifier: RequestVerifier; secret: string },
): NativeWebhookPath | null {
  let why: string;
  if (config.webhookFastPath === 'off') why = 'WEBHOOK_FAST_PATH=off';
  else if (p.store.kind !== 'memory') why = 'DEDUP_STORE=redis decides in Redis';
  else if (p.intake.durable) why = 'a delivery sink: events are made durable before they are recorded';
  else {
    const made = NativeWebhookPath.create({ engine: p.engine, verifier: p.verifier, secret: p.secret, messages: signatureMessages(p.verifier.scheme) });
    if (typeof made !== 'string') {
      log.info('webhook path', { path: 'native: one call verifies, parses and decides' });
      return made;
    }
    why = made;
  }
  log.info('webhook path', { path: 'portable: verify, JSON.parse, decide', why });
  return null;
}

/** GET /state from the store: synchronous from memory; from Redis a promise, 503 when it cannot answer. */
export function stateOf(store: DedupStore, id: string): unknown {
  const unavailable = (err: unknown) => {
    if (err instanceof StoreUnavailableError) return new StateUnavailable(`the state could not be read (${err.message}); retry later`, RETRY_AFTER_SECONDS);
    throw err;
  };
  try {
    const state = store.getState(id);
    return state instanceof Promise ? state.catch(unavailable) : state;
  } catch (err) {
    return unavailable(err);
  }
}

/** Binds PORT/HOST; on failure releases what was opened before (exporter, snapshot lock, Redis). */
async function listen(server: WebhookServer, exporter: MetricsExporter, snapshotter: Snapshotter | null, delivery: Delivery | null, stores: Stores): Promise<number> {
  try {
    return await server.listen();
  } catch (err) {
    await exporter.close({ timeoutMs: 1000 });
    await snapshotter?.close();
    await delivery?.stop(1000);
    await stores.close();
    throw new StartupError(`PORT/HOST: ${(err as Error).message}`);
  }
}

/** Timers and background work, once the server listens: compaction, snapshots, export, registration. */
function startBackground(engine: DedupEngine, snapshotter: Snapshotter | null, exporter: MetricsExporter, registration: WebhookRegistration, delivery: Delivery | null): void {
  engine.start();
  delivery?.start();
  snapshotter?.start();
  exporter.start();
  registration.start();
}
