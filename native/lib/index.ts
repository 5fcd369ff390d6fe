/**
 * `@cxone-dedup/bloom` from CommonJS (`require`). Everything of the factory entry, plus the
 * classes `BloomFilter` and `DedupWindow`: the native ones. CommonJS cannot wait for the
 * xxhash-wasm fallback to compile, so where the addon does not load these two are stand-ins
 * that throw the reason (with `params` still working); `(await loadBloomFactory()).BloomFilter`
 * is then the fallback's class. The ESM entry (index.mts) waits, and exports whichever loads.
 */
import { nativeAddon } from './loader.js';
import { computeBloomParams, computeWindowParams } from './params.js';
import type { BloomFilterClass, BloomFilterLike, DedupWindowClass, WindowLike } from './types.js';

export * from './factory.js';

/** A class whose construction and factories throw why the addon did not load. */
function unavailable(name: 'BloomFilter' | 'DedupWindow', error: Error): unknown {
  const fail = (): never => {
    throw new Error(
      `${name}: the native addon did not load (${error.message}); from CommonJS, \`(await loadBloomFactory()).${name}\` is the fallback's class`,
      { cause: error },
    );
  };
  const stand = function () {
    fail();
  };
  return Object.assign(stand, {
    fromBuffer: fail,
    createShared: fail,
    fromShared: fail,
    fromGenerations: fail,
    params: name === 'BloomFilter' ? computeBloomParams : computeWindowParams,
  });
}

function nativeClasses(): { BloomFilter: BloomFilterClass; DedupWindow: DedupWindowClass } {
  try {
    const { BloomFilter, DedupWindow } = nativeAddon();
    return { BloomFilter, DedupWindow };
  } catch (err) {
    return {
      BloomFilter: unavailable('BloomFilter', err as Error) as BloomFilterClass,
      DedupWindow: unavailable('DedupWindow', err as Error) as DedupWindowClass,
    };
  }
}

const classes = nativeClasses();

/** The native Bloom filter class (see the module comment for where the addon does not load). */
export const BloomFilter: BloomFilterClass = classes.BloomFilter;
export type BloomFilter = BloomFilterLike;
/** The native dedup window class. */
export const DedupWindow: DedupWindowClass = classes.DedupWindow;
export type DedupWindow = WindowLike;
