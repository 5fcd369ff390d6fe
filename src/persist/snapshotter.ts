/**
 * Writes the engine's memory (both Bloom generations and the state cache) to SNAPSHOT_PATH every
 * interval and once more at shutdown, one snapshot at a time.
 *
 * A snapshot is one consistent picture: `captureState()` runs synchronously, copying the filters
 * and collecting references to the cached states (immutable event objects) with their seen keys
 * into columns; everything expensive (building records, stringifying, hashing, writing) happens
 * afterwards in slices, with async writes in between, so requests keep being served. The longest
 * event-loop delay seen while a snapshot is taken is measured (perf_hooks.monitorEventLoopDelay)
 * and reported in `status()`.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { CapturedState } from '../dedup/state.js';
import type { EngineStats } from '../dedup/stats.js';
import type { Logger } from '../log.js';
import { writeFileAtomically, type AtomicWriteOptions } from './atomic-file.js';
import { snapshotChunks, type SerializeOptions } from './serialize.js';
import { SNAPSHOTS_DISABLED, type SnapshotReason, type SnapshotRecord, type SnapshotStatus } from './status.js';

/** What the snapshotter reads from the dedup engine. */
export interface SnapshotSource {
  captureState(): CapturedState;
  stats(): EngineStats;
}

export type SnapshotResult =
  | ({ status: 'written' } & SnapshotRecord)
  | { status: 'unchanged' }
  | { status: 'busy' }
  | { status: 'failed'; error: Error };

export interface SnapshotterOptions {
  path: string;
  intervalSeconds: number;
  engine: SnapshotSource;
  logger: Logger;
  /** Wall clock in ms; default Date.now. */
  now?: () => number;
  serialize?: SerializeOptions;
  /** Test hook, passed to the atomic writer. */
  onTempFile?: AtomicWriteOptions['onTempFile'];
  /** Released once the final snapshot is done (see lock.ts). */
  lock?: { release(): Promise<void> };
}

/** Changes whenever the engine's memory may have: an event was handled or a generation retired. */
function changeMark(s: EngineStats): string {
  return `${s.eventsProcessed}/${s.eventsDeduplicated}/${s.compactions}`;
}

export class Snapshotter {
  readonly path: string;
  readonly intervalSeconds: number;
  readonly #engine: SnapshotSource;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #serialize: SerializeOptions | undefined;
  readonly #onTempFile: SnapshotterOptions['onTempFile'];
  readonly #lock: SnapshotterOptions['lock'];
  readonly #delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  #running: Promise<SnapshotResult> | null = null;
  /** Cancels the write in progress (a periodic one caught by the shutdown deadline). */
  #cancel: AbortController | null = null;
  #timer: NodeJS.Timeout | undefined;
  #mark: string | null = null;
  #status: SnapshotStatus;

  constructor(options: SnapshotterOptions) {
    this.path = options.path;
    this.intervalSeconds = options.intervalSeconds;
    this.#engine = options.engine;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#serialize = options.serialize;
    this.#onTempFile = options.onTempFile;
    this.#lock = options.lock;
    this.#status = { ...SNAPSHOTS_DISABLED, enabled: true, path: options.path, intervalSeconds: options.intervalSeconds };
  }

  /** Records what was restored; the engine now equals the file, so an idle daemon need not rewrite it. */
  restored(info: { interactions: number; bytes: number; createdAtMs: number }): void {
    this.#status.restored = { interactions: info.interactions, bytes: info.bytes, createdAt: new Date(info.createdAtMs).toISOString() };
    this.#mark = changeMark(this.#engine.stats());
  }

  status(): SnapshotStatus {
    const s = this.#status;
    return { ...s, inProgress: this.#running !== null, restored: s.restored && { ...s.restored }, last: s.last && { ...s.last }, lastError: s.lastError && { ...s.lastError } };
  }

  /** Starts the periodic timer (unref'd: it never keeps the process alive). Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#running !== null) {
        this.#status.skippedBusy++;
        this.#log.debug('snapshot still being written; this interval is skipped');
        return;
      }
      void this.write('interval');
    }, this.intervalSeconds * 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Takes a snapshot unless one is being written (→ 'busy') or nothing changed since the last one
   * (→ 'unchanged'; 'manual' always writes). Never rejects: failures are logged and reported.
   */
  write(reason: SnapshotReason, signal?: AbortSignal): Promise<SnapshotResult> {
    if (this.#running !== null) return Promise.resolve({ status: 'busy' });
    const cancel = new AbortController();
    const run = this.#write(reason, signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal).finally(() => {
      this.#running = null;
      this.#cancel = null;
    });
    this.#running = run;
    this.#cancel = cancel;
    return run;
  }

  /**
   * The shutdown snapshot: stops the timer, lets a snapshot under way finish, then writes the
   * final state, all within `timeoutMs` (past it, the write is abandoned and its temporary file
   * removed; the previous snapshot stays). Resolves true when the file on disk is current.
   */
  async final(timeoutMs: number): Promise<boolean> {
    try {
      return await this.#final(timeoutMs);
    } finally {
      await this.#lock?.release();
    }
  }

  /** Stops without a final snapshot and releases the file (a start that failed after opening it). */
  async close(): Promise<void> {
    this.stop();
    await this.#lock?.release();
  }

  async #final(timeoutMs: number): Promise<boolean> {
    this.stop();
    const signal = AbortSignal.timeout(Math.max(1, timeoutMs));
    const timedOut = new Promise<'timeout'>((resolve) => signal.addEventListener('abort', () => resolve('timeout'), { once: true }));
    if (this.#running !== null && (await Promise.race([this.#running, timedOut])) === 'timeout') {
      // Abandon the periodic write; it removes its temporary file at its next step (if the
      // process exits first, the next start removes it).
      this.#cancel?.abort(new Error('shutdown timeout'));
      await Promise.race([this.#running, new Promise((resolve) => setTimeout(resolve, CANCEL_GRACE_MS).unref())]);
      this.#log.warn('shutdown timeout: final snapshot not written (a periodic one was still running); the previous snapshot stays', { path: this.path });
      return false;
    }
    const result = await this.write('shutdown', signal);
    if (result.status === 'written') {
      this.#log.info('final snapshot written', { path: this.path, bytes: result.bytes, interactions: result.interactions, durationMs: result.durationMs });
      return true;
    }
    if (result.status === 'unchanged') {
      this.#log.info('final snapshot: nothing changed since the last one', { path: this.path });
      return true;
    }
    return false;
  }

  async #write(reason: SnapshotReason, signal: AbortSignal): Promise<SnapshotResult> {
    const started = performance.now();
    const delay = this.#delay;
    delay.reset();
    delay.enable();
    try {
      // The monitor records from its second tick on: give it a baseline, or the capture's pause
      // (the first thing it should see) would go unrecorded.
      await new Promise((resolve) => setTimeout(resolve, 3));
      const stats = this.#engine.stats();
      const mark = changeMark(stats);
      if (reason !== 'manual' && mark === this.#mark) {
        this.#status.unchanged++;
        return { status: 'unchanged' };
      }
      const captureStart = performance.now();
      const state = this.#engine.captureState();
      const createdAtMs = this.#now();
      const captureMs = performance.now() - captureStart;
      // The tick after the capture records its pause; then measure the write phase on its own.
      await new Promise((resolve) => setTimeout(resolve, 3));
      const captureDelayMs = delay.max / 1e6;
      delay.reset();
      const { filter } = stats;
      const params = { capacity: filter.capacity, errorRate: filter.errorRate, bitCount: filter.bitCount, hashCount: filter.hashCount, keyFields: state.keyFields };
      const bytes = await writeFileAtomically(this.path, snapshotChunks(state, { params, createdAtMs }, this.#serialize), {
        signal,
        ...(this.#onTempFile ? { onTempFile: this.#onTempFile } : {}),
      });
      delay.disable();
      const record: SnapshotRecord = {
        at: new Date(createdAtMs).toISOString(),
        reason,
        bytes,
        interactions: state.states.length,
        durationMs: round(performance.now() - started),
        captureMs: round(captureMs),
        maxEventLoopDelayMs: round(Math.max(captureDelayMs, delay.max / 1e6)),
        writeMaxEventLoopDelayMs: round(delay.max / 1e6),
      };
      this.#mark = mark;
      this.#status.written++;
      this.#status.last = record;
      this.#status.lastError = null;
      this.#log.debug('snapshot written', { path: this.path, ...record });
      return { status: 'written', ...record };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const message = signal.aborted ? 'abandoned: the shutdown timeout ran out' : error.message;
      this.#status.failed++;
      this.#status.lastError = { message, at: new Date(this.#now()).toISOString() };
      this.#log.error('snapshot failed; the previous snapshot stays', { path: this.path, reason, error: message });
      return { status: 'failed', error };
    } finally {
      delay.disable();
    }
  }
}

/** How long a cancelled write gets to clean up after the shutdown deadline. */
const CANCEL_GRACE_MS = 250;

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
