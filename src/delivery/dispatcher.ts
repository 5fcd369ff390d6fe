/**
 * One dispatcher per sink: pulls records from the outbox, delivers them with bounded concurrency,
 * keeps per-interaction order, retries with capped exponential backoff and full jitter (honouring
 * Retry-After), and dead-letters what cannot be delivered. A record is acked to the outbox only
 * when it is finished (delivered, or durably dead-lettered); anything unfinished at stop stays
 * unacked and is delivered again after the next start (at-least-once).
 */
import { setMaxListeners } from 'node:events';
import { Backoff, resolveBackoffPolicy, sleep as defaultSleep, type BackoffPolicy, type RandomSource, type Sleep } from '../backoff.js';
import { silentLogger, type Logger } from '../log.js';
import type { DeadLetterWriter } from './dead-letter.js';
import { describeError, oneLine, type DeliveryOutcome, type DeliverySink } from './sink.js';
import type { DeliveryRecord, DeliverySource } from './types.js';

export const DEFAULT_DELIVERY_CONCURRENCY = 16;
export const DEFAULT_DELIVERY_MAX_ATTEMPTS = 20;
export const DEFAULT_DELIVERY_MAX_AGE_MS = 86_400_000;

/**
 * Retry delays between attempts of one record: full jitter below min(10 min, 1 s·2^(n-1)). With 20
 * attempts that spans roughly an hour of downstream outage on average; a downstream's Retry-After
 * is honoured up to an hour.
 */
export const DEFAULT_DELIVERY_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  baseMs: 1000,
  capMs: 600_000,
  factor: 2,
  jitter: 'full',
  jitterMs: 0,
  maxRetryAfterMs: 3_600_000,
});

export interface DispatcherOptions {
  source: DeliverySource;
  sink: DeliverySink;
  deadLetters: DeadLetterWriter;
  /** Attempts in progress at once (DELIVERY_CONCURRENCY); default 16. */
  concurrency?: number;
  /** Attempts per record before it is dead-lettered (DELIVERY_MAX_ATTEMPTS); default 20. */
  maxAttempts?: number;
  /** No retry starts later than this after the record's acceptedAtMs (DELIVERY_MAX_AGE_SECONDS); default 1 day. */
  maxAgeMs?: number;
  /**
   * Bound on the records held (in flight, waiting to retry, or queued behind an earlier record of
   * their interaction); pulling stops there. Default 64 × concurrency.
   */
  maxHeldRecords?: number;
  /** Bound on the body bytes held; pulling stops there (but one batch is always taken when nothing is held). Default 64 MiB. */
  maxHeldBytes?: number;
  /** Records asked of the source at once; default 4 × concurrency. */
  pullBatch?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Test hooks: the jitter source, the retry sleep and the wall clock (max age, Retry-After). */
  random?: RandomSource;
  sleep?: Sleep;
  now?: () => number;
  logger?: Logger;
  /** Dead-letters are logged at most this often, with the count since the last line; default 60 s. */
  deadLetterLogIntervalMs?: number;
}

export interface DeliveryError {
  message: string;
  /** Wall-clock ms (the dispatcher's clock). */
  atMs: number;
  /** The record it concerns, when it concerns one. */
  seq?: number;
}

export interface DispatcherStats {
  sink: string;
  /** Records delivered (each counted once, whatever its attempts). */
  delivered: number;
  /** Failed attempts that were followed by a scheduled retry. */
  retried: number;
  /** Records written to the dead-letter file (and acked). */
  deadLettered: number;
  /** Attempts in progress now. */
  inFlight: number;
  /** Records waiting for their retry delay to pass. */
  waitingRetry: number;
  /** Records held in memory (in flight, waiting, queued); at most maxHeldRecords. */
  held: number;
  heldBytes: number;
  /** Milliseconds new attempts are paused for because the downstream sent Retry-After; 0 when not paused. */
  pausedForMs: number;
  lastError: DeliveryError | undefined;
}

export interface StopResult {
  /** True when every attempt in progress at stop() finished within the timeout. */
  drained: boolean;
  /** Attempts cut short when the timeout passed (their records stay unacked). */
  aborted: number;
  /** Records held but not finished: they stay unacked and are delivered after the next start. */
  unfinished: number;
}

type State = 'queued' | 'running' | 'waiting' | 'dead-lettering';

interface Held {
  readonly record: DeliveryRecord;
  attempts: number;
  state: State;
  backoff: Backoff | undefined;
}

const ABORTED = Symbol('aborted');

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number >= 1, got ${String(value)}`);
  return value;
}

function isOutcome(o: unknown): o is DeliveryOutcome {
  if (typeof o !== 'object' || o === null) return false;
  const kind = (o as { kind?: unknown }).kind;
  return kind === 'delivered' || kind === 'retry' || kind === 'permanent';
}

export class Dispatcher {
  readonly sinkName: string;
  private readonly source: DeliverySource;
  private readonly sink: DeliverySink;
  private readonly deadLetters: DeadLetterWriter;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly maxAgeMs: number;
  private readonly maxHeldRecords: number;
  private readonly maxHeldBytes: number;
  private readonly pullBatch: number;
  private readonly policy: BackoffPolicy;
  private readonly random: RandomSource;
  private readonly sleep: Sleep;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly deadLetterLogIntervalMs: number;

  /** Per interaction, its held records in seq order; only the head may be running or waiting. */
  private readonly queues = new Map<string, Held[]>();
  /** Heads that may start now, in the order they became ready. */
  private ready: Held[] = [];
  private readyAt = 0;
  private held = 0;
  private heldBytes = 0;
  private inFlight = 0;
  private waitingRetry = 0;
  /** No attempt starts before this (a downstream's Retry-After applies to the whole sink). */
  private pausedUntil = 0;
  private gateArmed = false;

  private delivered = 0;
  private retried = 0;
  private deadLettered = 0;
  private lastError: DeliveryError | undefined;
  private deadLettersUnlogged = 0;
  private deadLetterLoggedAt = Number.NEGATIVE_INFINITY;
  private deadLetterLogTimer: NodeJS.Timeout | undefined;

  /** Aborts source.next() at stop. */
  private readonly pullAbort = new AbortController();
  /** Aborts retry and pause sleeps at stop: waiting records stay unacked. */
  private readonly lifetime = new AbortController();
  /** Aborts attempts still in progress when the stop timeout passes. */
  private readonly attemptAbort = new AbortController();
  private readonly attempts = new Set<Promise<void>>();
  private readonly chores = new Set<Promise<void>>();
  private wakePuller: (() => void) | undefined;
  private pulling: Promise<void> | undefined;
  private started = false;
  private stopping = false;
  /** Past stop(): late completions no longer ack (the next start hands those records again). */
  private stopped = false;
  private stopResult: Promise<StopResult> | undefined;

  constructor(options: DispatcherOptions) {
    this.source = options.source;
    this.sink = options.sink;
    this.sinkName = options.sink.name;
    this.deadLetters = options.deadLetters;
    this.concurrency = positiveInt('concurrency', options.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY);
    this.maxAttempts = positiveInt('maxAttempts', options.maxAttempts ?? DEFAULT_DELIVERY_MAX_ATTEMPTS);
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_DELIVERY_MAX_AGE_MS;
    if (!(this.maxAgeMs > 0)) throw new RangeError(`maxAgeMs must be > 0, got ${String(this.maxAgeMs)}`);
    this.maxHeldRecords = positiveInt('maxHeldRecords', options.maxHeldRecords ?? this.concurrency * 64);
    this.maxHeldBytes = positiveInt('maxHeldBytes', options.maxHeldBytes ?? 64 * 1024 * 1024);
    this.pullBatch = positiveInt('pullBatch', options.pullBatch ?? this.concurrency * 4);
    this.policy = resolveBackoffPolicy({ ...DEFAULT_DELIVERY_BACKOFF, ...options.backoff });
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? silentLogger).child({ component: 'delivery', sink: this.sinkName });
    this.deadLetterLogIntervalMs = options.deadLetterLogIntervalMs ?? 60_000;
    // Every attempt and every retry sleep listens on these; more than 10 is expected, not a leak.
    setMaxListeners(0, this.pullAbort.signal, this.lifetime.signal, this.attemptAbort.signal);
  }

  /** Starts pulling and delivering. */
  start(): void {
    if (this.stopping) throw new Error(`dispatcher ${this.sinkName} is stopped`);
    if (this.started) return;
    this.started = true;
    this.pulling = this.pullLoop().catch((err: unknown) => {
      this.noteError(`pulling stopped: ${describeError(err)}`);
      this.log.error('delivery pull loop failed', { err });
    });
  }

  stats(): DispatcherStats {
    return {
      sink: this.sinkName,
      delivered: this.delivered,
      retried: this.retried,
      deadLettered: this.deadLettered,
      inFlight: this.inFlight,
      waitingRetry: this.waitingRetry,
      held: this.held,
      heldBytes: this.heldBytes,
      pausedForMs: Math.max(0, this.pausedUntil - this.now()),
      lastError: this.lastError && { ...this.lastError },
    };
  }

  /**
   * Stops pulling and starting attempts, lets attempts in progress finish within `timeoutMs`,
   * then aborts the rest. Records not finished stay unacked. Idempotent.
   */
  stop(options: { timeoutMs: number }): Promise<StopResult> {
    this.stopResult ??= this.doStop(Math.max(0, options.timeoutMs));
    return this.stopResult;
  }

  private async doStop(timeoutMs: number): Promise<StopResult> {
    this.stopping = true;
    this.pullAbort.abort();
    this.lifetime.abort();
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    // Loop: an attempt finishing now may start a dead-letter write, which is waited for too.
    let drained = true;
    while (this.attempts.size + this.chores.size > 0) {
      const settled = await Promise.race([Promise.allSettled([...this.attempts, ...this.chores]).then(() => true), timedOut]);
      if (!settled) {
        drained = false;
        break;
      }
    }
    clearTimeout(timer);
    const aborted = this.inFlight;
    this.attemptAbort.abort();
    // Attempts settle at once on abort (see runAttempt), whatever the sink does.
    await Promise.allSettled([...this.attempts]);
    await this.pulling;
    this.stopped = true;
    if (this.deadLetterLogTimer) clearTimeout(this.deadLetterLogTimer);
    this.deadLetterLogTimer = undefined;
    this.logDeadLetters();
    const result: StopResult = { drained, aborted, unfinished: this.held };
    this.log.info('delivery stopped', { ...result, delivered: this.delivered, deadLettered: this.deadLettered });
    try {
      await this.sink.close?.();
    } catch (err) {
      this.log.warn('closing the sink failed', { err });
    }
    return result;
  }

  // ── pulling ────────────────────────────────────────────────────────────────────────────────

  private async pullLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const room = this.maxHeldRecords - this.held;
      // Pull only when a slot would otherwise stay idle; hold at most the bounds.
      const idleSlot = this.inFlight + this.readyCount() < this.concurrency;
      const bytesFull = this.held > 0 && this.heldBytes >= this.maxHeldBytes;
      if (!idleSlot || room <= 0 || bytesFull) {
        await this.changed();
        continue;
      }
      let batch: DeliveryRecord[];
      try {
        batch = await this.source.next(this.sinkName, Math.min(room, this.pullBatch), this.pullAbort.signal);
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        failures += 1;
        this.noteError(`reading the outbox failed: ${describeError(err)}`);
        this.log.warn('reading the outbox failed; retrying', { err, failures });
        await this.sleep(Math.min(30_000, 100 * 2 ** Math.min(failures, 10)), this.lifetime.signal).catch(() => {});
        continue;
      }
      if (this.stopping) break; // handed but not started: stays unacked
      if (batch.length === 0) {
        this.log.debug('delivery source closed');
        break;
      }
      this.accept(batch);
      this.pump();
    }
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => {
      this.wakePuller = resolve;
    });
  }

  private wake(): void {
    const wake = this.wakePuller;
    this.wakePuller = undefined;
    wake?.();
  }

  private accept(records: readonly DeliveryRecord[]): void {
    for (const record of records) {
      const h: Held = { record, attempts: 0, state: 'queued', backoff: undefined };
      let queue = this.queues.get(record.interactionId);
      if (queue === undefined) {
        queue = [];
        this.queues.set(record.interactionId, queue);
      }
      queue.push(h);
      this.held += 1;
      this.heldBytes += record.body.length;
      if (queue.length === 1) this.pushReady(h);
    }
  }

  // ── scheduling ─────────────────────────────────────────────────────────────────────────────

  private readyCount(): number {
    return this.ready.length - this.readyAt;
  }

  private pushReady(h: Held): void {
    h.state = 'queued';
    this.ready.push(h);
  }

  private takeReady(): Held {
    const h = this.ready[this.readyAt]!;
    this.readyAt += 1;
    if (this.readyAt > 1024 && this.readyAt * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyAt);
      this.readyAt = 0;
    }
    return h;
  }

  private pump(): void {
    while (!this.stopping && this.inFlight < this.concurrency && this.readyCount() > 0) {
      if (this.pausedUntil > 0) {
        const wait = this.pausedUntil - this.now();
        if (wait > 0) {
          this.armGate(wait);
          return;
        }
        this.pausedUntil = 0;
      }
      this.startAttempt(this.takeReady());
    }
  }

  private armGate(waitMs: number): void {
    if (this.gateArmed) return;
    this.gateArmed = true;
    this.sleep(waitMs, this.lifetime.signal).then(
      () => {
        this.gateArmed = false;
        this.pump();
      },
      () => {
        this.gateArmed = false;
      },
    );
  }

  private track(set: Set<Promise<void>>, task: Promise<void>): void {
    const tracked = task.catch((err: unknown) => {
      this.log.error('delivery bookkeeping failed', { err });
    });
    set.add(tracked);
    void tracked.finally(() => set.delete(tracked));
  }

  // ── attempts ───────────────────────────────────────────────────────────────────────────────

  private startAttempt(h: Held): void {
    h.state = 'running';
    h.attempts += 1;
    this.inFlight += 1;
    this.track(
      this.attempts,
      this.runAttempt(h).then((outcome) => this.settle(h, outcome)),
    );
  }

  /** Never rejects; resolves ABORTED as soon as the stop timeout aborts, whatever the sink does. */
  private runAttempt(h: Held): Promise<DeliveryOutcome | typeof ABORTED> {
    const signal = this.attemptAbort.signal;
    if (signal.aborted) return Promise.resolve(ABORTED);
    return new Promise((resolve) => {
      const onAbort = () => resolve(ABORTED);
      signal.addEventListener('abort', onAbort, { once: true });
      let attempt: Promise<unknown>;
      try {
        attempt = Promise.resolve(this.sink.deliver(h.record, h.attempts, signal));
      } catch (err) {
        attempt = Promise.reject(err);
      }
      attempt
        .then(
          (o): DeliveryOutcome => (isOutcome(o) ? o : { kind: 'retry', error: 'the sink returned no outcome' }),
          (err: unknown): DeliveryOutcome => ({ kind: 'retry', error: describeError(err) }),
        )
        .then((o) => {
          signal.removeEventListener('abort', onAbort);
          resolve(o);
        });
    });
  }

  private settle(h: Held, outcome: DeliveryOutcome | typeof ABORTED): void {
    this.inFlight -= 1;
    if (outcome === ABORTED) {
      h.state = 'queued';
    } else if (outcome.kind === 'delivered') {
      this.delivered += 1;
      this.finish(h);
    } else if (outcome.kind === 'permanent') {
      this.noteError(outcome.error, h.record.seq);
      this.deadLetter(h, outcome.error, outcome.detail);
    } else {
      this.noteError(outcome.error, h.record.seq);
      this.retryLater(h, outcome.error, outcome.retryAfterMs);
    }
    this.pump();
    this.wake();
  }

  private retryLater(h: Held, error: string, retryAfterMs: number | undefined): void {
    if (this.stopping) {
      h.state = 'queued'; // left for the next start
      return;
    }
    if (h.attempts >= this.maxAttempts) {
      this.deadLetter(h, `gave up after ${h.attempts} attempts (DELIVERY_MAX_ATTEMPTS): ${error}`);
      return;
    }
    const now = this.now();
    const retryAfter = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.min(Math.max(0, retryAfterMs), this.policy.maxRetryAfterMs) : undefined;
    if (retryAfter !== undefined) this.pausedUntil = Math.max(this.pausedUntil, now + retryAfter);
    h.backoff ??= new Backoff(this.policy, this.random);
    const delay = h.backoff.next(retryAfter);
    if (now + delay - h.record.acceptedAtMs > this.maxAgeMs) {
      this.deadLetter(h, `gave up after ${h.attempts} attempts: the next would start more than ${Math.round(this.maxAgeMs / 1000)} s after acceptance (DELIVERY_MAX_AGE_SECONDS): ${error}`);
      return;
    }
    this.retried += 1;
    this.waitingRetry += 1;
    h.state = 'waiting';
    this.sleep(delay, this.lifetime.signal).then(
      () => {
        this.waitingRetry -= 1;
        if (this.stopping) return;
        this.pushReady(h);
        this.pump();
      },
      () => {
        // Stopped while waiting: the record stays unacked.
        this.waitingRetry -= 1;
        h.state = 'queued';
      },
    );
  }

  private deadLetter(h: Held, error: string, detail?: string): void {
    h.state = 'dead-lettering';
    const task = async () => {
      for (let failures = 1; ; failures += 1) {
        try {
          await this.deadLetters.append({ sink: this.sinkName, record: h.record, attempts: h.attempts, error: oneLine(error, 1000), detail, atMs: this.now() });
        } catch (err) {
          // Without the dead-letter line the record must stay in the outbox: keep it, try again.
          this.noteError(`writing the dead-letter file failed: ${describeError(err)}`, h.record.seq);
          this.log.error('writing the dead-letter file failed; the record stays in the outbox', { err, failures });
          if (this.stopping) return;
          const ok = await this.sleep(Math.min(this.policy.capMs, 1000 * 2 ** Math.min(failures, 10)), this.lifetime.signal).then(
            () => true,
            () => false,
          );
          if (!ok) return;
          continue;
        }
        this.deadLettered += 1;
        this.deadLettersUnlogged += 1;
        this.maybeLogDeadLetters();
        this.finish(h);
        return;
      }
    };
    this.track(this.chores, task());
  }

  /** The record is done: ack it and let the next record of its interaction go. */
  private finish(h: Held): void {
    if (this.stopped) return;
    try {
      this.source.ack(this.sinkName, h.record.seq);
    } catch (err) {
      // Still finished here; the outbox hands it again after a restart (at-least-once).
      this.noteError(`ack failed: ${describeError(err)}`, h.record.seq);
      this.log.error('outbox ack failed', { err, seq: h.record.seq });
    }
    const queue = this.queues.get(h.record.interactionId);
    if (queue === undefined || queue[0] !== h) {
      this.log.error('delivery bookkeeping: finished record is not the head of its interaction', { seq: h.record.seq });
      return;
    }
    queue.shift();
    this.held -= 1;
    this.heldBytes -= h.record.body.length;
    if (queue.length > 0) this.pushReady(queue[0]!);
    else this.queues.delete(h.record.interactionId);
    this.pump();
    this.wake();
  }

  // ── reporting ──────────────────────────────────────────────────────────────────────────────

  private noteError(message: string, seq?: number): void {
    this.lastError = { message: oneLine(message), atMs: this.now(), ...(seq !== undefined ? { seq } : {}) };
  }

  private maybeLogDeadLetters(): void {
    if (this.deadLetterLogTimer !== undefined) return;
    const since = performance.now() - this.deadLetterLoggedAt;
    if (since >= this.deadLetterLogIntervalMs) {
      this.logDeadLetters();
      return;
    }
    this.deadLetterLogTimer = setTimeout(() => {
      this.deadLetterLogTimer = undefined;
      this.logDeadLetters();
    }, this.deadLetterLogIntervalMs - since);
    this.deadLetterLogTimer.unref();
  }

  private logDeadLetters(): void {
    if (this.deadLettersUnlogged === 0) return;
    this.log.warn('records dead-lettered', { count: this.deadLettersUnlogged, total: this.deadLettered, lastError: this.lastError?.message });
    this.deadLettersUnlogged = 0;
    this.deadLetterLoggedAt = performance.now();
  }
}
