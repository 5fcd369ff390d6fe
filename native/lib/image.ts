/**
 * A filter's image: its serialised bytes (`toBuffer()` / `fromBuffer()`), format v1 of
 * docs/bloom-format.md, a 48-byte little-endian header, then the bit words. (The format document
 * and the public API call it a snapshot, as in BloomSnapshotError; in the code "snapshot" is the
 * daemon's file, docs/snapshot-format.md, which holds images.)
 * Pure codec: encodes from, and decodes to, plain bytes; it never touches a live filter.
 */
import type { XXHashAPI } from 'xxhash-wasm';
import { BloomSnapshotError, type BloomImageReason } from './errors.js';
import { HASH_ID, MAX_BITS, MAX_CAPACITY, MAX_HASHES } from './params.js';

export const IMAGE_VERSION = 1;
export const IMAGE_HEADER_BYTES = 48;
/** "CXBLOOM" followed by one zero byte. */
export const IMAGE_MAGIC: readonly number[] = [0x43, 0x58, 0x42, 0x4c, 0x4f, 0x4f, 0x4d, 0x00];

const CHECKSUMMED_HEADER_BYTES = 40;
// The wasm hasher copies each update into its linear memory, which never shrinks: feeding a
// 2 GiB filter in one piece would leave 2 GiB behind. Chunks keep that at 1 MiB.
const CHECKSUM_CHUNK_BYTES = 1 << 20;

/** The part of xxhash-wasm the codec needs. */
export type ImageHasher = Pick<XXHashAPI, 'create64'>;

/** What an image says about its filter. */
export interface ImageHeader {
  readonly hashCount: number;
  readonly bitCount: number;
  readonly capacity: number;
  readonly errorRate: number;
}

/** A rejected filter image; the message says so, then why. */
function imageError(reason: BloomImageReason, detail: string): BloomSnapshotError {
  return new BloomSnapshotError(reason, `invalid Bloom filter snapshot: ${detail}`);
}

/** XXH64 (seed 0) of the checksummed header bytes followed by the bits, fed in bounded chunks. */
export function imageChecksum(hasher: ImageHasher, header40: Uint8Array, bits: Uint8Array): bigint {
  const state = hasher.create64(0n);
  state.update(header40);
  for (let off = 0; off < bits.byteLength; off += CHECKSUM_CHUNK_BYTES) {
    state.update(bits.subarray(off, Math.min(off + CHECKSUM_CHUNK_BYTES, bits.byteLength)));
  }
  return state.digest();
}

/**
 * Builds an image. `writeBits` fills the m/8 bytes after the header (the caller knows its own
 * storage and the platform's endianness); everything else, checksum included, is done here.
 */
export function encodeImage(
  hasher: ImageHasher,
  header: ImageHeader,
  writeBits: (target: Uint8Array) => void,
): Buffer {
  const byteLength = header.bitCount / 8;
  const out = Buffer.alloc(IMAGE_HEADER_BYTES + byteLength);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < IMAGE_MAGIC.length; i++) view.setUint8(i, IMAGE_MAGIC[i]!);
  view.setUint16(8, IMAGE_VERSION, true);
  view.setUint16(10, HASH_ID, true);
  view.setUint32(12, header.hashCount, true);
  view.setBigUint64(16, BigInt(header.bitCount), true);
  view.setBigUint64(24, BigInt(header.capacity), true);
  view.setFloat64(32, header.errorRate, true);
  const bits = out.subarray(IMAGE_HEADER_BYTES);
  writeBits(bits);
  view.setBigUint64(40, imageChecksum(hasher, out.subarray(0, CHECKSUMMED_HEADER_BYTES), bits), true);
  return out;
}

/** A checked image: its header and a view (not a copy) of its bit bytes. */
export interface DecodedImage {
  readonly header: ImageHeader;
  readonly bits: Uint8Array;
}

/**
 * Validates an image in the order of docs/bloom-format.md; throws BloomSnapshotError on the
 * first problem (TypeError when it is not bytes at all).
 */
export function decodeImage(hasher: ImageHasher, image: unknown): DecodedImage {
  if (!(image instanceof Uint8Array)) {
    const got = image === null ? 'null' : Array.isArray(image) ? 'an array' : typeof image;
    throw new TypeError(`snapshot must be a Buffer or Uint8Array, got ${got}`);
  }
  if (image.byteLength < IMAGE_HEADER_BYTES) {
    throw imageError('truncated', `${image.byteLength} bytes is shorter than the ${IMAGE_HEADER_BYTES}-byte header`);
  }
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  for (let i = 0; i < IMAGE_MAGIC.length; i++) {
    if (view.getUint8(i) !== IMAGE_MAGIC[i]) {
      throw imageError('bad_magic', 'wrong magic (expected "CXBLOOM\\0"); not a cxone-dedup Bloom snapshot');
    }
  }
  const version = view.getUint16(8, true);
  if (version !== IMAGE_VERSION) {
    throw imageError('bad_version', `unsupported format version ${version} (this reader knows ${IMAGE_VERSION})`);
  }
  const hashId = view.getUint16(10, true);
  if (hashId !== HASH_ID) {
    throw imageError('bad_hash_id', `unknown hash id ${hashId} (this reader knows ${HASH_ID})`);
  }
  const hashCount = view.getUint32(12, true);
  const rawBitCount = view.getBigUint64(16, true);
  if (rawBitCount === 0n || rawBitCount % 64n !== 0n || rawBitCount > BigInt(MAX_BITS)) {
    throw imageError('bad_bit_count', `bit count ${rawBitCount} is not a non-zero multiple of 64 up to 2^34`);
  }
  if (hashCount < 1 || hashCount > MAX_HASHES) {
    throw imageError('bad_hash_count', `hash count ${hashCount} is outside 1..=${MAX_HASHES}`);
  }
  const rawCapacity = view.getBigUint64(24, true);
  if (rawCapacity < 1n || rawCapacity > BigInt(MAX_CAPACITY)) {
    throw imageError('bad_capacity', `capacity ${rawCapacity} is outside 1..=2^53-1`);
  }
  const errorRate = view.getFloat64(32, true);
  // Written so that NaN fails too.
  if (!(errorRate > 0 && errorRate < 1)) {
    throw imageError('bad_error_rate', `error rate ${errorRate} is outside (0, 1)`);
  }
  const bitCount = Number(rawBitCount);
  const expectedLength = IMAGE_HEADER_BYTES + bitCount / 8;
  if (image.byteLength !== expectedLength) {
    const what = image.byteLength < expectedLength ? 'truncated' : 'has trailing bytes';
    throw imageError(
      'bad_length',
      `${what}: ${image.byteLength} bytes, but a filter of ${bitCount} bits takes exactly ${expectedLength}`,
    );
  }
  const bits = image.subarray(IMAGE_HEADER_BYTES);
  const stored = view.getBigUint64(40, true);
  const actual = imageChecksum(hasher, image.subarray(0, CHECKSUMMED_HEADER_BYTES), bits);
  if (stored !== actual) {
    throw imageError(
      'bad_checksum',
      `checksum mismatch (stored ${stored.toString(16).padStart(16, '0')}, computed ${actual.toString(16).padStart(16, '0')}); the snapshot is corrupted`,
    );
  }
  return { header: { hashCount, bitCount, capacity: Number(rawCapacity), errorRate }, bits };
}
