/**
 * The native Bloom filter and dedup window: the Rust addon's `BloomFilter` and `DedupWindow`
 * classes (loaded by src/native/addon.ts).
 *
 * The addon's classes are used as they are, with no JS wrapper around each call: `BloomFilter`
 * already has the `BloomFilterLike` shape and `DedupWindow` the `WindowLike` one (`kind` is
 * `'native'` on their prototypes; sizes such as `capacity` are plain own properties), so
 * `has`/`add`/`check`/`observe` go straight from JS into Rust. Raw addon types:
 * `native/index.d.ts`.
 *
 * Shared memory: `createShared()` puts the bits in a `SharedArrayBuffer`; post
 * `filter.sharedMemory` (with capacity and errorRate) to a worker, which attaches with
 * `fromShared()`. All of them then read and set the same bits, atomically.
 */
import { nativeAddon, nativeAddonPath } from '../native/addon.js';
import type { BloomFactory, BloomFilterLike, BloomKey, BloomParams, WindowGenerationInput, WindowLike, WindowParams } from './types.js';

/** A native filter: `BloomFilterLike` plus what only the addon has. */
export interface NativeBloomFilter extends BloomFilterLike {
  readonly kind: 'native';
  /** bitCount / 8: bytes of bit storage. */
  readonly byteLength: number;
  /** The SharedArrayBuffer holding the bits of a shared filter; null when the addon owns them. */
  readonly sharedMemory: SharedArrayBuffer | null;
  /** `addMany`, answers as bytes (1 = was absent): the cheapest batch form. */
  addManyMask(keys: readonly BloomKey[]): Uint8Array;
  /** `hasMany`, answers as bytes (1 = maybe present). */
  hasManyMask(keys: readonly BloomKey[]): Uint8Array;
}

/** The addon's `BloomFilter` class (see native/index.d.ts for the errors each member throws). */
export interface NativeBloomFilterClass {
  new (capacity: number, errorRate: number): NativeBloomFilter;
  readonly prototype: NativeBloomFilter;
  /** Loads an image (docs/bloom-format.md); an `Error` with code `ERR_BLOOM_SNAPSHOT` when it is invalid. */
  fromBuffer(image: Uint8Array): NativeBloomFilter;
  /**
   * A filter over existing shared memory, used as is (not cleared): a SharedArrayBuffer or a
   * typed array over one, exactly `params(capacity, errorRate).byteLength` bytes, 8-byte
   * aligned. A plain ArrayBuffer is refused (TypeError). The filter keeps the memory alive.
   */
  fromShared(memory: SharedArrayBuffer | ArrayBufferView, capacity: number, errorRate: number): NativeBloomFilter;
  /** A filter on a new zeroed SharedArrayBuffer (its `sharedMemory`). */
  createShared(capacity: number, errorRate: number): NativeBloomFilter;
  /** Sizing, with the constructor's checks (TypeError / RangeError). */
  params(capacity: number, errorRate: number): BloomParams;
}

/** A native dedup window: `WindowLike`, answered by the Rust core in one call per key. */
export interface NativeDedupWindow extends WindowLike {
  readonly kind: 'native';
}

/** The addon's `DedupWindow` class (see native/index.d.ts for the errors each member throws). */
export interface NativeDedupWindowClass {
  new (capacity: number, errorRate: number): NativeDedupWindow;
  readonly prototype: NativeDedupWindow;
  /**
   * A window from two exported generations. Errors: TypeError / RangeError for malformed
   * arguments; `Error` with code `ERR_BLOOM_SNAPSHOT`, `ERR_FINGERPRINT_SNAPSHOT` or
   * `ERR_WINDOW_SNAPSHOT` (parts that do not fit together) for rejected content.
   */
  fromGenerations(active: WindowGenerationInput, previous: WindowGenerationInput): NativeDedupWindow;
  /** Sizing, with the constructor's checks. */
  params(capacity: number, errorRate: number): WindowParams;
}

/** `BloomFactory` for the native filter, plus shared memory. */
export interface NativeBloomFactory extends BloomFactory {
  readonly kind: 'native';
  /** Where the addon was loaded from. */
  readonly path: string;
  /** The addon class itself (for `instanceof`). */
  readonly BloomFilter: NativeBloomFilterClass;
  /** The addon's window class (for `instanceof`). */
  readonly DedupWindow: NativeDedupWindowClass;
  create(capacity: number, errorRate: number): NativeBloomFilter;
  fromBuffer(image: Uint8Array): NativeBloomFilter;
  createWindow(capacity: number, errorRate: number): NativeDedupWindow;
  windowFromGenerations(active: WindowGenerationInput, previous: WindowGenerationInput): NativeDedupWindow;
  windowParams(capacity: number, errorRate: number): WindowParams;
  createShared(capacity: number, errorRate: number): NativeBloomFilter;
  fromShared(memory: SharedArrayBuffer | ArrayBufferView, capacity: number, errorRate: number): NativeBloomFilter;
  params(capacity: number, errorRate: number): BloomParams;
}

let cachedFactory: NativeBloomFactory | undefined;

/**
 * The native filter factory (loaded once, then cached). Throws a clear Error when the addon
 * is missing or does not load; `loadBloomFactory()` (index.ts) then falls back.
 */
export function loadNativeFactory(): NativeBloomFactory {
  if (cachedFactory) return cachedFactory;
  const path = nativeAddonPath();
  // The loader checked the classes' statics; this module knows their shape.
  const addon = nativeAddon();
  const BloomFilter = addon.BloomFilter as NativeBloomFilterClass;
  const DedupWindow = addon.DedupWindow as NativeDedupWindowClass;
  cachedFactory = Object.freeze({
    kind: 'native' as const,
    path,
    BloomFilter,
    DedupWindow,
    create: (capacity: number, errorRate: number) => new BloomFilter(capacity, errorRate),
    fromBuffer: (image: Uint8Array) => BloomFilter.fromBuffer(image),
    createWindow: (capacity: number, errorRate: number) => new DedupWindow(capacity, errorRate),
    windowFromGenerations: (active: WindowGenerationInput, previous: WindowGenerationInput) =>
      DedupWindow.fromGenerations(active, previous),
    windowParams: (capacity: number, errorRate: number) => DedupWindow.params(capacity, errorRate),
    createShared: (capacity: number, errorRate: number) => BloomFilter.createShared(capacity, errorRate),
    fromShared: (memory: SharedArrayBuffer | ArrayBufferView, capacity: number, errorRate: number) =>
      BloomFilter.fromShared(memory, capacity, errorRate),
    params: (capacity: number, errorRate: number) => BloomFilter.params(capacity, errorRate),
  });
  return cachedFactory;
}
