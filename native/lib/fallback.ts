/**
 * The portable Bloom filter: the scheme of docs/bloom-format.md on xxhash-wasm's XXH64, used when
 * the native addon cannot load. Bit for bit the same filter as the Rust one; each loads the
 * other's images. Its factory also builds the fallback dedup window (window-fallback.ts).
 */
import { endianness } from 'node:os';
import xxhash, { type XXHashAPI } from 'xxhash-wasm';
import { computeBloomParams, computeWindowParams, validateBitCount, validateCapacity, validateErrorRate, validateHashCount } from './params.js';
import { decodeImage, encodeImage } from './image.js';
import type { BloomFactory, BloomFilterClass, BloomFilterLike, BloomKey, BloomParams, DedupWindowClass, WindowGenerationInput } from './types.js';
// A cycle (the window is built of this module's filters): harmless, neither module uses the
// other's exports while it is being evaluated.
import { fallbackDedupWindowClass, FallbackDedupWindow } from './window-fallback.js';

/** The part of xxhash-wasm the filter needs (the object `await xxhash()` resolves to). */
export type FallbackHasher = Pick<XXHashAPI, 'h64' | 'h64Raw' | 'create64'>;

/** Storage of a filter, as handed to another worker to share it. */
export interface FallbackFilterLayout {
  readonly capacity: number;
  readonly errorRate: number;
  readonly bitCount: number;
  readonly hashCount: number;
  readonly storage: ArrayBuffer | SharedArrayBuffer;
}

export interface FallbackFilterOptions {
  /** Keep the bits in a SharedArrayBuffer (updated with Atomics) so workers can share the filter. */
  shared?: boolean;
  /**
   * Use this memory as the bits, as is (not zeroed): attaches to another filter's storage, e.g. a
   * SharedArrayBuffer from `layout()` posted by another worker. Must be exactly bitCount / 8 bytes.
   */
  storage?: ArrayBuffer | SharedArrayBuffer;
  /** Explicit m (with hashCount), as read from an image or a layout; by default derived from capacity and errorRate. */
  bitCount?: number;
  /** Explicit k (with bitCount). */
  hashCount?: number;
  /** The bits to start from: bitCount / 8 bytes, laid out as in an image (docs/bloom-format.md). */
  bits?: Uint8Array;
}

const LITTLE_ENDIAN = endianness() === 'LE';

// XXH64 arrives as a bigint; its two 32-bit halves are read through this scratch word so that
// everything after the hash is plain number arithmetic without further bigint allocations.
const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const TWO_16 = 65536;

/** x mod m for integers 0 <= x < 2^51 and 1 <= m <= 2^34: a float quotient (off by at most one), then a fix-up. */
function modSmall(x: number, m: number): number {
  const r = x - Math.floor(x / m) * m;
  return r < 0 ? r + m : r >= m ? r - m : r;
}

/** (hi * 2^32 + lo) mod m for uint32 halves, exactly, in doubles: Horner over 16-bit steps keeps every value below 2^51. */
function mod64(hi: number, lo: number, m: number): number {
  return modSmall(modSmall(hi * TWO_16 + (lo >>> 16), m) * TWO_16 + (lo & 0xffff), m);
}

// Results of splitHash (module state rather than a returned tuple: no allocation per key).
let splitH1 = 0;
let splitH2 = 0;

/** h1 = h mod m and h2 = ((h >> 32) mod m) | 1 of docs/bloom-format.md, into splitH1 / splitH2. */
function splitHash(h: bigint, m: number): void {
  scratch64[0] = h;
  splitHashParts(scratch32[HI]!, scratch32[LO]!, m);
}

/** splitHash for h = hi * 2^32 + lo (uint32 halves). */
function splitHashParts(hi: number, lo: number, m: number): void {
  splitH1 = mod64(hi, lo, m);
  // r can exceed 2^31 (m up to 2^34), so | 1 is done arithmetically; r + 1 < m as m is even.
  const r = hi < m ? hi : modSmall(hi, m);
  splitH2 = r % 2 === 0 ? r + 1 : r;
}

/**
 * h1, h2 and the k positions for an XXH64 value in a filter of m bits, with the filter's own
 * arithmetic; for test vectors and diagnostics (m and k are not validated here).
 */
export function hashPositions(h: bigint, bitCount: number, hashCount: number): { h1: number; h2: number; positions: number[] } {
  splitHash(h, bitCount);
  const h1 = splitH1;
  const h2 = splitH2;
  const positions: number[] = [];
  let pos = h1;
  for (let i = 0; i < hashCount; i++) {
    positions.push(pos);
    pos += h2;
    if (pos >= bitCount) pos -= bitCount;
  }
  return { h1, h2, positions };
}

/** The TypeError for a key that is neither a string nor bytes (shared with the fallback window). */
export function keyTypeError(key: unknown, what = 'key'): TypeError {
  const got = key === null ? 'null' : Array.isArray(key) ? 'an array' : typeof key;
  return new TypeError(`${what} must be a string or a Uint8Array/Buffer, got ${got}`);
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function checkHasher(hasher: unknown): asserts hasher is FallbackHasher {
  const h = hasher as Partial<FallbackHasher> | null;
  if (
    typeof h !== 'object' ||
    h === null ||
    typeof h.h64 !== 'function' ||
    typeof h.h64Raw !== 'function' ||
    typeof h.create64 !== 'function'
  ) {
    throw new TypeError('hasher must be the xxhash-wasm API object (the value of `await xxhash()`)');
  }
}

function checkOptions(options: unknown): FallbackFilterOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError('options must be an object when given');
  }
  const o = options as FallbackFilterOptions;
  if (o.shared !== undefined && typeof o.shared !== 'boolean') throw new TypeError('options.shared must be a boolean');
  if (
    o.storage !== undefined &&
    !(o.storage instanceof ArrayBuffer) &&
    !(typeof SharedArrayBuffer === 'function' && o.storage instanceof SharedArrayBuffer)
  ) {
    throw new TypeError('options.storage must be an ArrayBuffer or a SharedArrayBuffer');
  }
  if ((o.bitCount === undefined) !== (o.hashCount === undefined)) {
    throw new TypeError('options.bitCount and options.hashCount go together: give both or neither');
  }
  if (o.bits !== undefined && !(o.bits instanceof Uint8Array)) throw new TypeError('options.bits must be a Uint8Array');
  if (o.bits !== undefined && o.storage !== undefined) throw new TypeError('options.bits and options.storage exclude each other');
  return o;
}

export class FallbackBloomFilter implements BloomFilterLike {
  readonly kind = 'fallback' as const;
  readonly capacity: number;
  readonly errorRate: number;
  readonly bitCount: number;
  readonly hashCount: number;
  /** bitCount / 8: bytes of bit storage. */
  readonly byteLength: number;
  /** True when the bits live in a SharedArrayBuffer and are set with Atomics. */
  readonly shared: boolean;

  readonly #hasher: FallbackHasher;
  readonly #words: Uint32Array;
  // First position and step of the last hashed key (set by #hash; avoids returning a tuple).
  #h1 = 0;
  #h2 = 0;

  /**
   * A filter for `capacity` keys at false-positive rate `errorRate`. `hasher` is the xxhash-wasm
   * API (`await xxhash()`); `loadFallbackFactory()` supplies it for you.
   * TypeError / RangeError on bad arguments.
   */
  constructor(hasher: FallbackHasher, capacity: number, errorRate: number, options?: FallbackFilterOptions) {
    checkHasher(hasher);
    const opts = checkOptions(options);
    let bitCount: number;
    let hashCount: number;
    if (opts.bitCount !== undefined) {
      validateCapacity(capacity);
      validateErrorRate(errorRate);
      validateBitCount(opts.bitCount, 'options.bitCount');
      validateHashCount(opts.hashCount, 'options.hashCount');
      bitCount = opts.bitCount;
      hashCount = opts.hashCount;
    } else {
      ({ bitCount, hashCount } = computeBloomParams(capacity, errorRate));
    }
    const byteLength = bitCount / 8;
    let storage: ArrayBuffer | SharedArrayBuffer;
    if (opts.storage !== undefined) {
      if (opts.storage.byteLength !== byteLength) {
        throw new RangeError(`options.storage has ${opts.storage.byteLength} bytes; a filter of ${bitCount} bits needs exactly ${byteLength}`);
      }
      const isShared = !(opts.storage instanceof ArrayBuffer);
      if (opts.shared !== undefined && opts.shared !== isShared) {
        throw new TypeError(`options.shared is ${opts.shared} but options.storage is ${isShared ? 'a SharedArrayBuffer' : 'an ArrayBuffer'}`);
      }
      storage = opts.storage;
    } else {
      storage = opts.shared ? new SharedArrayBuffer(byteLength) : new ArrayBuffer(byteLength);
    }
    this.#hasher = hasher;
    this.capacity = capacity;
    this.errorRate = errorRate;
    this.bitCount = bitCount;
    this.hashCount = hashCount;
    this.byteLength = byteLength;
    this.shared = !(storage instanceof ArrayBuffer);
    this.#words = new Uint32Array(storage);
    if (opts.bits !== undefined) this.#load(opts.bits);
  }

  /** Copies an image's bits (little-endian words) into this filter's words. */
  #load(bits: Uint8Array): void {
    const words = this.#words;
    if (bits.byteLength !== words.byteLength) {
      throw new RangeError(`options.bits has ${bits.byteLength} bytes; a filter of ${this.bitCount} bits needs exactly ${words.byteLength}`);
    }
    if (LITTLE_ENDIAN) {
      new Uint8Array(words.buffer, words.byteOffset, words.byteLength).set(bits);
    } else {
      const view = new DataView(bits.buffer, bits.byteOffset, bits.byteLength);
      for (let i = 0; i < words.length; i++) words[i] = view.getUint32(i * 4, true);
    }
  }

  /** The SharedArrayBuffer holding the bits of a shared filter; null when they are not shared. */
  get sharedMemory(): SharedArrayBuffer | null {
    return this.shared ? (this.#words.buffer as SharedArrayBuffer) : null;
  }

  /** Restores a filter from an image (docs/bloom-format.md); throws BloomSnapshotError when it is invalid. */
  static fromBuffer(hasher: FallbackHasher, image: Uint8Array, options?: { shared?: boolean }): FallbackBloomFilter {
    checkHasher(hasher);
    const { shared } = checkOptions(options);
    const { header, bits } = decodeImage(hasher, image);
    return new FallbackBloomFilter(hasher, header.capacity, header.errorRate, { bitCount: header.bitCount, hashCount: header.hashCount, shared, bits });
  }

  /** The bit memory and its sizing, to attach from another worker via `options.storage`. */
  layout(): FallbackFilterLayout {
    return {
      capacity: this.capacity,
      errorRate: this.errorRate,
      bitCount: this.bitCount,
      hashCount: this.hashCount,
      storage: this.#words.buffer,
    };
  }

  /** Sets #h1 and #h2 for a key (docs/bloom-format.md, "Hashing"); TypeError for anything but a string or bytes. */
  #hash(key: unknown): void {
    let h: bigint;
    if (typeof key === 'string') h = this.#hasher.h64(key);
    else if (key instanceof Uint8Array) h = this.#hasher.h64Raw(key);
    else throw keyTypeError(key);
    splitHash(h, this.bitCount);
    this.#h1 = splitH1;
    this.#h2 = splitH2;
  }

  add(key: BloomKey): boolean {
    this.#hash(key);
    return this.#set();
  }

  has(key: BloomKey): boolean {
    this.#hash(key);
    return this.#test();
  }

  /**
   * `add` for a key whose XXH64 is `hi * 2^32 + lo` (uint32 halves), for callers that hash each
   * key once for several structures (the dedup window). Not validated: pass uint32 values.
   */
  addHash(hi: number, lo: number): boolean {
    splitHashParts(hi, lo, this.bitCount);
    this.#h1 = splitH1;
    this.#h2 = splitH2;
    return this.#set();
  }

  /** `has` for a key whose XXH64 is `hi * 2^32 + lo` (see addHash). */
  hasHash(hi: number, lo: number): boolean {
    splitHashParts(hi, lo, this.bitCount);
    this.#h1 = splitH1;
    this.#h2 = splitH2;
    return this.#test();
  }

  addMany(keys: readonly BloomKey[]): boolean[] {
    this.#checkKeys(keys);
    const out = new Array<boolean>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      this.#hash(keys[i]);
      out[i] = this.#set();
    }
    return out;
  }

  hasMany(keys: readonly BloomKey[]): boolean[] {
    this.#checkKeys(keys);
    const out = new Array<boolean>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      this.#hash(keys[i]);
      out[i] = this.#test();
    }
    return out;
  }

  /** `addMany`, the answers as bytes (1 = was absent). */
  addManyMask(keys: readonly BloomKey[]): Uint8Array {
    return Uint8Array.from(this.addMany(keys), Number);
  }

  /** `hasMany`, the answers as bytes (1 = maybe present). */
  hasManyMask(keys: readonly BloomKey[]): Uint8Array {
    return Uint8Array.from(this.hasMany(keys), Number);
  }

  /** Sets the k bits of the last hashed key; true when one of them was 0. */
  #set(): boolean {
    const words = this.#words;
    const m = this.bitCount;
    const k = this.hashCount;
    const step = this.#h2;
    let pos = this.#h1;
    let fresh = false;
    if (this.shared) {
      for (let i = 0; i < k; i++) {
        // pos & 31 is exact for any integer below 2^53 (ToInt32 keeps the low 32 bits).
        const bit = 1 << (pos & 31);
        if ((Atomics.or(words, Math.floor(pos / 32), bit) & bit) === 0) fresh = true;
        pos += step;
        if (pos >= m) pos -= m;
      }
    } else {
      for (let i = 0; i < k; i++) {
        const bit = 1 << (pos & 31);
        const w = Math.floor(pos / 32);
        const old = words[w]!;
        if ((old & bit) === 0) {
          words[w] = old | bit;
          fresh = true;
        }
        pos += step;
        if (pos >= m) pos -= m;
      }
    }
    return fresh;
  }

  /** True when all k bits of the last hashed key are set. */
  #test(): boolean {
    const words = this.#words;
    const m = this.bitCount;
    const k = this.hashCount;
    const step = this.#h2;
    let pos = this.#h1;
    for (let i = 0; i < k; i++) {
      if ((words[Math.floor(pos / 32)]! & (1 << (pos & 31))) === 0) return false;
      pos += step;
      if (pos >= m) pos -= m;
    }
    return true;
  }

  // Checks every key before touching any bit, so a bad batch changes nothing.
  #checkKeys(keys: unknown): asserts keys is readonly BloomKey[] {
    if (!Array.isArray(keys)) throw new TypeError(`keys must be an array, got ${keys === null ? 'null' : typeof keys}`);
    for (let i = 0; i < keys.length; i++) {
      const key: unknown = keys[i];
      if (typeof key !== 'string' && !(key instanceof Uint8Array)) throw keyTypeError(key, `keys[${i}]`);
    }
  }

  clear(): void {
    if (this.shared) {
      for (let i = 0; i < this.#words.length; i++) Atomics.store(this.#words, i, 0);
    } else {
      this.#words.fill(0);
    }
  }

  setBitCount(): number {
    const words = this.#words;
    let n = 0;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w !== 0) n += popcount32(w);
    }
    return n;
  }

  fillRatio(): number {
    return this.setBitCount() / this.bitCount;
  }

  estimatedFalsePositiveRate(): number {
    return this.fillRatio() ** this.hashCount;
  }

  estimatedCardinality(): number {
    const fill = this.fillRatio();
    return fill === 0 ? 0 : -(this.bitCount / this.hashCount) * Math.log(1 - fill);
  }

  toBuffer(): Buffer {
    const words = this.#words;
    return encodeImage(this.#hasher, this, (target) => {
      if (LITTLE_ENDIAN) {
        target.set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength));
      } else {
        const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
        for (let i = 0; i < words.length; i++) view.setUint32(i * 4, words[i]!, true);
      }
    });
  }
}

/**
 * The fallback filter as a class of its own, for the package's synchronous `BloomFilter` export
 * when the addon does not load: `new BloomFilter(capacity, errorRate)`, `BloomFilter.fromBuffer`,
 * `createShared`, `fromShared` and `params`, with the native class's checks and messages.
 */
export function fallbackBloomFilterClass(hasher: FallbackHasher): BloomFilterClass<FallbackBloomFilter> {
  checkHasher(hasher);
  // The base's statics take the hasher first; this class binds it (so its statics differ).
  const Base = FallbackBloomFilter as unknown as new (h: FallbackHasher, n: number, p: number, o?: FallbackFilterOptions) => FallbackBloomFilter;
  return class BloomFilter extends Base {
    constructor(capacity: number, errorRate: number, options?: FallbackFilterOptions) {
      super(hasher, capacity, errorRate, options);
    }

    static fromBuffer(image: Uint8Array): BloomFilter {
      const { header, bits } = decodeImage(hasher, image);
      return new BloomFilter(header.capacity, header.errorRate, { bitCount: header.bitCount, hashCount: header.hashCount, bits });
    }

    static createShared(capacity: number, errorRate: number): BloomFilter {
      return new BloomFilter(capacity, errorRate, { shared: true });
    }

    static fromShared(memory: SharedArrayBuffer | ArrayBufferView, capacity: number, errorRate: number): BloomFilter {
      const { byteLength, bitCount } = computeBloomParams(capacity, errorRate);
      return new BloomFilter(capacity, errorRate, { storage: sharedStorage(memory, byteLength, bitCount) });
    }

    static params(capacity: number, errorRate: number): BloomParams {
      return computeBloomParams(capacity, errorRate);
    }
  };
}

/** `fromShared`'s memory as the fallback takes it, checked with the native class's messages. */
function sharedStorage(memory: unknown, byteLength: number, bitCount: number): SharedArrayBuffer {
  const isView = ArrayBuffer.isView(memory);
  const buffer = isView ? memory.buffer : memory;
  if (!(buffer instanceof SharedArrayBuffer)) {
    if (isView) throw new TypeError('memory must be backed by a SharedArrayBuffer: a plain ArrayBuffer can be detached or transferred under the filter');
    const got = memory === null ? 'null' : typeof memory === 'object' ? 'an object' : typeof memory === 'string' ? 'a string' : String(typeof memory);
    throw new TypeError(`memory must be a SharedArrayBuffer or a typed array over one, got ${got}`);
  }
  const size = isView ? memory.byteLength : buffer.byteLength;
  if (size !== byteLength) throw new RangeError(`memory has ${size} bytes but a filter of ${bitCount} bits needs exactly ${byteLength}`);
  if (isView && (memory.byteOffset !== 0 || memory.byteLength !== buffer.byteLength)) {
    // The fallback keeps whole buffers (layout()); the native filter also attaches to part of one.
    throw new RangeError('the fallback filter attaches to a whole SharedArrayBuffer: pass the buffer, or a view over all of it');
  }
  return buffer;
}

/** The fallback factory; `create` and `fromBuffer` also take the fallback's own options. */
export interface FallbackBloomFactory extends BloomFactory {
  readonly kind: 'fallback';
  readonly hasher: FallbackHasher;
  readonly BloomFilter: BloomFilterClass<FallbackBloomFilter>;
  readonly DedupWindow: DedupWindowClass<FallbackDedupWindow>;
  create(capacity: number, errorRate: number, options?: FallbackFilterOptions): FallbackBloomFilter;
  fromBuffer(image: Uint8Array, options?: { shared?: boolean }): FallbackBloomFilter;
  createWindow(capacity: number, errorRate: number): FallbackDedupWindow;
  windowFromGenerations(active: WindowGenerationInput, previous: WindowGenerationInput): FallbackDedupWindow;
}

let hasherPromise: Promise<XXHashAPI> | undefined;

/** xxhash-wasm, compiled once per thread. */
export function loadFallbackHasher(): Promise<XXHashAPI> {
  hasherPromise ??= xxhash().catch((err: unknown) => {
    hasherPromise = undefined; // let a later call try again
    throw err;
  });
  return hasherPromise;
}

let factoryPromise: Promise<FallbackBloomFactory> | undefined;

/** Resolves once xxhash-wasm is compiled (once per thread); the factory and its filters are synchronous from then on. */
export function loadFallbackFactory(): Promise<FallbackBloomFactory> {
  factoryPromise ??= loadFallbackHasher().then(fallbackFactory, (err: unknown) => {
    factoryPromise = undefined; // let a later call try again
    throw err;
  });
  return factoryPromise;
}

function fallbackFactory(hasher: FallbackHasher): FallbackBloomFactory {
  return Object.freeze({
    kind: 'fallback',
    hasher,
    BloomFilter: fallbackBloomFilterClass(hasher),
    DedupWindow: fallbackDedupWindowClass(hasher),
    create: (capacity: number, errorRate: number, options?: FallbackFilterOptions) => new FallbackBloomFilter(hasher, capacity, errorRate, options),
    fromBuffer: (image: Uint8Array, options?: { shared?: boolean }) => FallbackBloomFilter.fromBuffer(hasher, image, options),
    createWindow: (capacity: number, errorRate: number) => new FallbackDedupWindow(hasher, capacity, errorRate),
    windowFromGenerations: (active: WindowGenerationInput, previous: WindowGenerationInput) => FallbackDedupWindow.fromGenerations(hasher, active, previous),
    windowParams: (capacity: number, errorRate: number) => computeWindowParams(capacity, errorRate),
  } as const);
}
