/**
 * The dedup window and the latest state in Redis, shared by every replica and process that uses
 * the same Redis and key prefix. Semantics equal the memory store's (README, "The dedup window"):
 *
 * - A key is remembered for `windowMs` after its last event (default: two compaction intervals):
 *   remembered while its events arrive less than one interval apart, forgotten after two idle.
 *   Exactly one caller gets `new` for a key, however many race (each decision is one Lua script).
 * - Latest state per interaction: the newest updatedTimestamp wins, an older late event never
 *   overwrites, a tie goes to the later arrival; duplicates update it too. States are the events'
 *   bytes and expire `stateTtlMs` after their last write.
 *
 * Every operation is one round trip (commit: one pipelined round trip for the whole batch), and
 * any failure rejects with RedisUnavailableError within the connection's timeout.
 */
import { randomBytes } from 'node:crypto';
import type { KeyField } from '../../dedup/key.js';
import type { ParsedTimestamp } from '../../dedup/timestamp.js';
import type { RedisArg, RedisConnection } from './connection.js';
import { RedisUnavailableError } from './errors.js';
import { KeyLayout } from './keys.js';
import { loadScripts, SCRIPTS } from './scripts.js';

/** What the store needs of one validated event. */
export interface StoreEvent {
  readonly interactionId: string;
  /** The dedup key (src/dedup/key.ts `keyBuilder`). */
  readonly key: string;
  readonly timestamp: ParsedTimestamp;
  /** The exact received bytes: kept as the state and carried by the stream. */
  readonly body: Uint8Array | string;
}

export type DeliverMode = 'processed' | 'updates';

export interface StreamOptions {
  /** Stream name (DELIVERY_REDIS_STREAM); in the partitioned layout, `<name>:{p<n>}` per partition. */
  name: string;
  /** `XADD … MAXLEN ~ maxLen` (per partition: see docs/redis.md). */
  maxLen: number;
  /** Which events are appended (DELIVER); the store's `deliver` when absent (they must agree). */
  deliver?: DeliverMode;
  /**
   * Partitions (each its own stream and slot). Default 16 with Cluster, 0 on a standalone server
   * (one stream named exactly `name`, keys tagged by interaction).
   */
  partitions?: number;
}

export interface RedisStoreOptions {
  connection: RedisConnection;
  /** REDIS_KEY_PREFIX, default `cxone-dedup:`. */
  keyPrefix?: string;
  keyFields: readonly KeyField[];
  /** How long a key is remembered after its last event: 2 × COMPACTION_INTERVAL_SECONDS. */
  windowMs: number;
  /** STATE_TTL_SECONDS in ms (default 86,400,000). */
  stateTtlMs?: number;
  /** How long a begin's claim holds before it lapses (default 5,000 ms). */
  claimTtlMs?: number;
  /**
   * What is delivered (DELIVER): which events `begin` holds until they are durable, and which the
   * stream gets. Default: the stream's `deliver`, else 'processed'.
   */
  deliver?: DeliverMode;
  /** Append deliveries to a stream inside `observe` and `commit` (issue 10's Redis Streams sink). */
  stream?: StreamOptions;
}

/** The outcome for the state: `advanced` = the event changed it (newer, or same instant, other bytes). */
export interface StateOutcome {
  readonly advanced: boolean;
  /** Older than the stored state: not written. */
  readonly stale: boolean;
}

/** The key, or the interaction, is claimed by a two-phase caller that has not settled: wait and retry. */
export interface Pending {
  readonly status: 'pending';
  /** The claim's remaining lifetime in ms (an upper bound on the wait). */
  readonly pendingMs: number;
}

export type ObserveResult =
  | (StateOutcome & {
      readonly status: 'new' | 'duplicate';
      /** The stream entry's id when the event was appended (stream configured and deliverable), else null. */
      readonly entryId: string | null;
      /** New but stale: the stored (newer) state's bytes, which the answer carries; else null. */
      readonly stored: Buffer | null;
    })
  | Pending;

/** A held event (its interaction claimed), to be committed or released. */
export interface Claim {
  readonly event: StoreEvent;
  readonly token: string;
  /** Decided new (its key was claimed too), else a duplicate held because it advances the state. */
  readonly isNew: boolean;
  /** The stream's `id` field (with a stream). */
  readonly deliveryId: string | undefined;
}

export type BeginResult =
  /** Nothing to deliver: decided and applied at once (as observe would), no commit needed. */
  | (StateOutcome & { readonly status: 'new' | 'duplicate'; readonly held: false; readonly stored: Buffer | null })
  /**
   * To be delivered: held (claimed, nothing written). `advanced` and `stale` say what committing
   * would do to the state as it is now; the commit reports what it did.
   */
  | (StateOutcome & { readonly status: 'new' | 'duplicate'; readonly held: true; readonly claim: Claim })
  | Pending;

export type CommitResult =
  | (StateOutcome & {
      readonly ok: true;
      /** False when the claim had lapsed or been taken over before the commit (the key is remembered all the same). */
      readonly held: boolean;
      /** The stream entry's id when the event was appended, else null. */
      readonly entryId: string | null;
      /** Stale by now: the stored (newer) state's bytes; else null. */
      readonly stored: Buffer | null;
    })
  | { readonly ok: false; readonly error: RedisUnavailableError };

const DEFAULT_STATE_TTL_MS = 86_400_000;
const DEFAULT_CLAIM_TTL_MS = 5_000;
/** Stream partitions in Redis Cluster unless told otherwise (see docs/redis.md). */
export const DEFAULT_CLUSTER_PARTITIONS = 16;

// Tokens only need to be unique among live claims: a random per-process part and a counter.
const TOKEN_BASE = randomBytes(9).toString('base64url');
let tokenCounter = 0;

function positiveMs(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a whole number of ms >= 1, got ${String(v)}`);
  return v;
}

function stateOutcome(code: number): StateOutcome {
  return { advanced: code === 2, stale: code === 0 };
}

export class RedisStore {
  readonly connection: RedisConnection;
  readonly layout: KeyLayout;
  readonly windowMs: number;
  readonly stateTtlMs: number;
  readonly claimTtlMs: number;
  readonly stream: Readonly<StreamOptions> | undefined;
  readonly deliver: DeliverMode;
  readonly #windowArg: string;
  readonly #stateTtlArg: string;
  readonly #claimTtlArg: string;
  readonly #maxLenArg: string;

  constructor(options: RedisStoreOptions) {
    const conn = options.connection;
    this.connection = conn;
    this.windowMs = positiveMs('windowMs', options.windowMs);
    this.stateTtlMs = positiveMs('stateTtlMs', options.stateTtlMs ?? DEFAULT_STATE_TTL_MS);
    this.claimTtlMs = positiveMs('claimTtlMs', options.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS);
    const stream = options.stream;
    if (stream !== undefined) {
      if (!Number.isSafeInteger(stream.maxLen) || stream.maxLen < 1) throw new RangeError(`stream.maxLen must be a whole number >= 1, got ${String(stream.maxLen)}`);
      if (stream.deliver !== undefined && stream.deliver !== 'processed' && stream.deliver !== 'updates') throw new TypeError(`stream.deliver must be processed or updates, got ${String(stream.deliver)}`);
    }
    const deliver = options.deliver ?? stream?.deliver ?? 'processed';
    if (deliver !== 'processed' && deliver !== 'updates') throw new TypeError(`deliver must be processed or updates, got ${String(deliver)}`);
    if (stream?.deliver !== undefined && stream.deliver !== deliver) throw new TypeError(`stream.deliver (${stream.deliver}) and deliver (${deliver}) differ`);
    this.deliver = deliver;
    const keyFields = options.keyFields;
    if (conn.kind === 'cluster' && !keyFields.includes('interactionId')) {
      throw new TypeError(
        'with Redis Cluster the dedup key fields must include interactionId: a key shared by several interactions ' +
          'lives in another slot than their states, so one script could not decide and update the state atomically',
      );
    }
    const partitions = stream === undefined ? 0 : (stream.partitions ?? (conn.kind === 'cluster' ? DEFAULT_CLUSTER_PARTITIONS : 0));
    if (conn.kind === 'cluster' && stream !== undefined && partitions < 1) {
      throw new RangeError('with Redis Cluster a delivery stream needs at least one partition (each partition is a stream in its own slot)');
    }
    this.layout = new KeyLayout({ prefix: options.keyPrefix ?? 'cxone-dedup:', keyFields, stream: stream?.name, partitions });
    this.stream = stream === undefined ? undefined : Object.freeze({ ...stream, deliver, partitions });
    // Partitions share the bound: each is trimmed to its share.
    this.#maxLenArg = stream === undefined ? '' : String(Math.max(1, Math.ceil(stream.maxLen / Math.max(1, partitions))));
    this.#windowArg = String(this.windowMs);
    this.#stateTtlArg = String(this.stateTtlMs);
    this.#claimTtlArg = String(this.claimTtlMs);
  }

  /**
   * Connects (waiting up to `waitMs`, default the command timeout) and loads the scripts on every
   * master. Throws RedisUnavailableError when Redis cannot be reached in time (the connection keeps
   * trying; operations succeed once it is back, loading scripts on demand).
   */
  async open(waitMs?: number): Promise<void> {
    await this.connection.connect(waitMs);
    try {
      await loadScripts(this.connection);
    } catch (err) {
      throw err instanceof RedisUnavailableError ? err : new RedisUnavailableError('open', (err as Error).message, { cause: err });
    }
  }

  /**
   * Decides, records and applies the state in one round trip. With a stream configured, also
   * appends the event when it is to be delivered, in the same script: a resolved promise means
   * the XADD succeeded (or was not due); a rejection means nothing was written.
   * `deliveryId` is the delivery's stable id (the `id` field); required with a stream.
   */
  async observe(event: StoreEvent, deliveryId?: string): Promise<ObserveResult> {
    const { interactionId } = event;
    const keys = [this.layout.dedupKey(interactionId, event.key), this.layout.stateKey(interactionId), this.layout.claimKey(interactionId)];
    const args: RedisArg[] = [this.#windowArg, this.#stateTtlArg, ...instantArgs(event.timestamp), bodyArg(event.body)];
    if (this.stream !== undefined) {
      keys.push(this.layout.streamKey(interactionId));
      args.push(this.deliver, this.#maxLenArg, requireDeliveryId('observe', deliveryId));
    }
    const [decision, code, entry, stored] = await SCRIPTS.observe.run<[number, number, Buffer | null, Buffer | null]>(this.connection, 'observe', keys, args, 'buffer');
    if (decision === 2) return { status: 'pending', pendingMs: Math.max(0, code) };
    return { status: decision === 0 ? 'new' : 'duplicate', ...stateOutcome(code), entryId: entry === null ? null : String(entry), stored: stored ?? null };
  }

  /**
   * Two-phase, step one. An event to be delivered (DELIVER=processed: new; updates: it advances
   * the state) is held: its interaction (and a new key) is claimed for `claimTtlMs`, other callers
   * get `pending`, and nothing else is written until `commit`. Any other event is decided and
   * applied at once, as `observe` would. One round trip. `deliveryId` (required with a stream) is
   * kept in the claim for the commit's XADD.
   */
  async begin(event: StoreEvent, deliveryId?: string): Promise<BeginResult> {
    const { interactionId } = event;
    if (this.stream !== undefined) requireDeliveryId('begin', deliveryId);
    const token = `${TOKEN_BASE}.${(tokenCounter = (tokenCounter + 1) % Number.MAX_SAFE_INTEGER).toString(36)}`;
    const keys = [this.layout.dedupKey(interactionId, event.key), this.layout.stateKey(interactionId), this.layout.claimKey(interactionId)];
    const args: RedisArg[] = [this.#windowArg, this.#stateTtlArg, this.#claimTtlArg, token, ...instantArgs(event.timestamp), bodyArg(event.body), this.deliver];
    const [decision, code, held, stored] = await SCRIPTS.begin.run<[number, number, number, Buffer | null]>(this.connection, 'begin', keys, args, 'buffer');
    if (decision === 2) return { status: 'pending', pendingMs: Math.max(0, code) };
    const status = decision === 0 ? 'new' : 'duplicate';
    if (held === 1) return { status, held: true, claim: Object.freeze({ event, token, isNew: decision === 0, deliveryId }), ...stateOutcome(code) };
    return { status, held: false, stored: stored ?? null, ...stateOutcome(code) };
  }

  /**
   * Two-phase, step two, for a batch: each held event's key becomes remembered, its state
   * applied, its claim dropped and, with a stream, the event appended when due. All commits are
   * sent in the same tick, so they travel in one pipelined write per node (one round trip). Each
   * claim gets its own result; a failed one can be committed again.
   */
  async commit(claims: readonly Claim[]): Promise<CommitResult[]> {
    const runs = claims.map((claim) => {
      const { event, token } = claim;
      const { interactionId } = event;
      const keys = [this.layout.dedupKey(interactionId, event.key), this.layout.stateKey(interactionId), this.layout.claimKey(interactionId)];
      const args: RedisArg[] = [this.#windowArg, this.#stateTtlArg, token, ...instantArgs(event.timestamp), bodyArg(event.body), claim.isNew ? '1' : '0'];
      if (this.stream !== undefined) {
        keys.push(this.layout.streamKey(interactionId));
        args.push(this.deliver, this.#maxLenArg, requireDeliveryId('commit', claim.deliveryId));
      }
      return SCRIPTS.commit.run<[number, number, Buffer | null, Buffer | null]>(this.connection, 'commit', keys, args, 'buffer');
    });
    const settled = await Promise.allSettled(runs);
    return settled.map((s): CommitResult => {
      if (s.status === 'rejected') {
        const error = s.reason instanceof RedisUnavailableError ? s.reason : new RedisUnavailableError('commit', String(s.reason), { cause: s.reason });
        return { ok: false, error };
      }
      const [ours, code, entry, stored] = s.value;
      return { ok: true, held: ours === 1, ...stateOutcome(code), entryId: entry === null ? null : String(entry), stored: stored ?? null };
    });
  }

  /** Two-phase, the other way out: drops the claims if they are still ours. True when dropped. */
  async release(claim: Claim): Promise<boolean> {
    const { interactionId, key } = claim.event;
    const keys = [this.layout.dedupKey(interactionId, key), this.layout.claimKey(interactionId)];
    return (await SCRIPTS.release.run<number>(this.connection, 'release', keys, [claim.token])) === 1;
  }

  /** The latest state's bytes, or null. */
  async getState(interactionId: string): Promise<Buffer | null> {
    const key = this.layout.stateKey(interactionId);
    const value = await this.connection.send<Buffer | null>('getState', key, ['HGET', key, 'b'], 'buffer');
    return value ?? null;
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.connection.close();
  }
}

function requireDeliveryId(operation: string, id: string | undefined): string {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError(`${operation}: a delivery id is required with a stream`);
  return id;
}

function instantArgs(t: ParsedTimestamp): [string, string, string] {
  if (!Number.isSafeInteger(t.epochSeconds) || !Number.isInteger(t.nanos) || t.nanos < 0 || t.nanos > 999_999_999 || typeof t.leap !== 'boolean') {
    throw new TypeError('timestamp must be a ParsedTimestamp (integer epochSeconds, nanos 0..999999999, boolean leap)');
  }
  return [String(t.epochSeconds), t.leap ? '1' : '0', String(t.nanos)];
}

function bodyArg(body: Uint8Array | string): RedisArg {
  if (typeof body === 'string') return body;
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
