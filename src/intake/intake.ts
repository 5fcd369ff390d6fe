/**
 * What happens to a verified, valid webhook event between the HTTP server and its answer:
 * decide (dedup) → make it durable when it is to be delivered → record → answer.
 *
 * Without a delivery sink the engine decides and records in one synchronous step, as before.
 * With one, a 200 is a promise that the event is safe, so the order is:
 *   1. decide, recording nothing (`DedupEngine.decide`);
 *   2. an event to deliver (DELIVER=processed: answered "processed"; DELIVER=updates: it changes
 *      its interaction's state) is appended to every durable log (the outbox; later a Redis
 *      stream) and waits for it to be on disk;
 *   3. only then is its key recorded and its state applied (`DedupEngine.commit`). A Bloom filter
 *      cannot forget a key, so a failed append leaves nothing behind: the answer is 503 with
 *      Retry-After and CXone's retry is decided afresh.
 * Events of one interaction, and of one dedup key, go through one at a time while one of them is
 * between steps 1 and 3: a second copy of a key waits for the first to settle (a duplicate if it
 * landed, decided afresh if it failed), and deliveries keep the order they were accepted in.
 */
import type { DedupEngine, Decision, ProcessResult } from '../dedup/engine.js';
import type { DataActionEvent, RequestFacts } from '../dedup/event.js';
import type { ParsedTimestamp } from '../dedup/timestamp.js';
import type { DeliverMode, NewDeliveryRecord } from '../delivery/types.js';
import type { Logger } from '../log.js';
import { deliveryId } from './delivery-id.js';

export { DELIVER_MODES, type DeliverMode } from '../delivery/types.js';

/** Where an event to deliver is made durable before the webhook is answered. */
export interface DurableLog {
  readonly name: string;
  /** Resolves once the record is durable; rejects (with a reason worth logging) when it cannot be. */
  append(record: NewDeliveryRecord): Promise<unknown>;
}

export type IntakeOutcome =
  | { status: 'processed'; interactionId: string; state: DataActionEvent }
  | { status: 'deduplicated'; interactionId: string }
  /** Not made durable: nothing recorded; answer 503 so the sender retries. */
  | { status: 'unavailable'; interactionId: string; message: string; retryAfterSeconds: number };

export interface IntakeOptions {
  engine: DedupEngine;
  /** Empty: nothing is delivered, so nothing waits. */
  logs: readonly DurableLog[];
  deliver: DeliverMode;
  /** Retry-After of a 503 (seconds); default 5. */
  retryAfterSeconds?: number;
  now?: () => number;
  logger: Logger;
  /** Failed appends are logged at most this often, with the count since the last line; default 10 s. */
  failureLogIntervalMs?: number;
}

export interface IntakeStats {
  /** Events appended to the durable logs (answered after their append). */
  madeDurable: number;
  /** Events answered 503 because they could not be made durable. */
  rejectedForDurability: number;
  /** Events waiting now for an earlier event of their interaction or key, or for their own append. */
  waiting: number;
}

export class Intake {
  readonly deliver: DeliverMode;
  readonly #engine: DedupEngine;
  readonly #logs: readonly DurableLog[];
  readonly #retryAfter: number;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #failureLogIntervalMs: number;
  /** The last pending settlement per interactionId and per dedup key. */
  readonly #locks = new Map<string, Promise<unknown>>();
  #waiting = 0;
  #madeDurable = 0;
  #rejected = 0;
  #failuresSinceLog = 0;
  #lastFailureLogMs = -Infinity;

  constructor(options: IntakeOptions) {
    this.#engine = options.engine;
    this.#logs = options.logs;
    this.deliver = options.deliver;
    this.#retryAfter = options.retryAfterSeconds ?? 5;
    this.#now = options.now ?? (() => Date.now());
    this.#log = options.logger;
    this.#failureLogIntervalMs = options.failureLogIntervalMs ?? 10_000;
  }

  /** Whether a 200 waits for a durable append (some sink is configured). */
  get durable(): boolean {
    return this.#logs.length > 0;
  }

  /**
   * Decides, and when the event is to be delivered makes it durable first. Synchronous unless it
   * must wait (for its append, or for an earlier event of its interaction or key). `body` may be
   * reused by the caller once this returns: it is copied when kept.
   */
  accept(event: DataActionEvent, timestamp: ParsedTimestamp, body: Uint8Array, request?: RequestFacts): IntakeOutcome | Promise<IntakeOutcome> {
    const engine = this.#engine;
    if (this.#logs.length === 0) return outcome(engine.process(event, timestamp, body.length, request), event);
    const id = event.interactionId;
    const key = engine.keyOf(event, timestamp, request);
    const prior = [this.#locks.get(id), key === id ? undefined : this.#locks.get(key)].filter((p) => p !== undefined);
    if (prior.length === 0) {
      const d = engine.decide(event, timestamp, request);
      if (!this.#delivers(d)) return outcome(engine.commit(d, body.length), event);
      return this.#hold(id, key, this.#durably(d, Buffer.from(body)));
    }
    const copy = Buffer.from(body);
    const settled = Promise.all(prior).then(() => {
      const d = engine.decide(event, timestamp, request);
      if (!this.#delivers(d)) return outcome(engine.commit(d, copy.length), event);
      return this.#durably(d, copy);
    });
    return this.#hold(id, key, settled);
  }

  stats(): IntakeStats {
    return { madeDurable: this.#madeDurable, rejectedForDurability: this.#rejected, waiting: this.#waiting };
  }

  #delivers(d: Decision): boolean {
    return this.deliver === 'processed' ? d.status === 'processed' : d.advances;
  }

  async #durably(d: Decision, body: Buffer): Promise<IntakeOutcome> {
    const record: NewDeliveryRecord = {
      id: deliveryId(d.key, d.timestamp, body),
      status: d.status === 'processed' ? 'processed' : 'update',
      interactionId: d.event.interactionId,
      acceptedAtMs: this.#now(),
      body,
    };
    try {
      await Promise.all(this.#logs.map((l) => l.append(record)));
    } catch (err) {
      this.#rejected++;
      this.#logFailure(err);
      return {
        status: 'unavailable',
        interactionId: d.event.interactionId,
        message: `the event could not be made durable for delivery (${describe(err)}); nothing was recorded, retry later`,
        retryAfterSeconds: this.#retryAfter,
      };
    }
    this.#madeDurable++;
    return outcome(this.#engine.commit(d, body.length), d.event);
  }

  /** Registers `settlement` as the last word on `id` and `key` until it settles. */
  #hold(id: string, key: string, settlement: Promise<IntakeOutcome>): Promise<IntakeOutcome> {
    this.#waiting++;
    this.#locks.set(id, settlement);
    if (key !== id) this.#locks.set(key, settlement);
    const release = () => {
      this.#waiting--;
      if (this.#locks.get(id) === settlement) this.#locks.delete(id);
      if (key !== id && this.#locks.get(key) === settlement) this.#locks.delete(key);
    };
    settlement.then(release, release);
    return settlement;
  }

  #logFailure(err: unknown): void {
    this.#failuresSinceLog++;
    const now = this.#now();
    if (now - this.#lastFailureLogMs < this.#failureLogIntervalMs) return;
    this.#log.warn('events not made durable: answered 503, nothing recorded', { count: this.#failuresSinceLog, err });
    this.#failuresSinceLog = 0;
    this.#lastFailureLogMs = now;
  }
}

function outcome(r: ProcessResult, event: DataActionEvent): IntakeOutcome {
  return r.status === 'processed'
    ? { status: 'processed', interactionId: event.interactionId, state: r.state }
    : { status: 'deduplicated', interactionId: event.interactionId };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
