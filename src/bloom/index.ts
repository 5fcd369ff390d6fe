/**
 * `cxone-dedup/bloom`: a Bloom filter for Node.js that is native (Rust, napi-rs) where the addon
 * loads and portable (xxhash-wasm) where it does not. Both set the same bits for the same keys
 * and read each other's images (`toBuffer()`, docs/bloom-format.md).
 *
 * @example
 * ```ts
 * import { loadBloomFactory, VERDICT_MASK } from 'cxone-dedup/bloom';
 * import { readFile, writeFile } from 'node:fs/promises';
 *
 * const bloom = await loadBloomFactory();           // once; everything after is synchronous
 * const seen = bloom.create(1_000_000, 0.001);      // capacity, false-positive rate
 * if (seen.add('event-42')) console.log('first time'); // strings (UTF-8) or Buffer/Uint8Array
 * seen.has('event-42');                             // true: maybe seen; false: certainly not
 * await writeFile('seen.bloom', seen.toBuffer());
 * const restored = bloom.fromBuffer(await readFile('seen.bloom')); // throws on a bad image
 *
 * const window = bloom.createWindow(1_000_000, 0.001); // two generations, exact answers
 * window.observe('event-42') & VERDICT_MASK;        // VERDICT_NEW, then VERDICT_DUPLICATE
 * ```
 */
import { createLogger, type Logger } from '../log.js';
import { loadFallbackFactory } from './fallback.js';
import { computeBloomParams } from './params.js';
import type { BloomFactory, BloomFilterLike, BloomKind } from './types.js';

export type {
  BloomFactory,
  BloomFilterLike,
  BloomKey,
  BloomKind,
  BloomParams,
  WindowGeneration,
  WindowGenerationInput,
  WindowGenerationStats,
  WindowLike,
  WindowParams,
  WindowStats,
  WindowVerdict,
  WindowWhich,
} from './types.js';
// Types only: erased at run time, so importing this module never loads the addon.
export type { NativeBloomFactory, NativeBloomFilter, NativeDedupWindow } from './native.js';
export {
  FallbackBloomFilter,
  hashPositions,
  loadFallbackFactory,
  loadFallbackHasher,
  type FallbackBloomFactory,
  type FallbackFilterLayout,
  type FallbackFilterOptions,
  type FallbackHasher,
} from './fallback.js';
export {
  computeBloomParams,
  computeWindowParams,
  HASH_ID,
  MAX_BITS,
  MAX_CAPACITY,
  MAX_HASHES,
  MAX_TABLE_SLOTS,
  MAX_WINDOW_CAPACITY,
} from './params.js';
// The package's published names: docs/bloom-format.md calls the image a snapshot.
export { BloomSnapshotError, IMAGE_HEADER_BYTES as SNAPSHOT_HEADER_BYTES, IMAGE_VERSION as SNAPSHOT_VERSION, type ImageErrorCode as SnapshotErrorCode } from './image.js';
export {
  FallbackFingerprintTable,
  FingerprintSnapshotError,
  TABLE_SNAPSHOT_HEADER_BYTES,
  TABLE_SNAPSHOT_VERSION,
  type TableSnapshotErrorCode,
} from './fingerprint.js';
export { FallbackDedupWindow, WindowSnapshotError, type WindowSnapshotErrorCode } from './window-fallback.js';
export {
  RECORD_AT_CAPACITY,
  RECORD_INSERTED,
  RECORD_OVERFLOW,
  VERDICT_DUPLICATE,
  VERDICT_MASK,
  VERDICT_NEW,
  VERDICT_UNCONFIRMED,
} from './window-codes.js';

export interface LoadBloomFactoryOptions {
  /** 'native' (default): the addon when it loads, else the fallback. 'fallback': always the fallback. */
  prefer?: BloomKind;
  /**
   * With `prefer: 'native'` (or no prefer): throw when the addon cannot load instead of falling
   * back (for deployments that demand the native filter). Ignored with `prefer: 'fallback'`.
   */
  strict?: boolean;
  /** Where the one warning about a native addon that did not load goes; default: JSON lines on stderr. */
  logger?: Logger;
  /** Replaces the native loader (tests, embedders with their own addon); must return a factory or throw. */
  loadNative?: () => BloomFactory | Promise<BloomFactory>;
}

async function loadNativeDefault(): Promise<BloomFactory> {
  // Imported lazily so that a broken addon module can never break importing this one.
  const native = await import('./native.js');
  return native.loadNativeFactory();
}

function checkOptions(options: unknown): LoadBloomFactoryOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError('options must be an object when given');
  }
  const o = options as LoadBloomFactoryOptions;
  if (o.prefer !== undefined && typeof o.prefer !== 'string') {
    throw new TypeError(`options.prefer must be 'native' or 'fallback', got ${typeof o.prefer}`);
  }
  if (o.prefer !== undefined && o.prefer !== 'native' && o.prefer !== 'fallback') {
    throw new RangeError(`options.prefer must be 'native' or 'fallback', got ${JSON.stringify(o.prefer)}`);
  }
  if (o.strict !== undefined && typeof o.strict !== 'boolean') {
    throw new TypeError('options.strict must be a boolean when given');
  }
  if (o.loadNative !== undefined && typeof o.loadNative !== 'function') {
    throw new TypeError('options.loadNative must be a function when given');
  }
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null || typeof o.logger.warn !== 'function')) {
    throw new TypeError('options.logger must be a Logger (see src/log.ts) when given');
  }
  return o;
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The best filter factory available: the native addon unless it fails to load (or
 * `prefer: 'fallback'`), else the xxhash-wasm fallback, announced by exactly one warn line
 * (with `strict: true`, a native addon that fails to load is thrown instead).
 */
export async function loadBloomFactory(options?: LoadBloomFactoryOptions): Promise<BloomFactory> {
  const opts = checkOptions(options);
  if (opts.prefer === 'fallback') return loadFallbackFactory();
  let nativeError: unknown;
  try {
    const factory = await (opts.loadNative ?? loadNativeDefault)();
    if (
      factory &&
      typeof factory.create === 'function' &&
      typeof factory.fromBuffer === 'function' &&
      typeof factory.createWindow === 'function' &&
      typeof factory.windowFromGenerations === 'function'
    ) {
      return factory;
    }
    nativeError = new TypeError('the native loader returned something that is not a BloomFactory');
  } catch (err) {
    nativeError = err;
  }
  const reason = describeError(nativeError);
  if (opts.strict) {
    throw new Error(`native Bloom filter addon could not load: ${reason}`, { cause: nativeError });
  }
  const logger = opts.logger ?? createLogger();
  logger.warn(`native Bloom filter addon could not load (${reason}); using the xxhash-wasm fallback filter`, {
    component: 'bloom',
    reason,
    error: nativeError,
    filter: 'fallback',
  });
  return loadFallbackFactory();
}

/** One filter from the best factory; validates capacity and errorRate before loading anything. */
export async function createBloomFilter(
  capacity: number,
  errorRate: number,
  options?: LoadBloomFactoryOptions,
): Promise<BloomFilterLike> {
  computeBloomParams(capacity, errorRate);
  const factory = await loadBloomFactory(options);
  return factory.create(capacity, errorRate);
}
