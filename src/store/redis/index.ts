/**
 * The Redis store: the dedup window and latest state shared through Redis (issue 11), with the
 * optional Redis Streams delivery (issue 10). See docs/redis.md.
 */
export { RedisUnavailableError } from './errors.js';
export { RedisConnection, type RedisConnectionOptions } from './connection.js';
export { createRedisStore, type CreateRedisStoreOptions, type RedisStoreConfig } from './factory.js';
export { KeyLayout, escapeTag, fnv1a32 } from './keys.js';
export {
  RedisStore,
  type BeginResult,
  type Claim,
  type CommitResult,
  type DeliverMode,
  type ObserveResult,
  type RedisStoreOptions,
  type StateOutcome,
  type StoreEvent,
  type StreamOptions,
} from './store.js';
export {
  DEFAULT_KEY_PREFIX,
  describeTarget,
  parseClusterNodes,
  parseKeyPrefix,
  parseRedisUrl,
  resolveTarget,
  type RedisEndpoint,
  type RedisTarget,
} from './settings.js';
