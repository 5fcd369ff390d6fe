/**
 * Loads the Rust addon (`native/`, napi-rs) for this platform, once, for everything that uses it:
 * the Bloom filter (bloom/native.ts) and the webhook HMAC (http/signature.ts). Raw addon types:
 * `native/index.d.ts`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon module's exports. */
export interface NativeAddon {
  /**
   * The Bloom filter class; its statics are checked at load. bloom/native.ts describes it
   * (NativeBloomFilterClass), so this module needs nothing from bloom/.
   */
  readonly BloomFilter: abstract new (...args: never[]) => unknown;
  /** The dedup window class (bloom/native.ts: NativeDedupWindowClass). */
  readonly DedupWindow: abstract new (...args: never[]) => unknown;
  /**
   * True when `signatureHex` is exactly 64 hex digits (either case) equal, in constant time, to
   * HMAC-SHA256(key, prefix ‖ message). TypeError for wrong argument types; RangeError for a
   * prefix over 64 bytes.
   */
  readonly hmacSha256Verify: (key: Uint8Array, message: Uint8Array, signatureHex: string, prefix?: string | Uint8Array) => boolean;
  /** Lowercase hex HMAC-SHA256(key, prefix ‖ message). */
  readonly hmacSha256Hex: (key: Uint8Array, message: Uint8Array, prefix?: string | Uint8Array) => string;
}

/** Overrides where the addon is loaded from (an absolute path to a `.node` file). */
export const NATIVE_PATH_ENV = 'CXONE_DEDUP_NATIVE_PATH';

let cachedAddon: NativeAddon | undefined;

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
 * root (the same from `src/native/` under tsx and from `dist/native/` after tsc), unless
 * `CXONE_DEDUP_NATIVE_PATH` names another file.
 */
export function nativeAddonPath(): string {
  const override = process.env[NATIVE_PATH_ENV];
  if (override) return override;
  return fileURLToPath(new URL(`../../native/cxone-dedup.${platformTriple()}.node`, import.meta.url));
}

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
  const m = mod as { BloomFilter?: unknown; DedupWindow?: unknown; hmacSha256Verify?: unknown; hmacSha256Hex?: unknown } | null;
  const cls = m?.BloomFilter as (NativeAddon['BloomFilter'] & { fromBuffer?: unknown; fromShared?: unknown }) | undefined;
  if (typeof cls !== 'function' || typeof cls.fromBuffer !== 'function' || typeof cls.fromShared !== 'function') {
    throw new Error(`native Bloom filter addon at ${path} does not export the expected BloomFilter class`);
  }
  if (typeof m?.hmacSha256Verify !== 'function' || typeof m.hmacSha256Hex !== 'function') {
    throw new Error(`native addon at ${path} does not export the signature functions (rebuild it with \`npm run build:native\`)`);
  }
  const win = m?.DedupWindow as (NativeAddon['DedupWindow'] & { fromGenerations?: unknown; params?: unknown }) | undefined;
  if (typeof win !== 'function' || typeof win.fromGenerations !== 'function' || typeof win.params !== 'function') {
    throw new Error(`native addon at ${path} does not export the DedupWindow class (rebuild it with \`npm run build:native\`)`);
  }
  return {
    BloomFilter: cls,
    DedupWindow: win,
    hmacSha256Verify: m.hmacSha256Verify as NativeAddon['hmacSha256Verify'],
    hmacSha256Hex: m.hmacSha256Hex as NativeAddon['hmacSha256Hex'],
  };
}

/** The addon for this platform, loaded once (see loadNativeAddon for the errors). */
export function nativeAddon(): NativeAddon {
  cachedAddon ??= loadNativeAddon();
  return cachedAddon;
}
