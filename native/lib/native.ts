/**
 * The native filter and dedup window: the Rust addon's `BloomFilter` and `DedupWindow` classes
 * (loaded by loader.ts), used as they are: `has` / `add` / `check` / `observe` go straight from
 * JS into Rust, with no wrapper around each call.
 *
 * Shared memory: `createShared()` puts the bits in a `SharedArrayBuffer`; post
 * `filter.sharedMemory` (with capacity and errorRate) to a worker, which attaches with
 * `fromShared()`. All of them then read and set the same bits, atomically.
 */
import { nativeAddon, nativeAddonPath, type NativeBloomFilter, type NativeBloomFilterClass, type NativeDedupWindow, type NativeDedupWindowClass } from './loader.js';
import type { BloomFactory, BloomParams, WindowGenerationInput, WindowParams } from './types.js';

export type { NativeBloomFilter, NativeBloomFilterClass, NativeDedupWindow, NativeDedupWindowClass };

/** `BloomFactory` for the native filter, plus shared memory. */
export interface NativeBloomFactory extends BloomFactory {
  readonly kind: 'native';
  /** Where the addon was loaded from. */
  readonly path: string;
  readonly BloomFilter: NativeBloomFilterClass;
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
 * The native filter factory (loaded once, then cached). Throws a clear Error when the addon is
 * missing or does not load; `loadBloomFactory()` then falls back.
 */
export function loadNativeFactory(): NativeBloomFactory {
  if (cachedFactory) return cachedFactory;
  const { BloomFilter, DedupWindow } = nativeAddon();
  cachedFactory = Object.freeze({
    kind: 'native' as const,
    path: nativeAddonPath(),
    BloomFilter,
    DedupWindow,
    create: (capacity: number, errorRate: number) => new BloomFilter(capacity, errorRate),
    fromBuffer: (image: Uint8Array) => BloomFilter.fromBuffer(image),
    createWindow: (capacity: number, errorRate: number) => new DedupWindow(capacity, errorRate),
    windowFromGenerations: (active: WindowGenerationInput, previous: WindowGenerationInput) => DedupWindow.fromGenerations(active, previous),
    windowParams: (capacity: number, errorRate: number) => DedupWindow.params(capacity, errorRate),
    createShared: (capacity: number, errorRate: number) => BloomFilter.createShared(capacity, errorRate),
    fromShared: (memory: SharedArrayBuffer | ArrayBufferView, capacity: number, errorRate: number) => BloomFilter.fromShared(memory, capacity, errorRate),
    params: (capacity: number, errorRate: number) => BloomFilter.params(capacity, errorRate),
  });
  return cachedFactory;
}
