/**
 * `@cxone-dedup/bloom/factory`: everything in the package, with no implementation chosen at
 * import. `loadBloomFactory()` picks one when called: the native addon (Rust, napi-rs) where it
 * loads, the portable xxhash-wasm fallback where it does not. Both set the same bits for the same
 * keys and read each other's images (`toBuffer()`, docs/bloom-format.md).
 *
 * The package's main entry (`@cxone-dedup/bloom`) adds the classes `BloomFilter` and `DedupWindow`,
 * chosen at import.
 */
import { nativeAddon } from './loader.js';
import { loadFallbackFactory } from './fallback.js';
import { loadNativeFactory } from './native.js';
import { computeBloomParams } from './params.js';
import type { BloomFactory, BloomFilterLike, BloomKind } from './types.js';

export type {
  BloomFactory,
  BloomFilterClass,
  BloomFilterLike,
  BloomKey,
  BloomKind,
  BloomParams,
  DedupWindowClass,
  WindowGeneration,
  WindowGenerationInput,
  WindowGenerationStats,
  WindowLike,
  WindowParams,
  WindowStats,
  WindowVerdict,
  WindowWhich,
} from './types.js';
export { loadNativeAddon, nativeAddon, nativeAddonPath, NATIVE_PATH_ENV, platformTriple, type NativeAddon } from './loader.js';
export {
  loadNativeFactory,
  type NativeBloomFactory,
  type NativeBloomFilter,
  type NativeBloomFilterClass,
  type NativeDedupWindow,
  type NativeDedupWindowClass,
} from './native.js';
export {
  FallbackBloomFilter,
  fallbackBloomFilterClass,
  hashPositions,
  loadFallbackFactory,
  loadFallbackHasher,
  type FallbackBloomFactory,
  type FallbackFilterLayout,
  type FallbackFilterOptions,
  type FallbackHasher,
} from './fallback.js';
export { FallbackDedupWindow, fallbackDedupWindowClass } from './window-fallback.js';
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
export {
  BloomSnapshotError,
  FingerprintSnapshotError,
  WindowSnapshotError,
  type BloomImageReason,
  type TableImageReason,
  type WindowRestoreReason,
  // Earlier names of the reasons (they were the errors' `code` until both implementations shared one code per class).
  type BloomImageReason as SnapshotErrorCode,
  type TableImageReason as TableSnapshotErrorCode,
  type WindowRestoreReason as WindowSnapshotErrorCode,
} from './errors.js';
// Images (the format document calls them snapshots, hence the published SNAPSHOT_* names).
export {
  IMAGE_HEADER_BYTES,
  IMAGE_HEADER_BYTES as SNAPSHOT_HEADER_BYTES,
  IMAGE_VERSION,
  IMAGE_VERSION as SNAPSHOT_VERSION,
  imageChecksum,
  type ImageHasher,
} from './image.js';
export {
  FallbackFingerprintTable,
  homeSlot,
  TABLE_IMAGE_HEADER_BYTES,
  TABLE_IMAGE_HEADER_BYTES as TABLE_SNAPSHOT_HEADER_BYTES,
  TABLE_IMAGE_VERSION,
  TABLE_IMAGE_VERSION as TABLE_SNAPSHOT_VERSION,
  ZERO_FINGERPRINT_HI,
  ZERO_FINGERPRINT_LO,
} from './fingerprint.js';
export {
  RECORD_AT_CAPACITY,
  RECORD_INSERTED,
  RECORD_OVERFLOW,
  VERDICT_DUPLICATE,
  VERDICT_MASK,
  VERDICT_NEW,
  VERDICT_UNCONFIRMED,
} from './window-codes.js';
// cxone-dedup's per-webhook call (NativeDedupWindow.webhook): its codes and out slots.
export * from './webhook-codes.js';

/** Where `loadBloomFactory` says that it falls back: anything with a `warn(message, fields)`. */
export interface BloomWarningLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface LoadBloomFactoryOptions {
  /** 'native' (default): the addon when it loads, else the fallback. 'fallback': always the fallback. */
  prefer?: BloomKind;
  /**
   * With `prefer: 'native'` (or no prefer): throw when the addon cannot load instead of falling
   * back (for deployments that demand the native filter). Ignored with `prefer: 'fallback'`.
   */
  strict?: boolean;
  /** Where the one warning about an addon that did not load goes; default: a process warning (`process.emitWarning`). */
  logger?: BloomWarningLogger;
  /** Replaces the native loader (tests, embedders with their own addon); must return a factory or throw. */
  loadNative?: () => BloomFactory | Promise<BloomFactory>;
}

/** The code of the process warning emitted when the fallback is used because the addon did not load. */
export const FALLBACK_WARNING_CODE = 'CXONE_BLOOM_FALLBACK';

const processWarnings: BloomWarningLogger = {
  warn: (message) => process.emitWarning(message, { code: FALLBACK_WARNING_CODE }),
};

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
    throw new TypeError('options.logger must be an object with a warn(message, fields) method when given');
  }
  return o;
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The best filter factory available: the native addon unless it fails to load (or
 * `prefer: 'fallback'`), else the xxhash-wasm fallback, announced by exactly one warning
 * (with `strict: true`, an addon that fails to load is thrown instead).
 */
export async function loadBloomFactory(options?: LoadBloomFactoryOptions): Promise<BloomFactory> {
  const opts = checkOptions(options);
  if (opts.prefer === 'fallback') return loadFallbackFactory();
  let nativeError: unknown;
  try {
    const factory = await (opts.loadNative ?? loadNativeFactory)();
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
  (opts.logger ?? processWarnings).warn(`native Bloom filter addon could not load (${reason}); using the xxhash-wasm fallback filter`, {
    component: 'bloom',
    reason,
    error: nativeError,
    filter: 'fallback',
  });
  return loadFallbackFactory();
}

/** One filter from the best factory; validates capacity and errorRate before loading anything. */
export async function createBloomFilter(capacity: number, errorRate: number, options?: LoadBloomFactoryOptions): Promise<BloomFilterLike> {
  computeBloomParams(capacity, errorRate);
  const factory = await loadBloomFactory(options);
  return factory.create(capacity, errorRate);
}

/**
 * Webhook signature check: true when `signatureHex` is exactly 64 hex digits (either case) equal,
 * in constant time, to HMAC-SHA256(key, prefix ‖ message). Native only: throws the addon's load
 * error where it does not load.
 */
export function hmacSha256Verify(key: Uint8Array, message: Uint8Array, signatureHex: string, prefix?: string | Uint8Array): boolean {
  return nativeAddon().hmacSha256Verify(key, message, signatureHex, prefix);
}

/** Lowercase hex HMAC-SHA256(key, prefix ‖ message). Native only, as hmacSha256Verify. */
export function hmacSha256Hex(key: Uint8Array, message: Uint8Array, prefix?: string | Uint8Array): string {
  return nativeAddon().hmacSha256Hex(key, message, prefix);
}
