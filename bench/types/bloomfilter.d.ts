// The `bloomfilter` npm package ships no types; only what the benchmarks use.
declare module 'bloomfilter' {
  export class BloomFilter {
    /** m bits (rounded up to a multiple of 32), k hash functions. */
    constructor(m: number, k: number);
    readonly m: number;
    readonly k: number;
    readonly buckets: Uint32Array;
    add(value: string): void;
    test(value: string): boolean;
  }
}
