/**
 * `@cxone-dedup/bloom` from ES modules (`import`): everything of the factory entry, plus the
 * classes `BloomFilter` and `DedupWindow`, chosen at import: the native ones where the addon
 * loads, else the xxhash-wasm fallback's, announced by one process warning (code
 * CXONE_BLOOM_FALLBACK). Both answer alike; `implementation` says which it is.
 *
 * ```ts
 * import { BloomFilter, DedupWindow } from '@cxone-dedup/bloom';
 * const seen = new BloomFilter(1_000_000, 0.001);
 * seen.add('event-42'); // true: certainly new
 * ```
 */
import { loadBloomFactory, type BloomFilterClass, type BloomFilterLike, type BloomKind, type DedupWindowClass, type WindowLike } from './factory.js';

export * from './factory.js';

const chosen = await loadBloomFactory();

/** The Bloom filter class: native, or the fallback where the addon does not load. */
export const BloomFilter: BloomFilterClass = chosen.BloomFilter;
export type BloomFilter = BloomFilterLike;
/** The exact dedup window class: native, or the fallback. */
export const DedupWindow: DedupWindowClass = chosen.DedupWindow;
export type DedupWindow = WindowLike;
/** Which implementation `BloomFilter` and `DedupWindow` are. */
export const implementation: BloomKind = chosen.kind;
