/**
 * Streams the daemon's metrics to InfluxDB (2.x, 3.x, Cloud, or 1.8+ through /api/v2/write) without
 * ever touching the request path: producing a point is a synchronous O(1) append to a bounded
 * buffer; the HTTP happens later on timers.
 *
 * Why the buffer and retries are ours and not the client's (read in its WriteApiImpl/RetryBuffer):
 * - it never retries a 4xx below 429, so a 401 (token rotated) or 404 (bucket not created yet)
 *   silently loses every point of the outage;
 * - it gives up after `maxRetries` (5) or `maxRetryTime` (180 s), so a longer outage loses points;
 * - past `maxBufferLines` it drops 30 % of the retry buffer at once, not just the excess;
 * - its flush timer keeps firing one new request per interval during an outage, and errors of
 *   flushes it triggers itself are swallowed.
 * So the WriteApi is used with `maxRetries: 0` and no timer of its own, and with a `writeFailed`
 * hook that hands every failure back to us: each batch we send is one WriteApi flush whose outcome
 * we see. We keep every line until it is acknowledged, retry any failure (network, timeout, 401,
 * 403, 404, 429, 5xx) with capped exponential back-off for as long as it takes, and only drop (and
 * count) the oldest lines when more than `maxBufferLines` are waiting. A 400/422 (malformed line or
 * field-type conflict) or a 413 for a single line can never succeed: those lines are counted as
 * rejected and not retried. The client still does the HTTP, auth header, gzip and timeouts.
 */
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { HttpError, InfluxDB, RequestTimedOutError, setLogger, type Point, type WriteApi } from '@influxdata/influxdb-client';
import { Backoff, parseRetryAfter, sleep } from '../backoff.js';
import type { CompactionRecord } from '../dedup/stats.js';
import type { Logger, LogFields } from '../log.js';
import { ExporterCounters, disabledExporterStatus, type ExporterStatus } from './counters.js';
import { compactionPoint, intervalPoint, type PointTags } from './influx-points.js';
import { LineQueue } from './line-queue.js';
import type { MetricsReading } from './reading.js';

export interface InfluxRetryOptions {
  /** First delay after a failure, ms (default 1000). */
  minDelayMs?: number;
  /** Cap of the delay, ms (default 30 000); also caps a server's Retry-After. */
  maxDelayMs?: number;
  /** Growth factor per consecutive failure (default 2). */
  exponentialBase?: number;
  /** Random extra delay up to this many ms (default 250). */
  jitterMs?: number;
}

export interface InfluxExporterOptions {
  /** Base URL, e.g. `https://eu-central-1-1.aws.cloud2.influxdata.com` or `http://influx:8086`. No credentials in it. */
  url: string;
  /** API token (2.x/3.x/Cloud) or `username:password` (1.8+). Never logged. */
  token?: string;
  /** Organisation name; any value (even empty) for InfluxDB 1.8. Default ''. */
  org?: string;
  /** Bucket, or `database/retention-policy` for InfluxDB 1.8. */
  bucket: string;
  /** Tag `environment` (default 'production'). */
  environment?: string;
  /** Tag `host` (default os.hostname()). */
  host?: string;
  /** Seconds between interval points (default 10; fractions allowed). */
  intervalSeconds?: number;
  /** Max lines per write request (default 1000). */
  batchSize?: number;
  /** How long a new line may wait for companions before a request goes out, ms (default 1000). */
  flushIntervalMs?: number;
  /** Max lines waiting for delivery, in flight included (default 10 000 ≈ 28 h of interval points at 10 s). */
  maxBufferLines?: number;
  /** Max bytes per request body before gzip (default 1 MiB). */
  maxBatchBytes?: number;
  timeouts?: {
    /** Socket inactivity timeout of one write request, ms (default 10 000). */
    requestMs?: number;
    /** Default budget of close(), ms (default 5000). */
    closeMs?: number;
  };
  retry?: InfluxRetryOptions;
  /** Bodies larger than this many bytes are gzipped (default 1000). */
  gzipThreshold?: number;
  /** InfluxDB Enterprise 1.x write consistency. */
  consistency?: 'any' | 'one' | 'quorum' | 'all';
  logger: Logger;
  /** Sampled once per interval. */
  getStats: () => MetricsReading;
}

/** What the daemon holds: the real exporter or a disabled one, used alike. */
export interface MetricsExporter {
  readonly enabled: boolean;
  /** Starts the interval timer (idempotent). */
  start(): void;
  /** Samples getStats() now and queues one interval point. Synchronous, never throws. */
  writeReading(at?: Date): void;
  /** Queues one point for this compaction. Synchronous, never throws. */
  onCompaction(record: CompactionRecord): void;
  /** Sends what is buffered now; true when the buffer is empty at the end. Never rejects. */
  flush(options?: { timeoutMs?: number }): Promise<boolean>;
  /** Writes a last interval point (if started), delivers what it can within the budget, releases everything. Never rejects, never exceeds the budget by more than a timer tick. */
  close(options?: { timeoutMs?: number }): Promise<void>;
  status(): ExporterStatus;
}

const MAX_ERROR_MESSAGE = 300;

/** Fails on values that would make the exporter misbehave later, with a message naming the option. */
function positive(name: string, value: number, limits: { integer?: boolean; min?: number; max?: number } = {}): number {
  const integer = limits.integer ?? false;
  const min = limits.min ?? (integer ? 1 : Number.MIN_VALUE);
  const max = limits.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new Error(`InfluxDB exporter: ${name} must be ${integer ? 'an integer' : 'a number'} in ${min}…${max}, got ${String(value)}`);
  }
  return value;
}

function parseBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('InfluxDB exporter: url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`InfluxDB exporter: url must be http(s), got ${url.protocol}`);
  if (url.username || url.password) throw new Error('InfluxDB exporter: put credentials in the token, not in the url');
  if (url.search || url.hash) throw new Error('InfluxDB exporter: url must not have a query string or fragment');
  return url;
}

// The client logs through one process-wide logger; route it to the most recent live exporter.
let clientLogTarget: Logger | undefined;
let clientLoggerInstalled = false;
function routeClientLogs(logger: Logger | undefined): void {
  clientLogTarget = logger;
  if (clientLoggerInstalled) return;
  clientLoggerInstalled = true;
  const forward = (message: string, err: unknown) => {
    // Client messages carry no token; errors are reduced to a short message anyway.
    const fields: LogFields | undefined = err ? { error: String((err as Error)?.message ?? err).slice(0, MAX_ERROR_MESSAGE) } : undefined;
    clientLogTarget?.warn(`influxdb client: ${message}`, fields);
  };
  setLogger({ error: forward, warn: forward });
}

/** Resolves to `'timeout'` if `p` has not settled within `ms`; clears its timer either way. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class WatchdogTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'WatchdogTimeout';
  }
}

export class InfluxExporter implements MetricsExporter {
  readonly enabled = true;
  private readonly log: Logger;
  private readonly getStats: () => MetricsReading;
  private readonly tags: PointTags;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxBatchBytes: number;
  private readonly requestMs: number;
  private readonly closeMs: number;
  private readonly retry: Required<InfluxRetryOptions>;
  /** Delays between failed writes; reset by a success. */
  private readonly backoff: Backoff;
  private readonly target: string;
  private readonly token: string;
  private readonly agent: http.Agent;
  private readonly writeApi: WriteApi;
  private readonly queue: LineQueue;
  private readonly counters = new ExporterCounters();

  private effectiveBatchSize: number;
  private intervalTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  private disposed = false;
  // Log rate limiting: drops, rejections and persistent failures are summarised at most once per interval.
  private dropsSinceLog = 0;
  private rejectedSinceLog = 0;
  private lastFailureLogAt = -Infinity;
  private lastReadingErrorLogAt = -Infinity;

  constructor(options: InfluxExporterOptions) {
    const url = parseBaseUrl(options.url);
    if (typeof options.bucket !== 'string' || options.bucket.trim() === '') throw new Error('InfluxDB exporter: bucket is required');
    if (typeof options.getStats !== 'function') throw new Error('InfluxDB exporter: getStats must be a function');
    const org = options.org ?? '';
    this.log = options.logger.child({ component: 'influx' });
    this.getStats = options.getStats;
    this.tags = { environment: options.environment || 'production', host: options.host || os.hostname() };
    this.intervalMs = positive('intervalSeconds', options.intervalSeconds ?? 10, { min: 0.01, max: 86_400 }) * 1000;
    this.batchSize = positive('batchSize', options.batchSize ?? 1000, { integer: true, max: 100_000 });
    this.effectiveBatchSize = this.batchSize;
    this.flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs ?? 1000, { integer: true, min: 0, max: 3_600_000 });
    this.maxBatchBytes = positive('maxBatchBytes', options.maxBatchBytes ?? 1024 * 1024, { integer: true, min: 1024 });
    const maxBufferLines = positive('maxBufferLines', options.maxBufferLines ?? 10_000, { integer: true, max: 10_000_000 });
    this.requestMs = positive('timeouts.requestMs', options.timeouts?.requestMs ?? 10_000, { integer: true, max: 600_000 });
    this.closeMs = positive('timeouts.closeMs', options.timeouts?.closeMs ?? 5000, { integer: true, min: 0, max: 600_000 });
    const minDelayMs = positive('retry.minDelayMs', options.retry?.minDelayMs ?? 1000, { integer: true, max: 3_600_000 });
    this.retry = {
      minDelayMs,
      maxDelayMs: Math.max(minDelayMs, positive('retry.maxDelayMs', options.retry?.maxDelayMs ?? 30_000, { integer: true, max: 3_600_000 })),
      exponentialBase: positive('retry.exponentialBase', options.retry?.exponentialBase ?? 2, { min: 1, max: 10 }),
      jitterMs: positive('retry.jitterMs', options.retry?.jitterMs ?? 250, { integer: true, min: 0, max: 60_000 }),
    };
    const { maxDelayMs, exponentialBase, jitterMs } = this.retry;
    // A server's Retry-After is honoured up to the cap, like our own delays.
    this.backoff = new Backoff({ baseMs: minDelayMs, capMs: maxDelayMs, factor: exponentialBase, jitter: 'added', jitterMs, maxRetryAfterMs: maxDelayMs });
    this.token = options.token ?? '';
    this.target = `${url.origin}${url.pathname === '/' ? '' : url.pathname} org=${org} bucket=${options.bucket}`;
    this.queue = new LineQueue(maxBufferLines);

    routeClientLogs(this.log); // before the client is built: its constructor may already warn

    // Our own agent: on a timeout or at close we destroy its sockets, so a hung server keeps nothing open.
    this.agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 4 }) : new http.Agent({ keepAlive: true, maxSockets: 4 });
    const influx = new InfluxDB({ url: options.url, token: this.token, timeout: this.requestMs, transportOptions: { agent: this.agent } });
    this.writeApi = influx.getWriteApi(org, options.bucket, 'ms', {
      // One batch = one explicit flush: the client must never flush on its own.
      batchSize: this.batchSize + 1,
      maxBatchBytes: Number.MAX_SAFE_INTEGER,
      flushInterval: 0,
      maxRetries: 0,
      gzipThreshold: positive('gzipThreshold', options.gzipThreshold ?? 1000, { integer: true, min: 0 }),
      ...(options.consistency ? { consistency: options.consistency } : {}),
      writeFailed(error: Error): Promise<void> | void {
        // Enterprise 1.x answers this when the write did land: let the client treat it as success.
        if (error instanceof HttpError && typeof error.json?.error === 'string' && error.json.error.includes('hinted handoff queue not empty')) return undefined;
        return Promise.reject(error); // ours to retry; also keeps the client from logging it
      },
    });
  }

  // ── producing side: synchronous, O(1) ──────────────────────────────────────────────────────────

  start(): void {
    if (this.started || this.closing) return;
    this.started = true;
    this.intervalTimer = setInterval(() => this.tick(), this.intervalMs);
    this.intervalTimer.unref();
  }

  private tick(): void {
    this.writeReading();
    this.reportDrops();
  }

  writeReading(at: Date = new Date()): void {
    if (this.closing) return;
    let reading: MetricsReading;
    try {
      reading = this.getStats();
    } catch (err) {
      const now = Date.now();
      if (now - this.lastReadingErrorLogAt >= this.intervalMs) {
        this.lastReadingErrorLogAt = now;
        this.log.error('could not sample stats for InfluxDB; point skipped', { error: err });
      }
      return;
    }
    this.enqueue(() => intervalPoint(reading, this.tags, at, { pointsDropped: this.counters.pointsDropped }));
  }

  onCompaction(record: CompactionRecord): void {
    if (this.closing) return;
    if (!record || !(record.timestamp instanceof Date) || !Number.isFinite(record.timestamp.getTime())) {
      this.log.warn('ignored a compaction record without a valid timestamp');
      return;
    }
    this.enqueue(() => compactionPoint(record, this.tags));
  }

  private enqueue(build: () => Point): void {
    let line: string | undefined;
    try {
      line = build().toLineProtocol(this.writeApi);
    } catch (err) {
      this.log.error('could not build an InfluxDB point; skipped', { error: err });
      return;
    }
    if (!line) return;
    const dropped = this.queue.push(line);
    if (dropped > 0) {
      this.counters.pointsDropped += dropped;
      this.dropsSinceLog += dropped;
    }
    this.scheduleSend();
  }

  // ── sending side: timers, one request at a time ───────────────────────────────────────────────

  private scheduleSend(): void {
    if (this.closing || this.sending || this.backoffTimer || this.queue.queued === 0) return;
    if (this.queue.queued >= this.effectiveBatchSize) {
      // A full batch goes out at once, but never on the caller's stack.
      this.clearFlushTimer();
      this.flushTimer = setTimeout(() => this.kick(), 0);
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.kick(), this.flushIntervalMs);
    }
    this.flushTimer.unref();
  }

  private kick(): void {
    this.flushTimer = undefined;
    void this.drain();
  }

  private clearFlushTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private clearBackoffTimer(): void {
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
  }

  /** Sends batches back to back until the queue is empty or one fails; single flight. */
  private drain(): Promise<void> {
    if (this.sending) return this.sending;
    this.sending = (async () => {
      let failure: unknown;
      while (!this.disposed && this.queue.queued > 0) {
        failure = await this.sendOne();
        if (failure !== undefined) break;
      }
      this.sending = undefined;
      if (failure !== undefined && !this.closing && !this.disposed) this.scheduleRetry(failure);
      else this.scheduleSend();
    })();
    return this.sending;
  }

  /** One request. Resolves to undefined on progress, or to the error when the batch must be retried. */
  private async sendOne(): Promise<unknown> {
    const batch = this.queue.take(this.effectiveBatchSize, this.maxBatchBytes);
    if (batch.length === 0) return undefined;
    let error: unknown;
    try {
      this.writeApi.writeRecords(batch);
      const outcome = await within(this.writeApi.flush(), this.requestMs + 2000);
      if (outcome === 'timeout') throw new WatchdogTimeout(this.requestMs + 2000);
    } catch (err) {
      error = err;
    }
    if (this.disposed) return undefined; // close() already accounted for this batch
    const now = new Date();
    if (error === undefined) {
      this.queue.settle();
      const wasFailing = this.counters.consecutiveFailures;
      this.counters.recordSuccess(batch.length, now);
      this.backoff.reset();
      if (wasFailing > 0) {
        this.log.info('InfluxDB writes recovered', { failedAttempts: wasFailing, buffered: this.queue.total });
        this.lastFailureLogAt = -Infinity;
      }
      return undefined;
    }

    const status = error instanceof HttpError ? error.statusCode : undefined;
    const message = this.describe(error);
    this.counters.recordFailure(message, status, now);
    if (error instanceof RequestTimedOutError || error instanceof WatchdogTimeout) {
      this.agent.destroy(); // free the hung socket; the agent opens new ones on demand
    }
    if (status === 413 && batch.length > 1) {
      this.queue.restore(batch);
      this.effectiveBatchSize = Math.max(1, Math.floor(batch.length / 2));
      this.log.warn('InfluxDB said the request was too large; halving the batch', { batchSize: this.effectiveBatchSize });
      return undefined;
    }
    if (status === 400 || status === 413 || status === 422) {
      // The server will never take these lines: retrying would block everything behind them.
      this.queue.settle();
      this.counters.pointsRejected += batch.length;
      this.rejectedSinceLog += batch.length;
      if (Date.now() - this.lastFailureLogAt >= this.intervalMs) {
        this.lastFailureLogAt = Date.now();
        this.log.error('InfluxDB rejected points for good; they are not retried', { statusCode: status, error: message, rejected: this.rejectedSinceLog });
        this.rejectedSinceLog = 0;
      }
      return undefined;
    }
    this.queue.restore(batch);
    if (this.counters.consecutiveFailures === 1 || Date.now() - this.lastFailureLogAt >= this.intervalMs) {
      this.lastFailureLogAt = Date.now();
      this.log.warn(
        this.counters.consecutiveFailures === 1 ? 'InfluxDB write failed; points are kept and retried' : 'InfluxDB writes still failing; points are kept and retried',
        { error: message, ...(status === undefined ? {} : { statusCode: status }), failedAttempts: this.counters.consecutiveFailures, buffered: this.queue.total },
      );
    }
    return error;
  }

  private retryDelayMs(error: unknown): number {
    const header = error instanceof HttpError ? error.headers?.['retry-after'] : undefined;
    const retryAfterMs = typeof header === 'string' ? parseRetryAfter(header, Date.now(), this.retry.maxDelayMs) : undefined;
    return this.backoff.next(retryAfterMs);
  }

  private scheduleRetry(error: unknown): void {
    this.clearFlushTimer();
    this.clearBackoffTimer();
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      void this.drain();
    }, this.retryDelayMs(error));
    this.backoffTimer.unref();
  }

  /** A short, secret-free description of a write error. */
  private describe(error: unknown): string {
    let text: string;
    if (error instanceof HttpError) text = `HTTP ${error.statusCode}: ${error.message || error.statusMessage || ''}`;
    else if (error instanceof Error) {
      const code = (error as NodeJS.ErrnoException).code;
      text = code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message || error.name;
    } else text = String(error);
    if (this.token.length >= 4) text = text.split(this.token).join('[redacted]');
    text = text.replace(/\/\/[^/@\s]*:[^/@\s]*@/g, '//[redacted]@');
    return text.length > MAX_ERROR_MESSAGE ? `${text.slice(0, MAX_ERROR_MESSAGE)}…` : text;
  }

  private reportDrops(): void {
    if (this.dropsSinceLog === 0) return;
    this.log.warn('InfluxDB export buffer full: dropped the oldest points', {
      dropped: this.dropsSinceLog,
      droppedTotal: this.counters.pointsDropped,
      maxBufferLines: this.queue.capacity,
    });
    this.dropsSinceLog = 0;
  }

  // ── shutdown ───────────────────────────────────────────────────────────────────────────────────

  async flush(options: { timeoutMs?: number } = {}): Promise<boolean> {
    if (this.disposed) return this.queue.total === 0;
    const timeoutMs = options.timeoutMs ?? this.closeMs;
    this.clearFlushTimer();
    this.clearBackoffTimer();
    await within(this.drain(), timeoutMs);
    return this.queue.total === 0;
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return this.closing;
    const timeoutMs = Math.max(0, options.timeoutMs ?? this.closeMs);
    const deadline = Date.now() + timeoutMs;
    if (this.started) this.writeReading(); // the final totals
    this.closing = (async () => {
      if (this.intervalTimer) clearInterval(this.intervalTimer);
      this.intervalTimer = undefined;
      this.clearFlushTimer();
      this.clearBackoffTimer();
      while (this.queue.total > 0 && Date.now() < deadline) {
        if ((await within(this.drain(), deadline - Date.now())) === 'timeout') break;
        if (this.queue.total > 0) await sleep(Math.min(this.retry.minDelayMs, deadline - Date.now()));
      }
      this.disposed = true;
      const lost = this.queue.total;
      this.queue.clear();
      this.queue.settle();
      if (lost > 0) {
        this.counters.pointsDropped += lost;
        this.dropsSinceLog += lost;
        this.log.warn('InfluxDB exporter closed with undelivered points', { undelivered: lost, timeoutMs });
      }
      this.reportDrops();
      this.writeApi.dispose();
      this.agent.destroy();
      if (clientLogTarget === this.log) clientLogTarget = undefined;
    })();
    return this.closing;
  }

  status(): ExporterStatus {
    const c = this.counters;
    return {
      enabled: true,
      target: this.target,
      pointsWritten: c.pointsWritten,
      pointsDropped: c.pointsDropped,
      pointsRejected: c.pointsRejected,
      pointsBuffered: this.queue.total,
      maxBufferLines: this.queue.capacity,
      writeFailures: c.writeFailures,
      consecutiveFailures: c.consecutiveFailures,
      lastError: c.lastError ? { ...c.lastError } : null,
      lastSuccessAt: c.lastSuccessAt,
    };
  }
}

/** Stands in when no InfluxDB URL is configured: every call is a cheap no-op. */
export class DisabledExporter implements MetricsExporter {
  readonly enabled = false;
  start(): void {}
  writeReading(_at?: Date): void {}
  onCompaction(_record: CompactionRecord): void {}
  async flush(_options?: { timeoutMs?: number }): Promise<boolean> {
    return true;
  }
  async close(_options?: { timeoutMs?: number }): Promise<void> {}
  status(): ExporterStatus {
    return disabledExporterStatus();
  }
}

export type MetricsExportConfig = Omit<InfluxExporterOptions, 'url' | 'logger'> & { url?: string | null };

/**
 * The exporter the daemon should use: disabled (with one log line saying so) when no URL is set,
 * otherwise an InfluxExporter. Throws a clear Error on invalid settings.
 */
export function createMetricsExporter(config: MetricsExportConfig, logger: Logger): MetricsExporter {
  if (!config.url) {
    logger.info('InfluxDB metrics export is off (no InfluxDB URL configured)', { component: 'influx' });
    return new DisabledExporter();
  }
  return new InfluxExporter({ ...config, url: config.url, logger });
}
