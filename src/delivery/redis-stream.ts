/**
 * The Redis Streams sink beside the memory store (issue 10, sink 2): a DurableLog whose append is
 * one XADD, so the intake answers 200 only once Redis has the entry, and 503 (nothing recorded)
 * when it cannot. With the Redis store the same append happens inside its Lua scripts instead
 * (src/store/redis), atomically with the dedup decision.
 *
 * Entry fields: `id` (the stable delivery id), `status` (`processed` | `update`), `event` (the exact
 * received bytes). Trimmed with `MAXLEN ~`. On a standalone server one stream named exactly
 * DELIVERY_REDIS_STREAM; in Redis Cluster the same partitions as the Redis store's
 * (`<name>:{p<n>}`, an interaction always in the same one), so consumers read one layout.
 */
import type { DurableLog } from './types.js';
import type { RedisConnection } from '../store/redis/connection.js';
import { KeyLayout } from '../store/redis/keys.js';
import { DEFAULT_CLUSTER_PARTITIONS } from '../store/redis/store.js';
import { StreamCounters } from '../store/redis/stream-stats.js';
import type { NewDeliveryRecord } from './types.js';

export interface RedisStreamLogOptions {
  connection: RedisConnection;
  /** DELIVERY_REDIS_STREAM. */
  stream: string;
  /** DELIVERY_REDIS_MAXLEN: the bound over all partitions (each gets its share). */
  maxLen: number;
  /** Default: 16 in Cluster, 0 (one stream) on a standalone server. */
  partitions?: number;
}

export class RedisStreamLog implements DurableLog {
  readonly name = 'redis-stream';
  readonly connection: RedisConnection;
  readonly counters: StreamCounters;
  readonly #layout: KeyLayout;
  readonly #maxLenArg: string;

  constructor(options: RedisStreamLogOptions) {
    const { connection, stream, maxLen } = options;
    if (!Number.isSafeInteger(maxLen) || maxLen < 1) throw new RangeError(`maxLen must be a whole number >= 1, got ${String(maxLen)}`);
    const partitions = options.partitions ?? (connection.kind === 'cluster' ? DEFAULT_CLUSTER_PARTITIONS : 0);
    this.connection = connection;
    // Only the stream's names are used; the key prefix and fields do not matter here.
    this.#layout = new KeyLayout({ prefix: '', keyFields: ['interactionId'], stream, partitions });
    this.#maxLenArg = String(Math.max(1, Math.ceil(maxLen / Math.max(1, partitions))));
    this.counters = new StreamCounters(stream, partitions);
  }

  /** Every stream key consumers read (one per partition). */
  streamKeys(): string[] {
    return this.#layout.streamKeys();
  }

  /** XADD; resolves with the entry id once Redis has it, rejects (RedisUnavailableError) when not. */
  async append(record: NewDeliveryRecord): Promise<string> {
    const key = this.#layout.streamKey(record.interactionId);
    const c = this.counters;
    c.inFlight++;
    try {
      const entry = await this.connection.send<string>('xadd', key, ['XADD', key, 'MAXLEN', '~', this.#maxLenArg, '*', 'id', record.id, 'status', record.status, 'event', record.body]);
      c.appended++;
      return entry;
    } catch (err) {
      c.failed(err);
      throw err;
    } finally {
      c.inFlight--;
    }
  }

  /** Connects, waiting up to `waitMs`; throws RedisUnavailableError if not reachable by then (it keeps trying). */
  open(waitMs?: number): Promise<void> {
    return this.connection.connect(waitMs);
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
