/**
 * Redis as the intake's DedupStore (DEDUP_STORE=redis): every replica that uses the same Redis and
 * key prefix shares one dedup window and one latest state per interaction, with the memory store's
 * contract (README, "The dedup window"). The Lua scripts are in src/store/redis; this adapter maps
 * them onto the intake's protocol and applies the failure policy.
 *
 * Round trips per webhook:
 *   - no durable log (`process`): one EVALSHA (observe), which with the Redis Streams sink also
 *     appends the event (decision, state and XADD atomically);
 *   - with an outbox (`decide` → append → `commit`): one EVALSHA (begin) for an event that needs no
 *     delivery, which begin decides and applies at once (its `commit` is answered here, no round
 *     trip); two for an event to deliver (begin holds it, commit records it once it is durable;
 *     commits issued in one tick, e.g. one outbox group commit, leave in one pipelined write).
 * A key or interaction held by another replica's begin answers `pending`: we wait a little and ask
 * again (at most `pendingWaitMs`, then 503).
 *
 * REDIS_FAILURE_POLICY: `reject` turns Redis being unavailable into StoreUnavailableError (503,
 * nothing recorded). `local` decides on this replica's own engine instead, which every Redis
 * decision is mirrored into, so it knows what this replica has seen; such decisions are counted
 * and logged at most once per interval. While a standalone Redis has been unreachable for longer
 * than its timeout, both policies answer at once instead of waiting for the timeout per webhook.
 */
import { performance } from 'node:perf_hooks';
import type { DedupEngine, Decision } from '../dedup/engine.js';
import type { DataActionEvent } from '../dedup/event.js';
import type { EngineStats } from '../dedup/stats.js';
import type { DeliverMode } from '../delivery/types.js';
import { LogThrottle, type Logger } from '../log.js';
import { RedisUnavailableError } from '../store/redis/errors.js';
import type { Claim, Pending, RedisStore, StoreEvent } from '../store/redis/store.js';
import type { StreamCounters } from '../store/redis/stream-stats.js';
import { deliveryId } from './delivery-id.js';
import { StoreUnavailableError, type DedupStore, type IncomingEvent, type StoreDecision, type StoreOutcome } from './store.js';

export type RedisFailurePolicy = 'reject' | 'local';

export const REDIS_FAILURE_POLICIES: readonly RedisFailurePolicy[] = ['reject', 'local'];

export interface RedisDedupStoreOptions {
  store: RedisStore;
  /** This replica's engine: the dedup key of each event, and the local window of policy `local`. */
  engine: DedupEngine;
  failurePolicy: RedisFailurePolicy;
  /** Counts the stream's appends, when the store has a stream. */
  streamCounters?: StreamCounters;
  /** How long to keep asking while another caller holds the key or interaction; default 1000 ms. */
  pendingWaitMs?: number;
  /** Local decisions are logged at most this often; default 10 s. */
  logIntervalMs?: number;
  logger: Logger;
}

export interface RedisStoreStats {
  kind: 'redis';
  failurePolicy: RedisFailurePolicy;
  /** The connection is up (standalone: connected; Cluster: the last command succeeded). */
  redisReachable: boolean;
  /** Events decided on the local window because Redis could not answer (policy `local`). */
  decidedLocally: number;
  /** Store operations that failed for want of Redis (each a 503 or a local decision). */
  redisFailures: number;
  /** Times a decision found its key or interaction held by another caller and waited. */
  claimWaits: number;
}

/** How a decision was reached, for `commit` and `release`. */
type RedisDecision = StoreDecision &
  (
    | { readonly via: 'applied'; readonly outcome: StoreOutcome }
    | { readonly via: 'held'; readonly claim: Claim; readonly incoming: IncomingEvent; readonly began: number }
    | { readonly via: 'local'; readonly local: Decision; readonly weight: number }
  );

const DEFAULT_PENDING_WAIT_MS = 1000;

export class RedisDedupStore implements DedupStore {
  readonly kind = 'redis';
  readonly failurePolicy: RedisFailurePolicy;
  readonly #store: RedisStore;
  readonly #engine: DedupEngine;
  readonly #local: boolean;
  readonly #stream: StreamCounters | undefined;
  readonly #pendingWaitMs: number;
  readonly #localLog: LogThrottle;
  readonly #log: Logger;
  #processed = 0;
  #deduplicated = 0;
  #unconfirmed = 0;
  #decidedLocally = 0;
  #redisFailures = 0;
  #claimWaits = 0;
  /** How long this replica's held events stay held (begin to commit), smoothed: the first wait for another's. */
  #holdMs = 2;

  constructor(options: RedisDedupStoreOptions) {
    this.#store = options.store;
    this.#engine = options.engine;
    this.failurePolicy = options.failurePolicy;
    this.#local = options.failurePolicy === 'local';
    this.#stream = options.store.stream === undefined ? undefined : options.streamCounters;
    this.#pendingWaitMs = options.pendingWaitMs ?? DEFAULT_PENDING_WAIT_MS;
    this.#localLog = new LogThrottle(options.logIntervalMs ?? 10_000);
    this.#log = options.logger;
    if (this.#local && options.store.stream !== undefined) {
      // A local decision cannot append to the stream: a 200 would promise what Redis never got.
      throw new TypeError('REDIS_FAILURE_POLICY=local cannot be combined with a stream in the Redis store');
    }
  }

  get deliver(): DeliverMode {
    return this.#store.deliver;
  }

  keyOf(e: IncomingEvent): string {
    return this.#engine.keyOf(e.event, e.timestamp, e.request);
  }

  async process(e: IncomingEvent): Promise<StoreOutcome> {
    const key = this.keyOf(e);
    if (this.#redisDown()) {
      this.#stream?.failed(new StoreUnavailableError('redis unreachable'));
      return this.#processLocally(e, undefined);
    }
    const se = storeEvent(e, key);
    const id = this.#stream === undefined ? undefined : deliveryId(key, e.timestamp, e.body);
    if (this.#stream) this.#stream.inFlight++;
    try {
      const r = await this.#untilSettled(() => this.#store.observe(se, id));
      if (r.entryId !== null && this.#stream) this.#stream.appended++;
      this.#mirror(e, key, r.status === 'new', r.advanced);
      return this.#outcome(e, r.status === 'new', r.stale, r.stored);
    } catch (err) {
      if (this.#stream && err instanceof RedisUnavailableError) this.#stream.failed(err);
      this.#failed(err);
      return this.#processLocally(e, err);
    } finally {
      if (this.#stream) this.#stream.inFlight--;
    }
  }

  async decide(e: IncomingEvent): Promise<StoreDecision> {
    const key = this.keyOf(e);
    if (this.#redisDown()) return this.#decideLocally(e, key, undefined);
    const id = this.#stream === undefined ? undefined : deliveryId(key, e.timestamp, e.body);
    let r;
    try {
      r = await this.#untilSettled(() => this.#store.begin(storeEvent(e, key), id));
    } catch (err) {
      this.#failed(err);
      return this.#decideLocally(e, key, err);
    }
    const began = performance.now();
    const status = r.status === 'new' ? 'processed' : 'deduplicated';
    let d: RedisDecision;
    if (r.held) d = { key, status, advances: r.advanced, via: 'held', claim: r.claim, incoming: e, began, deliveryId: id };
    else {
      this.#mirror(e, key, r.status === 'new', r.advanced);
      d = { key, status, advances: r.advanced, via: 'applied', outcome: this.#outcome(e, r.status === 'new', r.stale, r.stored) };
    }
    return d;
  }

  commit(d: StoreDecision): StoreOutcome | Promise<StoreOutcome> {
    const rd = d as RedisDecision;
    switch (rd.via) {
      case 'applied':
        return rd.outcome;
      case 'local':
        return this.#commitLocally(rd.local, rd.weight, undefined);
      default:
        return this.#commitHeld(rd);
    }
  }

  async release(d: StoreDecision): Promise<void> {
    const rd = d as RedisDecision;
    if (rd.via !== 'held') return;
    try {
      await this.#store.release(rd.claim);
    } catch (err) {
      // The claim lapses by itself after its TTL.
      if (!(err instanceof RedisUnavailableError)) throw err;
      this.#redisFailures++;
    }
  }

  async getState(interactionId: string): Promise<DataActionEvent | undefined> {
    if (this.#redisDown()) return this.#localState(interactionId, undefined);
    try {
      const bytes = await this.#store.getState(interactionId);
      return bytes === null ? undefined : this.#stateFrom(bytes);
    } catch (err) {
      this.#failed(err);
      return this.#localState(interactionId, err);
    }
  }

  stats(): RedisStoreStats {
    return {
      kind: 'redis',
      failurePolicy: this.failurePolicy,
      redisReachable: this.#store.connection.healthy,
      decidedLocally: this.#decidedLocally,
      redisFailures: this.#redisFailures,
      claimWaits: this.#claimWaits,
    };
  }

  /** The engine's numbers with the event counts of this store's decisions (Redis's and local ones). */
  engineStats(): EngineStats {
    return { ...this.#engine.stats(), eventsProcessed: this.#processed, eventsDeduplicated: this.#deduplicated, eventsUnconfirmed: this.#unconfirmed };
  }

  /** Connects and loads the scripts, waiting up to `waitMs`; RedisUnavailableError if not reachable by then (it keeps trying). */
  open(waitMs?: number): Promise<void> {
    return this.#store.open(waitMs);
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  // ── Redis paths ──

  async #commitHeld(d: RedisDecision & { via: 'held' }): Promise<StoreOutcome> {
    if (this.#stream) this.#stream.inFlight++;
    let r;
    try {
      [r] = await this.#store.commit([d.claim]);
    } finally {
      if (this.#stream) this.#stream.inFlight--;
    }
    const e = d.incoming;
    if (r === undefined || !r.ok) {
      const err = r?.error ?? new RedisUnavailableError('commit', 'no result');
      if (this.#stream) this.#stream.failed(err);
      this.#failed(err);
      // Durable already (the outbox has it): the local window takes it.
      const local: Decision = { event: e.event, timestamp: e.timestamp, key: d.key, status: d.status, unconfirmed: false, advances: d.advances };
      return this.#commitLocally(local, e.body.length, err);
    }
    if (r.entryId !== null && this.#stream) this.#stream.appended++;
    this.#holdMs += (Math.min(1000, performance.now() - d.began) - this.#holdMs) / 8;
    const isNew = d.status === 'processed';
    this.#mirror(e, d.key, isNew, r.advanced);
    return this.#outcome(e, isNew, r.stale, r.stored);
  }

  /**
   * Runs a decision again while another caller holds the key or interaction, up to pendingWaitMs.
   * The first wait is about how long this replica's own holds last (replicas share a setup, so the
   * other's is likely alike), then it doubles: few repeated round trips, little added latency.
   */
  async #untilSettled<R extends { status: string }>(run: () => Promise<R>): Promise<Exclude<R, Pending>> {
    const started = performance.now();
    let delay = Math.min(50, Math.max(1, this.#holdMs));
    for (;;) {
      const r = await run();
      if (r.status !== 'pending') return r as Exclude<R, Pending>;
      this.#claimWaits++;
      const left = this.#pendingWaitMs - (performance.now() - started);
      if (left <= 0) {
        throw new StoreUnavailableError(`another replica holds this interaction (its event is being made durable) for more than ${this.#pendingWaitMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(delay, (r as unknown as Pending).pendingMs, left))));
      delay = Math.min(delay * 2, 50);
    }
  }

  /** The answer: a processed event carries the latest state, the stored one when it was stale. */
  #outcome(e: IncomingEvent, isNew: boolean, stale: boolean, stored: Buffer | null): StoreOutcome {
    if (isNew) this.#processed++;
    else {
      this.#deduplicated++;
      return { status: 'deduplicated' };
    }
    return { status: 'processed', state: stale && stored !== null ? (this.#stateFrom(stored) ?? e.event) : e.event };
  }

  /** Policy `local`: the local window learns what Redis decided (what this replica saw). */
  #mirror(e: IncomingEvent, key: string, isNew: boolean, advances: boolean): void {
    if (!this.#local) return;
    this.#engine.commit({ event: e.event, timestamp: e.timestamp, key, status: isNew ? 'processed' : 'deduplicated', unconfirmed: false, advances }, e.body.length);
  }

  /** A state's stored bytes as GET /state and the webhook's answer show it (the event's four fields). */
  #stateFrom(bytes: Buffer): DataActionEvent | undefined {
    try {
      const o = JSON.parse(bytes.toString('utf8')) as Partial<DataActionEvent>;
      return { interactionId: o.interactionId!, dataActionId: o.dataActionId!, updatedTimestamp: o.updatedTimestamp!, payload: o.payload ?? {} };
    } catch (err) {
      this.#log.warn('a state in Redis is not an event this daemon wrote (not JSON); answered as absent', { err });
      return undefined;
    }
  }

  // ── failures and the local window ──

  /** A standalone Redis known to be down for longer than the timeout: answer at once (counted as a failure). */
  #redisDown(): boolean {
    const c = this.#store.connection;
    if (c.unreachableForMs <= c.timeoutMs) return false;
    this.#redisFailures++;
    return true;
  }

  /** Counts a Redis failure; anything else (a bug, or a pending timeout) goes on unchanged. */
  #failed(err: unknown): void {
    if (err instanceof RedisUnavailableError) this.#redisFailures++;
  }

  /** Throws what the intake answers 503 for, unless the policy decides locally. */
  #mustDecideLocally(err: unknown): void {
    if (err !== undefined && !(err instanceof RedisUnavailableError)) throw err;
    if (this.#local) return;
    throw err === undefined
      ? new StoreUnavailableError(`redis unreachable for more than ${this.#store.connection.timeoutMs} ms`)
      : new StoreUnavailableError((err as Error).message, { cause: err });
  }

  #processLocally(e: IncomingEvent, err: unknown): StoreOutcome {
    this.#mustDecideLocally(err);
    const r = this.#engine.process(e.event, e.timestamp, e.body.length, e.request);
    return this.#countLocal(r, err);
  }

  #decideLocally(e: IncomingEvent, key: string, err: unknown): RedisDecision {
    this.#mustDecideLocally(err);
    const local = this.#engine.decide(e.event, e.timestamp, e.request);
    return { key, status: local.status, advances: local.advances, via: 'local', local, weight: e.body.length };
  }

  #commitLocally(local: Decision, weight: number, err: unknown): StoreOutcome {
    this.#mustDecideLocally(err);
    return this.#countLocal(this.#engine.commit(local, weight), err);
  }

  #localState(interactionId: string, err: unknown): DataActionEvent | undefined {
    this.#mustDecideLocally(err);
    return this.#engine.getState(interactionId);
  }

  #countLocal(r: { status: 'processed' | 'deduplicated'; state: DataActionEvent; unconfirmed: boolean }, cause: unknown): StoreOutcome {
    this.#decidedLocally++;
    if (r.unconfirmed) this.#unconfirmed++;
    if (r.status === 'processed') this.#processed++;
    else this.#deduplicated++;
    const count = this.#localLog.note();
    if (count !== undefined) {
      this.#log.warn('redis unavailable: deciding on this replica\'s local window (REDIS_FAILURE_POLICY=local); other replicas do not see these decisions', {
        count,
        ...(cause !== undefined && { err: cause }),
      });
    }
    return r.status === 'processed' ? { status: 'processed', state: r.state } : { status: 'deduplicated' };
  }
}

function storeEvent(e: IncomingEvent, key: string): StoreEvent {
  return { interactionId: e.event.interactionId, key, timestamp: e.timestamp, body: e.body };
}
