/**
 * Delivery as the daemon runs it: one outbox (the durable buffer every accepted event to deliver
 * is written to before its 200), one dispatcher per buffered sink (the HTTP downstream, an
 * embedder's `onEvent`), one dead-letter file. Built from the configuration; absent when no sink
 * is configured (then nothing is buffered and nothing waits).
 */
import path from 'node:path';
import type { Logger } from '../log.js';
import { DeadLetterFile, defaultDeadLetterPath } from './dead-letter.js';
import { Dispatcher, type DispatcherStats } from './dispatcher.js';
import { dispatcherLimits, httpSinkFromConfig, type DeliverySettings } from './from-config.js';
import { InProcessSink, type OnEvent } from './in-process-sink.js';
import { Outbox } from './outbox.js';
import type { OutboxStats } from './options.js';
import type { DeliverySink } from './sink.js';
import type { DeliverMode, DurableLog } from './types.js';

/** What /stats, /metrics and InfluxDB show of delivery. */
export interface DeliveryStats {
  deliver: 'processed' | 'updates';
  /** Absent when no buffered sink is configured (only the Redis stream, which is appended to before the 200). */
  outbox?: {
    dir: string;
    full: boolean;
    bytesOnDisk: number;
    maxBytes: number;
    segments: number;
    /** Group commits (one write + one fdatasync each). */
    commits: number;
    appends: number;
    commitLatencyMs: { last: number; max: number; mean: number };
    batchRecordsMean: number;
  };
  /** Webhooks answered 503 because their event could not be made durable. */
  rejectedForDurability: number;
  sinks: Record<string, SinkDeliveryStats>;
}

export interface SinkDeliveryStats {
  /** Accepted and not yet delivered (or dead-lettered). */
  queuedRecords: number;
  queuedBytes: number;
  /** Age of the oldest undelivered record, ms: the delivery lag. */
  oldestUndeliveredAgeMs: number;
  delivered: number;
  retried: number;
  deadLettered: number;
  inFlight: number;
  lastError: string | null;
  /** The Redis stream only: appends that failed (each a 503). */
  failures?: number;
}

/** The delivery settings (config.ts's names: a Config is one). */
export interface DeliveryConfig extends DeliverySettings {
  deliver: DeliverMode;
  outboxDir: string | undefined;
  outboxMaxBytes: number;
  deliveryDeadLetterPath: string | undefined;
}

export interface DeliveryOptions {
  config: DeliveryConfig;
  /** An embedder's in-process sink (startDaemon's `onEvent`). */
  onEvent?: OnEvent;
  logger: Logger;
}

/** The outbox directory when OUTBOX_DIR is unset: under the working directory. */
export const DEFAULT_OUTBOX_DIR = 'cxone-dedup-outbox';

export class Delivery {
  readonly outbox: Outbox;
  readonly #dispatchers: Dispatcher[];
  readonly #deadLetters: DeadLetterFile;
  readonly #deliver: 'processed' | 'updates';
  #rejectedForDurability: () => number = () => 0;

  private constructor(outbox: Outbox, dispatchers: Dispatcher[], deadLetters: DeadLetterFile, deliver: 'processed' | 'updates') {
    this.outbox = outbox;
    this.#dispatchers = dispatchers;
    this.#deadLetters = deadLetters;
    this.#deliver = deliver;
  }

  /**
   * Opens the outbox (recovering what a previous run left) and builds the dispatchers, not started.
   * Null when no buffered sink is configured. Throws OutboxOpenError (locked, unusable directory).
   */
  static async open(options: DeliveryOptions): Promise<Delivery | null> {
    const { config, logger } = options;
    const sinks: DeliverySink[] = [];
    const http = httpSinkFromConfig(config);
    if (http !== undefined) sinks.push(http);
    if (options.onEvent !== undefined) sinks.push(new InProcessSink({ onEvent: options.onEvent, timeoutMs: config.deliveryTimeoutMs }));
    if (sinks.length === 0) return null;

    const dir = path.resolve(config.outboxDir ?? DEFAULT_OUTBOX_DIR);
    const outbox = await Outbox.open({
      dir,
      sinks: sinks.map((s) => s.name),
      maxBytes: config.outboxMaxBytes,
      logger: logger.child({ component: 'outbox' }),
    });
    const deadLetters = new DeadLetterFile(path.resolve(config.deliveryDeadLetterPath ?? defaultDeadLetterPath(dir)));
    const dispatchers = sinks.map(
      (sink) =>
        new Dispatcher({
          source: outbox,
          sink,
          deadLetters,
          ...dispatcherLimits(config),
          logger: logger.child({ component: 'delivery', sink: sink.name }),
        }),
    );
    logger.info('delivery', {
      deliver: config.deliver,
      outboxDir: dir,
      deadLetterFile: deadLetters.path,
      sinks: sinks.map((s) => s.name),
      recovered: outbox.stats().recordsOnDisk,
    });
    return new Delivery(outbox, dispatchers, deadLetters, config.deliver);
  }

  /** What the intake writes accepted events to before answering. */
  get logs(): DurableLog[] {
    return [{ name: 'outbox', append: (r) => this.outbox.append(r) }];
  }

  /** Appends are refused for lack of room (OUTBOX_MAX_BYTES): not ready. */
  get full(): boolean {
    return this.outbox.stats().full;
  }

  /** Where the 503 count comes from (the intake counts them). */
  countRejectionsWith(read: () => number): void {
    this.#rejectedForDurability = read;
  }

  start(): void {
    for (const d of this.#dispatchers) d.start();
  }

  /**
   * Stops the dispatchers (in-flight deliveries get until the deadline; the rest stay in the
   * outbox for the next start), then flushes and closes the outbox and the dead-letter file.
   */
  async stop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(this.#dispatchers.map((d) => d.stop({ timeoutMs: Math.max(0, deadline - Date.now()) })));
    await this.outbox.close({ timeoutMs: Math.max(100, deadline - Date.now()) });
    await this.#deadLetters.close();
  }

  stats(): DeliveryStats {
    const o: OutboxStats = this.outbox.stats();
    const sinks: Record<string, SinkDeliveryStats> = {};
    for (const d of this.#dispatchers) {
      const ds: DispatcherStats = d.stats();
      const q = o.sinks[ds.sink];
      sinks[ds.sink] = {
        queuedRecords: q?.queuedRecords ?? 0,
        queuedBytes: q?.queuedBytes ?? 0,
        oldestUndeliveredAgeMs: q?.oldestUnackedAgeMs ?? 0,
        delivered: ds.delivered,
        retried: ds.retried,
        deadLettered: ds.deadLettered,
        inFlight: ds.inFlight,
        lastError: ds.lastError?.message ?? null,
      };
    }
    return {
      deliver: this.#deliver,
      outbox: {
        dir: o.dir,
        full: o.full,
        bytesOnDisk: o.bytesOnDisk,
        maxBytes: o.maxBytes,
        segments: o.segments,
        commits: o.commits,
        appends: o.appends,
        commitLatencyMs: { ...o.commitLatencyMs },
        batchRecordsMean: o.batchRecords.mean,
      },
      rejectedForDurability: this.#rejectedForDurability(),
      sinks,
    };
  }
}
