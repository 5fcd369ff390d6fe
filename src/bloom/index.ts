/**
 * `cxone-dedup/bloom`: the `@cxone-dedup/bloom` package (native filter and window where the addon
 * loads, the xxhash-wasm fallback where it does not; docs/bloom-format.md), as this package
 * exports it: the same classes, chosen at import (`BloomFilter`, `DedupWindow`), and
 * `loadBloomFactory` to choose yourself, whose one warning about a fallback is a JSON line on
 * stderr here, like the daemon's other logs.
 *
 * @example
 * ```ts
 * import { BloomFilter, DedupWindow, VERDICT_MASK } from 'cxone-dedup/bloom';
 * import { readFile, writeFile } from 'node:fs/promises';
 *
 * const seen = new BloomFilter(1_000_000, 0.001);    // capacity, false-positive rate
 * if (seen.add('event-42')) console.log('first time'); // strings (UTF-8) or Buffer/Uint8Array
 * seen.has('event-42');                             // true: maybe seen; false: certainly not
 * await writeFile('seen.bloom', seen.toBuffer());
 * const restored = BloomFilter.fromBuffer(await readFile('seen.bloom')); // BloomSnapshotError on a bad image
 *
 * const window = new DedupWindow(1_000_000, 0.001); // two generations, exact answers
 * window.observe('event-42') & VERDICT_MASK;        // VERDICT_NEW, then VERDICT_DUPLICATE
 * ```
 */
import {
  createBloomFilter as createWith,
  loadBloomFactory as loadWith,
  type BloomFactory,
  type BloomFilterLike,
  type LoadBloomFactoryOptions,
} from '@cxone-dedup/bloom/factory';
import { createLogger } from '../log.js';

export * from '@cxone-dedup/bloom';

/** The package's `loadBloomFactory`, warning on stderr as a JSON line unless `options.logger` says otherwise. */
export function loadBloomFactory(options?: LoadBloomFactoryOptions): Promise<BloomFactory> {
  return loadWith(withLogger(options));
}

/** The package's `createBloomFilter`, with `loadBloomFactory`'s logger. */
export function createBloomFilter(capacity: number, errorRate: number, options?: LoadBloomFactoryOptions): Promise<BloomFilterLike> {
  return createWith(capacity, errorRate, withLogger(options));
}

function withLogger(options: LoadBloomFactoryOptions | undefined): LoadBloomFactoryOptions | undefined {
  // A malformed options value goes through unchanged, for the package's own checks.
  if (typeof options !== 'object' || options === null || Array.isArray(options) || options.logger !== undefined) return options;
  return { ...options, logger: createLogger() };
}
