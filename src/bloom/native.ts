/**
 * The native Bloom filter and dedup window: the Rust addon (`native/`, napi-rs) loaded for this
 * platform.
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
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
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
  /** Loads a snapshot (docs/bloom-format.md); an `Error` with code `ERR_BLOOM_SNAPSHOT` when it is invalid. */
  fromBuffer(snapshot: Uint8Array): NativeBloomFilter;
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

/** The addon module's exports. */
export interface NativeAddon {
  readonly BloomFilter: NativeBloomFilterClass;
  readonly DedupWindow: NativeDedupWindowClass;
  /**
   * True when `signatureHex` is exactly 64 hex digits (either case) equal, in constant time, to
   * HMAC-SHA256(key, prefix ‖ message). TypeError for wrong argument types; RangeError for a
   * prefix over 64 bytes.
   */
  readonly hmacSha256Verify: (key: Uint8Array, message: Uint8Array, signatureHex: string, prefix?: string | Uint8Array) => boolean;
  /** Lowercase hex HMAC-SHA256(key, prefix ‖ message). */
  readonly hmacSha256Hex: (key: Uint8Array, message: Uint8Array, prefix?: string | Uint8Array) => string;
}

let cachedAddon: NativeAddon | undefined;

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
  fromBuffer(snapshot: Uint8Array): NativeBloomFilter;
  createWindow(capacity: number, errorRate: number): NativeDedupWindow;
  windowFromGenerations(active: WindowGenerationInput, previous: WindowGenerationInput): NativeDedupWindow;
  createShared(capacity: number, errorRate: number): NativeBloomFilter;
  fromShared(memory: SharedArrayBuffer | ArrayBufferView, capacity: number, errorRate: number): NativeBloomFilter;
  params(capacity: number, errorRate: number): BloomParams;
}

/** Overrides where the addon is loaded from (an absolute path to a `.node` file). */
export const NATIVE_PATH_ENV = 'CXONE_DEDUP_NATIVE_PATH';

function isMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

/** The napi-rs platform triple of this process, as in `cxone-dedup.<triple>.node`. */
export function platformTriple(platform: string = process.platform, arch: string = process.arch): string {
  switch (platform) {
    case 'linux':
      if (arch === 'arm') return 'linux-arm-gnueabihf';
      return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
    case 'win32':
      return `win32-${arch}-msvc`;
    default:
      return `${platform}-${arch}`;
  }
}

/**
 * Path of the addon for this platform: `native/cxone-dedup.<triple>.node` at the package
 * root (the same from `src/bloom/` under tsx and from `dist/bloom/` after tsc), unless
 * `CXONE_DEDUP_NATIVE_PATH` names another file.
 */
export function nativeAddonPath(): string {
  const override = process.env[NATIVE_PATH_ENV];
  if (override) return override;
  return fileURLToPath(new URL(`../../native/cxone-dedup.${platformTriple()}.node`, import.meta.url));
}

let cachedFactory: NativeBloomFactory | undefined;

/** Loads the addon module; throws an Error that says why when it cannot. */
export function loadNativeAddon(path: string = nativeAddonPath()): NativeAddon {
  if (!existsSync(path)) {
    throw new Error(
      `native Bloom filter addon not found at ${path} (build it with \`npm run build:native\`, which needs a Rust toolchain)`,
    );
  }
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)(path);
  } catch (err) {
    throw new Error(`native Bloom filter addon at ${path} failed to load: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
  const m = mod as Partial<NativeAddon> | null;
  const cls = m?.BloomFilter;
  if (typeof cls !== 'function' || typeof cls.fromBuffer !== 'function' || typeof cls.fromShared !== 'function') {
    throw new Error(`native Bloom filter addon at ${path} does not export the expected BloomFilter class`);
  }
  if (typeof m?.hmacSha256Verify !== 'function' || typeof m.hmacSha256Hex !== 'function') {
    throw new Error(`native addon at ${path} does not export the signature functions (rebuild it with \`npm run build:native\`)`);
  }
  const win = m.DedupWindow;
  if (typeof win !== 'function' || typeof win.fromGenerations !== 'function' || typeof win.params !== 'function') {
    throw new Error(`native addon at ${path} does not export the DedupWindow class (rebuild it with \`npm run build:native\`)`);
  }
  return { BloomFilter: cls, DedupWindow: win, hmacSha256Verify: m.hmacSha256Verify, hmacSha256Hex: m.hmacSha256Hex };
}

/** The addon for this platform, loaded once (see loadNativeAddon for the errors). */
export function nativeAddon(): NativeAddon {
  cachedAddon ??= loadNativeAddon();
  return cachedAddon;
}

/**
 * The native filter factory (loaded once, then cached). Throws a clear Error when the addon
 * is missing or does not load; `loadBloomFactory()` (index.ts) then falls back.
 */
export function loadNativeFactory(): NativeBloomFactory {
  if (cachedFactory) return cachedFactory;
  const path = nativeAddonPath();
  const { BloomFilter, DedupWindow } = nativeAddon();
  cachedFactory = Object.freeze({
    kind: 'native' as const,
    path,
    BloomFilter,
    DedupWindow,
    create: (capacity: number, errorRate: number) => new BloomFilter(capacity, errorRate),
    fromBuffer: (snapshot: Uint8Array) => BloomFilter.fromBuffer(snapshot),
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
