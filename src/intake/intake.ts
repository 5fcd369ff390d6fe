/**
 * What happens to a verified, valid webhook event between the HTTP server and its answer:
 * decide (dedup) → make it durable when it is to be delivered → record → answer.
 *
 * Without a delivery sink the engine decides and records in one synchronous step, as before.
 * With one, a 200 is a promise that the event is safe, so the order is:
 *   1. decide, recording nothing (`DedupStore.decide`: the engine, or Redis);
 *   2. an event to deliver (DELIVER=processed: answered "processed"; DELIVER=updates: it changes
 *      its interaction's state) is appended to every durable log (the outbox; later a Redis
 *      stream) and waits for it to be on disk;
 *   3. only then is its key recorded and its state applied (`DedupStore.commit`). A Bloom filter
 *      cannot forget a key, so a failed append leaves nothing behind: the answer is 503 with
 *      Retry-After and CXone's retry is decided afresh.
 * Events of one interaction, and of one dedup key, go through one at a time while one of them is
 * between steps 1 and 3: a second copy of a key waits for the first to settle (a duplicate if it
 * landed, decided afresh if it failed), and deliveries keep the order they were accepted in.
 */
import type { DataActionEvent, RequestFacts } from '../dedup/event.js';
import type { ParsedTimestamp } from '../dedup/timestamp.js';
import type { DeliverMode, DurableLog, NewDeliveryRecord } from '../delivery/types.js';
import { LogThrottle, type Logger } from '../log.js';
import { deliveryId } from './delivery-id.js';
import { StoreUnavailableError, type DedupStore, type IncomingEvent, type StoreDecision, type StoreOutcome } from './store.js';

export { DELIVER_MODES, type DeliverMode, type DurableLog } from '../delivery/types.js';


export type IntakeOutcome =
  | { status: 'processed'; interactionId: string; state: unknown }
  | { status: 'deduplicated'; interactionId: string }
  /** Not made durable: nothing recorded; answer 503 so the sender retries. */
  | { status: 'unavailable'; interactionId: string; message: string; retryAfterSeconds: number };

export interface IntakeOptions {
  store: DedupStore;
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
  readonly #store: DedupStore;
  readonly #logs: readonly DurableLog[];
  readonly #retryAfter: number;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #failureLog: LogThrottle;
  /** The last pending settlement per interactionId and per dedup key. */
  readonly #locks = new Map<string, Promise<unknown>>();
  #waiting = 0;
  #madeDurable = 0;
  #rejected = 0;

  constructor(options: IntakeOptions) {
    this.#store = options.store;
    this.#logs = options.logs;
    this.deliver = options.deliver;
    this.#retryAfter = options.retryAfterSeconds ?? 5;
    this.#now = options.now ?? (() => Date.now());
    this.#log = options.logger;
    this.#failureLog = new LogThrottle(options.failureLogIntervalMs ?? 10_000, this.#now);
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
    const store = this.#store;
    const id = event.interactionId;
    if (this.#logs.length === 0) {
      // Nothing to make durable first; a synchronous store answers at once.
      const e: IncomingEvent = { event, timestamp, body: store.kind === 'memory' ? body : Buffer.from(body), request };
      return this.#answer(id, () => store.process(e));
    }
    const e: IncomingEvent = { event, timestamp, body: Buffer.from(body), request };
    const key = store.keyOf(e);
    const prior = [this.#locks.get(id), key === id ? undefined : this.#locks.get(key)].filter((p) => p !== undefined);
    if (prior.length === 0) {
      const d = this.#guard(() => store.decide(e));
      if (!(d instanceof Promise) && !isUnavailable(d) && !this.#delivers(d)) return this.#answer(id, () => store.commit(d));
      return this.#hold(id, key, Promise.resolve(d).then((decided) => this.#settle(e, decided)));
    }
    const settled = Promise.all(prior).then(async () => this.#settle(e, await this.#guard(() => store.decide(e))));
    return this.#hold(id, key, settled);
  }

  stats(): IntakeStats {
    return { madeDurable: this.#madeDurable, rejectedForDurability: this.#rejected, waiting: this.#waiting };
  }

  #delivers(d: StoreDecision): boolean {
    return this.deliver === 'processed' ? d.status === 'processed' : d.advances;
  }

  /** After `decide`: nothing to deliver → commit; else append everywhere first, then commit (or release). */
  async #settle(e: IncomingEvent, d: StoreDecision | Unavailable): Promise<IntakeOutcome> {
    const id = e.event.interactionId;
    if (isUnavailable(d)) return this.#unavailable(id, d.cause);
    if (!this.#delivers(d)) return this.#answer(id, () => this.#store.commit(d));
    const record: NewDeliveryRecord = {
      id: d.deliveryId ?? deliveryId(d.key, e.timestamp, e.body),
      status: d.status === 'processed' ? 'processed' : 'update',
      interactionId: id,
      acceptedAtMs: this.#now(),
      body: e.body as Buffer,
    };
    try {
      await Promise.all(this.#logs.map((l) => l.append(record)));
    } catch (err) {
      try {
        await this.#store.release(d);
      } catch {
        // A claim a shared store cannot drop now expires by itself.
      }
      return this.#unavailable(id, err);
    }
    this.#madeDurable++;
    return this.#answer(id, () => this.#store.commit(d));
  }

  /** The store's answer as an outcome; a store that cannot answer makes it a 503. */
  #answer(id: string, run: () => StoreOutcome | Promise<StoreOutcome>): IntakeOutcome | Promise<IntakeOutcome> {
    const r = this.#guard(run);
    if (r instanceof Promise) return r.then((o) => (isUnavailable(o) ? this.#unavailable(id, o.cause) : toOutcome(id, o)));
    return isUnavailable(r) ? this.#unavailable(id, r.cause) : toOutcome(id, r);
  }

  /** Runs a store call; StoreUnavailableError (thrown or rejected) becomes a value. */
  #guard<T>(run: () => T | Promise<T>): T | Unavailable | Promise<T | Unavailable> {
    const caught = (err: unknown): Unavailable => {
      if (err instanceof StoreUnavailableError) return { unavailable: true, cause: err };
      throw err;
    };
    try {
      const r = run();
      return r instanceof Promise ? r.catch(caught) : r;
    } catch (err) {
      return caught(err);
    }
  }

  #unavailable(interactionId: string, cause: unknown): IntakeOutcome {
    this.#rejected++;
    this.#logFailure(cause);
    return {
      status: 'unavailable',
      interactionId,
      message: `the event could not be ${cause instanceof StoreUnavailableError ? 'decided' : 'made durable for delivery'} (${describe(cause)}); nothing was recorded, retry later`,
      retryAfterSeconds: this.#retryAfter,
    };
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
    const count = this.#failureLog.note();
    if (count !== undefined) this.#log.warn('events not decided or not made durable: answered 503, nothing recorded', { count, err });
  }
}

interface Unavailable {
  readonly unavailable: true;
  readonly cause: unknown;
}

function isUnavailable(v: unknown): v is Unavailable {
  return typeof v === 'object' && v !== null && (v as Unavailable).unavailable === true;
}

function toOutcome(interactionId: string, o: StoreOutcome): IntakeOutcome {
  return o.status === 'processed' ? { status: 'processed', interactionId, state: o.state } : { status: 'deduplicated', interactionId };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
