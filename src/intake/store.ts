/**
 * What decides duplicates and keeps the latest states, as the intake sees it: the embedded engine
 * (MemoryStore, this process alone) or Redis (shared by replicas). Each call may be synchronous
 * (the engine) or asynchronous (a round trip).
 *
 * Two ways through:
 *   - `process`: decide, record the key and apply the state in one step (nothing to make durable
 *     first);
 *   - `decide` → the caller makes the event durable → `commit`, or `release` when that failed.
 *     `decide` records nothing (a shared store may *claim* the key meanwhile, so another replica's
 *     copy waits); `commit` records and applies what it decided.
 * A store that cannot answer (Redis down, timed out) throws StoreUnavailableError: the webhook is
 * answered 503 with Retry-After and nothing is recorded.
 *
 * The Redis store (redis-store.ts) knows what is delivered, so its `decide` already applies what
 * needs no durable append (its `commit` then returns at once, no round trip) and *holds* only what
 * the intake will append.
 */
import type { DedupEngine, Decision } from '../dedup/engine.js';
import type { DataActionEvent, RequestFacts } from '../dedup/event.js';
import type { ParsedTimestamp } from '../dedup/timestamp.js';

/** A verified, valid event as the store gets it. */
export interface IncomingEvent {
  readonly event: DataActionEvent;
  readonly timestamp: ParsedTimestamp;
  /** The exact bytes received (stable: the intake copies them before anything asynchronous). */
  readonly body: Uint8Array;
  readonly request: RequestFacts | undefined;
}

/** What a store decided, for `commit` or `release`. */
export interface StoreDecision {
  readonly key: string;
  readonly status: 'processed' | 'deduplicated';
  /** The event changes its interaction's state (none yet, newer, or as new with other content). */
  readonly advances: boolean;
  /** Its delivery id, when the store already computed it (a SHA-256 over the body: not twice). */
  readonly deliveryId?: string | undefined;
}

/** What a webhook is answered with: the decision and, when processed, the interaction's latest state. */
export type StoreOutcome =
  | { readonly status: 'processed'; readonly state: unknown }
  | { readonly status: 'deduplicated' };

export interface DedupStore {
  readonly kind: 'memory' | 'redis';
  /** The dedup key (InvalidEventError when the event or request lacks what it needs). */
  keyOf(e: IncomingEvent): string;
  process(e: IncomingEvent): StoreOutcome | Promise<StoreOutcome>;
  decide(e: IncomingEvent): StoreDecision | Promise<StoreDecision>;
  commit(d: StoreDecision): StoreOutcome | Promise<StoreOutcome>;
  release(d: StoreDecision): void | Promise<void>;
  /**
   * The interaction's latest state (GET /state/:id): synchronous from memory, a promise from
   * Redis. StoreUnavailableError (thrown or rejected) when it cannot be read now.
   */
  getState(interactionId: string): DataActionEvent | undefined | Promise<DataActionEvent | undefined>;
}

/** The store could not answer in time: answer 503, record nothing. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** The embedded engine as a store: synchronous, this process alone. */
export class MemoryStore implements DedupStore {
  readonly kind = 'memory';
  constructor(readonly engine: DedupEngine) {}

  keyOf(e: IncomingEvent): string {
    return this.engine.keyOf(e.event, e.timestamp, e.request);
  }

  process(e: IncomingEvent): StoreOutcome {
    return outcome(this.engine.process(e.event, e.timestamp, e.body.length, e.request));
  }

  decide(e: IncomingEvent): MemoryDecision {
    return { ...this.engine.decide(e.event, e.timestamp, e.request), weight: e.body.length };
  }

  commit(d: StoreDecision): StoreOutcome {
    const m = d as MemoryDecision;
    return outcome(this.engine.commit(m, m.weight));
  }

  release(): void {
    // decide() recorded nothing.
  }

  getState(interactionId: string): DataActionEvent | undefined {
    return this.engine.getState(interactionId);
  }
}

interface MemoryDecision extends Decision {
  readonly weight: number;
}

function outcome(r: { status: 'processed' | 'deduplicated'; state: DataActionEvent }): StoreOutcome {
  return r.status === 'processed' ? { status: 'processed', state: r.state } : { status: 'deduplicated' };
}
