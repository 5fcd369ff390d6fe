/**
 * `cxone-dedup` for embedders: run the daemon inside your own Node program and receive its
 * unique events in process, with the same at-least-once delivery (from the same durable outbox)
 * as the HTTP sink.
 *
 * @example
 * ```ts
 * import { loadConfig, startDaemon } from 'cxone-dedup';
 *
 * const daemon = await startDaemon({
 *   config: loadConfig(process.env),
 *   onEvent: async (event, meta) => {
 *     await heavyProcessing(event);          // resolve: delivered; reject: retried later
 *   },
 * });
 * process.once('SIGTERM', () => daemon.stop('SIGTERM'));
 * ```
 */
import type { Config } from './config.js';
import { Daemon } from './daemon.js';
import type { OnEvent } from './delivery/in-process-sink.js';
import { createLogger, type Logger } from './log.js';
import { ThreadedDaemon } from './workers/threaded-daemon.js';

export { ConfigError, defaultConfig, loadConfig, type Config } from './config.js';
export { Daemon, StartupError } from './daemon.js';
export { ThreadedDaemon } from './workers/threaded-daemon.js';
export { DedupEngine, InvalidEventError, type DataActionEvent, type Decision, type DedupEngineOptions, type ProcessResult, type UnconfirmedPolicy } from './dedup/engine.js';
export type { KeyField } from './dedup/key.js';
export type { ParsedTimestamp } from './dedup/timestamp.js';
export type { EngineStats } from './dedup/stats.js';
export { PermanentDeliveryError, type DeliveryMeta, type OnEvent } from './delivery/in-process-sink.js';
export type { DeliverMode, DeliveryRecord } from './delivery/types.js';
export { createLogger, silentLogger, type Logger, type LogLevel } from './log.js';

export interface StartDaemonOptions {
  /** Settings, e.g. `loadConfig(process.env)`; every field is validated there. */
  config: Config;
  /**
   * Receives every event to deliver (DELIVER=processed|updates) at least once, in acceptance order
   * per interaction. `event` is the parsed body; `meta.id` is the stable delivery id to drop
   * repeats by. Resolve when it is handled; reject to have it retried (with backoff), or reject
   * with a PermanentDeliveryError to dead-letter it.
   */
  onEvent?: OnEvent;
  /** Default: JSON lines on stderr at `config.logLevel`. */
  logger?: Logger;
}

/**
 * Starts the daemon (HTTP server, dedup, delivery, metrics) and resolves once it listens. Stop it
 * with `daemon.stop(reason)`: it drains requests, flushes the outbox and lets deliveries finish
 * within SHUTDOWN_TIMEOUT_SECONDS. Signals are left to the embedding program. With WORKERS > 1
 * the HTTP servers run in worker threads and `onEvent` on the calling thread (ThreadedDaemon).
 */
export function startDaemon(options: StartDaemonOptions): Promise<Daemon | ThreadedDaemon> {
  if (typeof options !== 'object' || options === null) throw new TypeError('startDaemon: options are required');
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new TypeError('startDaemon: onEvent must be a function');
  const logger = options.logger ?? createLogger({ level: options.config.logLevel });
  const hooks = options.onEvent === undefined ? {} : { onEvent: options.onEvent };
  return options.config.workers > 1 ? ThreadedDaemon.start(options.config, logger, hooks) : Daemon.start(options.config, logger, hooks);
}
