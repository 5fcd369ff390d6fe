/**
 * A RedisStore from the daemon's configuration: the connection from REDIS_URL or
 * REDIS_CLUSTER_NODES (+ REDIS_PASSWORD, REDIS_TIMEOUT_MS), keys under REDIS_KEY_PREFIX with
 * DEDUP_KEY_FIELDS, a window of two compaction intervals, states kept STATE_TTL_SECONDS.
 * The stream (delivery settings) is the caller's to pass. Nothing connects until `open()`.
 */
import type { KeyField } from '../../dedup/key.js';
import type { Logger } from '../../log.js';
import { RedisConnection } from './connection.js';
import { resolveTarget } from './settings.js';
import { RedisStore, type DeliverMode, type StreamOptions } from './store.js';

/** The settings the Redis store reads (config.ts's names: a Config is one). */
export interface RedisStoreConfig {
  redisUrl: string | undefined;
  redisClusterNodes: string[] | undefined;
  redisPassword: string | undefined;
  redisKeyPrefix: string;
  redisTimeoutMs: number;
  stateTtlSeconds: number;
  compactionIntervalSeconds: number;
  dedupKeyFields: readonly KeyField[];
}

export interface CreateRedisStoreOptions {
  /** DELIVER: what begin holds and the stream gets (default processed). */
  deliver?: DeliverMode;
  stream?: StreamOptions;
  claimTtlMs?: number;
  logger?: Logger;
}

/**
 * The connection REDIS_URL or REDIS_CLUSTER_NODES (+ REDIS_PASSWORD, REDIS_TIMEOUT_MS) describe, for
 * the store or the stream sink beside the memory store. Throws (a plain Error naming the settings)
 * when neither is set. Nothing connects yet.
 */
export function redisConnectionFor(config: Pick<RedisStoreConfig, 'redisUrl' | 'redisClusterNodes' | 'redisPassword' | 'redisTimeoutMs'>, logger?: Logger): RedisConnection {
  return new RedisConnection({
    target: resolveTarget(config.redisUrl, config.redisClusterNodes, config.redisPassword),
    timeoutMs: config.redisTimeoutMs,
    ...(logger !== undefined && { logger }),
  });
}

/** Throws (a plain Error naming the settings) when neither REDIS_URL nor REDIS_CLUSTER_NODES is set. */
export function createRedisStore(config: RedisStoreConfig, options: CreateRedisStoreOptions = {}): RedisStore {
  const connection = redisConnectionFor(config, options.logger);
  return new RedisStore({
    connection,
    keyPrefix: config.redisKeyPrefix,
    keyFields: config.dedupKeyFields,
    // The memory store's window: remembered while events are < 1 interval apart, gone after 2 idle.
    windowMs: Math.max(1, Math.round(2 * config.compactionIntervalSeconds * 1000)),
    stateTtlMs: config.stateTtlSeconds * 1000,
    ...(options.claimTtlMs !== undefined && { claimTtlMs: options.claimTtlMs }),
    ...(options.deliver !== undefined && { deliver: options.deliver }),
    ...(options.stream !== undefined && { stream: options.stream }),
  });
}
