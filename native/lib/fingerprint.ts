/**
 * The fingerprint table of docs/bloom-format.md ("Fingerprint table"), in TypeScript for the
 * fallback dedup window: the same slot function, probe order and image bytes as the Rust table
 * (core/src/fingerprint.rs), so each loads the other's images. (An image is a table's serialised
 * bytes, what the format document calls its snapshot.)
 *
 * Fingerprints are handled as two uint32 halves (hi, lo) of the key's XXH64, so probing allocates
 * nothing. A slot is two Uint32Array elements, lo then hi: on a little-endian machine that is the
 * u64 little-endian layout of the image, copied as is.
 */
import { endianness } from 'node:os';
import { HASH_ID, MAX_TABLE_SLOTS, tableLimitFor } from './params.js';
import { FingerprintSnapshotError, type TableImageReason } from './errors.js';
import { imageChecksum, type ImageHasher } from './image.js';

/** What a key hashing to 0 is stored as (0 marks an empty slot): 0x9E3779B97F4A7C15. */
export const ZERO_FINGERPRINT_HI = 0x9e3779b9;
export const ZERO_FINGERPRINT_LO = 0x7f4a7c15;

export const TABLE_IMAGE_VERSION = 1;
export const TABLE_IMAGE_HEADER_BYTES = 40;
/** "CXFPTBL" followed by one zero byte. */
export const TABLE_IMAGE_MAGIC: readonly number[] = [0x43, 0x58, 0x46, 0x50, 0x54, 0x42, 0x4c, 0x00];
const CHECKSUMMED_HEADER_BYTES = 32;

const LITTLE_ENDIAN = endianness() === 'LE';
const TWO_16 = 65536;

/** What `insert` did. */
export const INSERTED = 0;
export const ALREADY_PRESENT = 1;
/** Absent, and the table holds its limit: nothing changed. */
export const FULL = 2;
export type InsertResult = typeof INSERTED | typeof ALREADY_PRESENT | typeof FULL;

/**
 * The home slot of fingerprint hi * 2^32 + lo in a table of `slots` slots: floor(fp * slots / 2^64),
 * exactly, in doubles (16-bit limbs of `slots` keep every product below 2^49; slots <= 2^32).
 */
export function homeSlot(hi: number, lo: number, slots: number): number {
  const sh = Math.floor(slots / TWO_16);
  const sl = slots % TWO_16;
  return homeSlotLimbs(hi, lo, sh, sl);
}

function homeSlotLimbs(hi: number, lo: number, sh: number, sl: number): number {
  // floor(lo * slots / 2^32), then floor((hi * slots + that) / 2^32), each over 16-bit steps.
  const carry = Math.floor((lo * sh + Math.floor((lo * sl) / TWO_16)) / TWO_16);
  return Math.floor((hi * sh + Math.floor((hi * sl + carry) / TWO_16)) / TWO_16);
}

export class FallbackFingerprintTable {
  readonly slots: number;
  /** Most fingerprints this table accepts: floor(7 · slots / 8). */
  readonly limit: number;
  readonly #words: Uint32Array;
  // The 16-bit limbs of `slots`, for homeSlotLimbs.
  readonly #sh: number;
  readonly #sl: number;
  #length = 0;

  /** An empty table of `slots` slots (an integer in 1..2^32; RangeError otherwise). */
  constructor(slots: number) {
    if (!Number.isSafeInteger(slots) || slots < 1 || slots > MAX_TABLE_SLOTS) {
      throw new RangeError(`fingerprint table slot count must be from 1 to 2^32, got ${String(slots)}`);
    }
    this.slots = slots;
    this.limit = tableLimitFor(slots);
    this.#words = new Uint32Array(2 * slots);
    this.#sh = Math.floor(slots / TWO_16);
    this.#sl = slots % TWO_16;
  }

  /** Fingerprints stored. */
  get length(): number {
    return this.#length;
  }

  /** True when the fingerprint of XXH64 hi * 2^32 + lo is stored. */
  contains(hi: number, lo: number): boolean {
    if ((hi | lo) === 0) {
      hi = ZERO_FINGERPRINT_HI;
      lo = ZERO_FINGERPRINT_LO;
    }
    const w = this.#words;
    const n = this.slots;
    let i = homeSlotLimbs(hi, lo, this.#sh, this.#sl);
    for (let step = 0; step < n; step++) {
      const l = w[2 * i]!;
      const h = w[2 * i + 1]!;
      if (l === lo && h === hi) return true;
      if ((l | h) === 0) return false;
      if (++i === n) i = 0;
    }
    return false;
  }

  /** Stores the fingerprint of XXH64 hi * 2^32 + lo unless it is there or the table holds its limit. */
  insert(hi: number, lo: number): InsertResult {
    if ((hi | lo) === 0) {
      hi = ZERO_FINGERPRINT_HI;
      lo = ZERO_FINGERPRINT_LO;
    }
    const w = this.#words;
    const n = this.slots;
    let i = homeSlotLimbs(hi, lo, this.#sh, this.#sl);
    for (let step = 0; step < n; step++) {
      const l = w[2 * i]!;
      const h = w[2 * i + 1]!;
      if (l === lo && h === hi) return ALREADY_PRESENT;
      if ((l | h) === 0) {
        if (this.#length >= this.limit) return FULL;
        w[2 * i] = lo;
        w[2 * i + 1] = hi;
        this.#length++;
        return INSERTED;
      }
      if (++i === n) i = 0;
    }
    return FULL;
  }

  clear(): void {
    this.#words.fill(0);
    this.#length = 0;
  }

  /** Calls `fn(hi, lo, slot)` for every stored fingerprint, in slot order. */
  forEach(fn: (hi: number, lo: number, slot: number) => void): void {
    const w = this.#words;
    for (let i = 0; i < this.slots; i++) {
      const l = w[2 * i]!;
      const h = w[2 * i + 1]!;
      if ((l | h) !== 0) fn(h, l, i);
    }
  }

  /** The table's image (docs/bloom-format.md, "Fingerprint table snapshot"). */
  toBuffer(hasher: ImageHasher): Buffer {
    const w = this.#words;
    const out = Buffer.alloc(TABLE_IMAGE_HEADER_BYTES + 8 * this.slots);
    const body = out.subarray(TABLE_IMAGE_HEADER_BYTES);
    if (LITTLE_ENDIAN) {
      body.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
    } else {
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < w.length; i++) view.setUint32(i * 4, w[i]!, true);
    }
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < TABLE_IMAGE_MAGIC.length; i++) view.setUint8(i, TABLE_IMAGE_MAGIC[i]!);
    view.setUint16(8, TABLE_IMAGE_VERSION, true);
    view.setUint16(10, HASH_ID, true);
    view.setUint32(12, 0, true);
    view.setBigUint64(16, BigInt(this.slots), true);
    view.setBigUint64(24, BigInt(this.#length), true);
    view.setBigUint64(32, imageChecksum(hasher, out.subarray(0, CHECKSUMMED_HEADER_BYTES), body), true);
    return out;
  }

  /**
   * Loads an image, checking it in the order of docs/bloom-format.md: header, length, checksum,
   * then the contents (count, every fingerprint reachable from its home slot). Throws
   * FingerprintSnapshotError (TypeError when it is not bytes).
   */
  static fromBuffer(hasher: ImageHasher, image: unknown): FallbackFingerprintTable {
    if (!(image instanceof Uint8Array)) {
      const got = image === null ? 'null' : Array.isArray(image) ? 'an array' : typeof image;
      throw new TypeError(`table snapshot must be a Buffer or Uint8Array, got ${got}`);
    }
    const { slots, count } = decodeTableHeader(hasher, image);
    const table = new FallbackFingerprintTable(slots);
    const w = table.#words;
    const body = image.subarray(TABLE_IMAGE_HEADER_BYTES);
    if (LITTLE_ENDIAN) {
      new Uint8Array(w.buffer, w.byteOffset, w.byteLength).set(body);
    } else {
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < w.length; i++) w[i] = view.getUint32(i * 4, true);
    }
    checkContents(w, slots, count);
    table.#length = count;
    return table;
  }
}

/** A rejected table image; the message says so, then why. */
function tableImageError(reason: TableImageReason, detail: string): FingerprintSnapshotError {
  return new FingerprintSnapshotError(reason, `invalid fingerprint table snapshot: ${detail}`);
}

/** Header, length and checksum of a table image, in the spec's order. */
function decodeTableHeader(hasher: ImageHasher, image: Uint8Array): { slots: number; count: number } {
  const fail = tableImageError;
  if (image.byteLength < TABLE_IMAGE_HEADER_BYTES) {
    throw fail('truncated', `truncated: ${image.byteLength} bytes, shorter than the ${TABLE_IMAGE_HEADER_BYTES}-byte header`);
  }
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  for (let i = 0; i < TABLE_IMAGE_MAGIC.length; i++) {
    if (view.getUint8(i) !== TABLE_IMAGE_MAGIC[i]) throw fail('bad_magic', 'bad magic (expected "CXFPTBL\\0")');
  }
  const version = view.getUint16(8, true);
  if (version !== TABLE_IMAGE_VERSION) throw fail('bad_version', `unsupported format version ${version} (expected ${TABLE_IMAGE_VERSION})`);
  const hashId = view.getUint16(10, true);
  if (hashId !== HASH_ID) throw fail('bad_hash_id', `unsupported hash id ${hashId} (expected ${HASH_ID})`);
  const reserved = view.getUint32(12, true);
  if (reserved !== 0) throw fail('bad_reserved', `reserved field is 0x${reserved.toString(16)}, expected 0`);
  const rawSlots = view.getBigUint64(16, true);
  if (rawSlots < 1n || rawSlots > BigInt(MAX_TABLE_SLOTS)) throw fail('bad_slot_count', `slot count ${rawSlots} is outside 1..=2^32`);
  const slots = Number(rawSlots);
  const rawCount = view.getBigUint64(24, true);
  const limit = tableLimitFor(slots);
  if (rawCount > BigInt(limit)) {
    throw fail('too_many_entries', `count ${rawCount} is above the ${limit} fingerprints a table of this size may hold`);
  }
  const expected = TABLE_IMAGE_HEADER_BYTES + 8 * slots;
  if (image.byteLength !== expected) {
    throw fail('bad_length', `length mismatch: ${image.byteLength} bytes, expected 40 + 8 * slots = ${expected}`);
  }
  const stored = view.getBigUint64(32, true);
  const computed = imageChecksum(hasher, image.subarray(0, CHECKSUMMED_HEADER_BYTES), image.subarray(TABLE_IMAGE_HEADER_BYTES));
  if (stored !== computed) {
    const hex = (x: bigint) => `0x${x.toString(16).padStart(16, '0')}`;
    throw fail('bad_checksum', `checksum mismatch (stored ${hex(stored)}, computed ${hex(computed)}): the data is corrupted`);
  }
  return { slots, count: Number(rawCount) };
}

/** The count and the probe invariant (native: core/src/fingerprint_image.rs, check_contents). */
function checkContents(w: Uint32Array, slots: number, count: number): void {
  let counted = 0;
  let empty = -1;
  for (let i = 0; i < slots; i++) {
    if ((w[2 * i]! | w[2 * i + 1]!) !== 0) counted++;
    else if (empty < 0) empty = i;
  }
  if (counted !== count) {
    throw tableImageError('bad_count', `header says ${count} fingerprints but ${counted} slots are occupied`);
  }
  if (empty < 0) return; // unreachable: count <= limit < slots
  const sh = Math.floor(slots / TWO_16);
  const sl = slots % TWO_16;
  // `run`: occupied slots since the last empty one; a fingerprint d slots past its home needs d of them.
  let run = 0;
  for (let step = 1; step <= slots; step++) {
    const i = (empty + step) % slots;
    const lo = w[2 * i]!;
    const hi = w[2 * i + 1]!;
    if ((lo | hi) === 0) {
      run = 0;
      continue;
    }
    const home = homeSlotLimbs(hi, lo, sh, sl);
    const distance = (i - home + slots) % slots;
    if (distance > run) {
      throw tableImageError(
        'misplaced',
        `the fingerprint in slot ${i} cannot be reached from its home slot ${home} (an empty slot lies between)`,
      );
    }
    run++;
  }
}
