/**
 * The snapshot container of docs/snapshot-format.md (format version 2): a fixed 64-byte header,
 * the key fields, both generations of the dedup window (each a Bloom filter image and a
 * fingerprint table image, docs/bloom-format.md), the state cache as length-prefixed JSON records,
 * and a SHA-256 trailer over everything before it. Version 1 files (no tables, records that carry
 * their seen keys) are still read.
 *
 * Pure codec, no I/O. Encoding is split into pieces (header, generation blocks, record chunks) so
 * the writer can produce the file incrementally; decoding takes the whole file and checks it all
 * before anything is handed to the engine.
 */
import { createHash } from 'node:crypto';
import type { EngineState, EngineStateV1 } from '../dedup/state.js';
import type { GenerationState } from '../dedup/window.js';
import { MAX_PAYLOAD_DEPTH, nestingWithin } from '../json-depth.js';

/** "CXDSNAP" followed by one zero byte. */
export const SNAPSHOT_MAGIC = Buffer.from('CXDSNAP\0', 'latin1');
/** What this build writes. */
export const SNAPSHOT_FORMAT_VERSION = 2;
/** What this build reads. */
export const SNAPSHOT_READABLE_VERSIONS: readonly number[] = [1, 2];
export const HEADER_BYTES = 64;
export const CHECKSUM_BYTES = 32;
/** Version 1: activatedAtMs (f64), insertions (u64), image length (u64). */
export const GENERATION_META_BYTES_V1 = 24;
/** Version 2: activatedAtMs (f64), insertions (u64), flags (u32: bit 0 exact), reserved (u32), Bloom image length (u64), table image length (u64). */
export const GENERATION_META_BYTES = 40;
/** Bloom image header bytes (docs/bloom-format.md). */
const BLOOM_IMAGE_HEADER_BYTES = 48;
export const MAX_KEY_FIELDS_BYTES = 1024;
/** Larger than any state the daemon can hold (MAX_BODY_BYTES is at most 64 MiB) plus its seen keys. */
export const MAX_RECORD_BYTES = 65 * 1024 * 1024;
/** STATE_CACHE_SIZE's upper limit. */
export const MAX_INTERACTIONS = 100_000_000;

/** What must match between a snapshot and the engine restoring it. */
export interface SnapshotParams {
  capacity: number;
  errorRate: number;
  bitCount: number;
  hashCount: number;
  keyFields: readonly string[];
}

export interface SnapshotHeader extends SnapshotParams {
  version: number;
  /** Wall-clock ms when the snapshot was captured. */
  createdAtMs: number;
  epoch: number;
  interactionCount: number;
}

export type SnapshotErrorCode = 'truncated' | 'foreign' | 'version' | 'checksum' | 'incompatible' | 'corrupt' | 'too_large';

/** A snapshot file that cannot be restored; `code` says why, the message says it for people. */
export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function describeParams(p: SnapshotParams): string {
  return `capacity ${p.capacity}, error rate ${p.errorRate}, ${p.bitCount} bits, k=${p.hashCount}, key fields ${p.keyFields.join(',')}`;
}

/** The first 64 bytes plus the key fields. */
export function encodeHeader(h: Omit<SnapshotHeader, 'version'>): Buffer {
  const keys = Buffer.from(h.keyFields.join(','), 'utf8');
  if (keys.length > MAX_KEY_FIELDS_BYTES) throw new RangeError('snapshot: key fields too long');
  const out = Buffer.alloc(HEADER_BYTES + keys.length);
  SNAPSHOT_MAGIC.copy(out, 0);
  out.writeUInt16LE(SNAPSHOT_FORMAT_VERSION, 8);
  out.writeUInt16LE(0, 10);
  out.writeUInt32LE(h.hashCount, 12);
  out.writeBigUInt64LE(BigInt(h.bitCount), 16);
  out.writeBigUInt64LE(BigInt(h.capacity), 24);
  out.writeDoubleLE(h.errorRate, 32);
  out.writeBigUInt64LE(BigInt(Math.max(0, Math.trunc(h.createdAtMs))), 40);
  out.writeBigUInt64LE(BigInt(h.epoch), 48);
  out.writeUInt32LE(h.interactionCount, 56);
  out.writeUInt16LE(keys.length, 60);
  out.writeUInt16LE(0, 62);
  keys.copy(out, HEADER_BYTES);
  return out;
}

/** One generation: its 40-byte metadata block, then the Bloom image and the table image as they are. */
export function encodeGeneration(g: GenerationState): Uint8Array[] {
  if (g.table === null) throw new RangeError('snapshot: a generation without its fingerprint table cannot be written');
  const meta = Buffer.alloc(GENERATION_META_BYTES);
  meta.writeDoubleLE(g.activatedAtMs, 0);
  meta.writeBigUInt64LE(BigInt(g.insertions), 8);
  meta.writeUInt32LE(g.exact ? 1 : 0, 16);
  meta.writeUInt32LE(0, 20);
  meta.writeBigUInt64LE(BigInt(g.bloom.byteLength), 24);
  meta.writeBigUInt64LE(BigInt(g.table.byteLength), 32);
  return [meta, g.bloom, g.table];
}

/** Already-serialised records (JSON text) → one chunk of `u32 length, UTF-8 bytes` entries. */
export function encodeRecords(jsons: readonly string[]): Buffer {
  let total = 0;
  const lengths = new Array<number>(jsons.length);
  for (let i = 0; i < jsons.length; i++) {
    const n = Buffer.byteLength(jsons[i]!, 'utf8');
    if (n > MAX_RECORD_BYTES) throw new RangeError(`snapshot: one state cache record is ${n} bytes, above the ${MAX_RECORD_BYTES}-byte limit`);
    lengths[i] = n;
    total += 4 + n;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < jsons.length; i++) {
    out.writeUInt32LE(lengths[i]!, at);
    out.write(jsons[i]!, at + 4, lengths[i]!, 'utf8');
    at += 4 + lengths[i]!;
  }
  return out;
}

function u64(buf: Buffer, at: number, what: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SnapshotFormatError('corrupt', `snapshot: ${what} is out of range`);
  return Number(v);
}

/** Magic, minimum length and version: what must hold before the checksum means anything. */
function checkPreamble(buf: Buffer): void {
  const head = buf.subarray(0, SNAPSHOT_MAGIC.length);
  if (!head.equals(SNAPSHOT_MAGIC.subarray(0, head.length))) throw new SnapshotFormatError('foreign', 'not a cxone-dedup snapshot (wrong magic bytes)');
  // An empty file, or one cut inside the header (a prefix of the magic counts as ours).
  if (buf.length < HEADER_BYTES + CHECKSUM_BYTES) throw new SnapshotFormatError('truncated', `snapshot is truncated (${buf.length} bytes)`);
  const version = buf.readUInt16LE(8);
  if (!SNAPSHOT_READABLE_VERSIONS.includes(version)) {
    throw new SnapshotFormatError('version', `snapshot format version ${version} is not supported (this build reads versions ${SNAPSHOT_READABLE_VERSIONS.join(' and ')})`);
  }
}

/** Reads the header of a snapshot whose preamble and checksum were checked; sizes are bounded. */
export function decodeHeader(buf: Buffer): SnapshotHeader {
  checkPreamble(buf);
  const keyLength = buf.readUInt16LE(60);
  if (keyLength > MAX_KEY_FIELDS_BYTES || HEADER_BYTES + keyLength > buf.length - CHECKSUM_BYTES) {
    throw new SnapshotFormatError('corrupt', 'snapshot: key fields length is out of range');
  }
  const interactionCount = buf.readUInt32LE(56);
  if (interactionCount > MAX_INTERACTIONS) throw new SnapshotFormatError('corrupt', 'snapshot: interaction count is out of range');
  return {
    version: buf.readUInt16LE(8),
    hashCount: buf.readUInt32LE(12),
    bitCount: u64(buf, 16, 'bit count'),
    capacity: u64(buf, 24, 'capacity'),
    errorRate: buf.readDoubleLE(32),
    createdAtMs: u64(buf, 40, 'creation time'),
    epoch: u64(buf, 48, 'epoch'),
    interactionCount,
    keyFields: keyLength === 0 ? [] : buf.toString('utf8', HEADER_BYTES, HEADER_BYTES + keyLength).split(','),
  };
}

export function checksumOf(buf: Buffer): Buffer {
  return createHash('sha256').update(buf.subarray(0, buf.length - CHECKSUM_BYTES)).digest();
}

function sameParams(a: SnapshotParams, b: SnapshotParams): boolean {
  return (
    a.capacity === b.capacity &&
    a.errorRate === b.errorRate &&
    a.bitCount === b.bitCount &&
    a.hashCount === b.hashCount &&
    a.keyFields.length === b.keyFields.length &&
    a.keyFields.every((f, i) => f === b.keyFields[i])
  );
}

/**
 * Checks a whole snapshot file and turns it into what `DedupEngine.importState` takes: magic and
 * version, then the SHA-256 over everything (so nothing below reads corrupted bytes), then the
 * parameters against `expected`, then the structure, every length bounded by what is left.
 * Records are parsed with JSON.parse after a nesting check; their content is validated by the
 * engine. Throws SnapshotFormatError.
 */
export function decodeSnapshot(buf: Buffer, expected: SnapshotParams): { header: SnapshotHeader; state: EngineState | EngineStateV1 } {
  checkPreamble(buf);
  const end = buf.length - CHECKSUM_BYTES;
  if (!checksumOf(buf).equals(buf.subarray(end))) {
    throw new SnapshotFormatError('checksum', 'snapshot checksum mismatch: the file is corrupt or was truncated');
  }
  const header = decodeHeader(buf);
  if (!sameParams(header, expected)) {
    throw new SnapshotFormatError(
      'incompatible',
      `snapshot is incompatible: it was written with ${describeParams(header)}; this daemon uses ${describeParams(expected)} ` +
        '(restart with the old DEDUP_CAPACITY / DEDUP_ERROR_RATE / DEDUP_KEY_FIELDS, or remove the file)',
    );
  }
  const v1 = header.version === 1;
  let at = HEADER_BYTES + Buffer.byteLength(header.keyFields.join(','), 'utf8');
  const need = (n: number, what: string) => {
    if (n > end - at) throw new SnapshotFormatError('corrupt', `snapshot: ${what} runs past the end of the file`);
  };
  const bloomLength = BLOOM_IMAGE_HEADER_BYTES + expected.bitCount / 8;

  const generation = (name: string): GenerationState => {
    need(v1 ? GENERATION_META_BYTES_V1 : GENERATION_META_BYTES, `${name} generation`);
    const activatedAtMs = buf.readDoubleLE(at);
    const insertions = u64(buf, at + 8, `${name} insertions`);
    if (v1) {
      const length = u64(buf, at + 16, `${name} image length`);
      at += GENERATION_META_BYTES_V1;
      if (length !== bloomLength) throw new SnapshotFormatError('corrupt', `snapshot: ${name} generation has a wrong length`);
      need(length, `${name} generation`);
      const bloom = buf.subarray(at, (at += length));
      return { bloom, table: null, insertions, exact: false, activatedAtMs };
    }
    const flags = buf.readUInt32LE(at + 16);
    if ((flags & ~1) !== 0 || buf.readUInt32LE(at + 20) !== 0) throw new SnapshotFormatError('corrupt', `snapshot: ${name} generation has unknown flags`);
    const length = u64(buf, at + 24, `${name} image length`);
    const tableLength = u64(buf, at + 32, `${name} table length`);
    at += GENERATION_META_BYTES;
    if (length !== bloomLength) throw new SnapshotFormatError('corrupt', `snapshot: ${name} generation has a wrong length`);
    need(length, `${name} generation`);
    const bloom = buf.subarray(at, (at += length));
    // The table's own header says its size; the window checks it against the sizing.
    need(tableLength, `${name} fingerprint table`);
    const table = buf.subarray(at, (at += tableLength));
    return { bloom, table, insertions, exact: (flags & 1) === 1, activatedAtMs };
  };
  const active = generation('active');
  const previous = generation('previous');

  const records: unknown[] = [];
  // Each record is at least its 4-byte length: a count beyond that cannot be honest.
  if (header.interactionCount > (end - at) / 4) throw new SnapshotFormatError('corrupt', 'snapshot: interaction count exceeds the file');
  for (let i = 0; i < header.interactionCount; i++) {
    need(4, `record ${i}`);
    const length = buf.readUInt32LE(at);
    at += 4;
    if (length > MAX_RECORD_BYTES) throw new SnapshotFormatError('corrupt', `snapshot: record ${i} is larger than ${MAX_RECORD_BYTES} bytes`);
    need(length, `record ${i}`);
    const bytes = buf.subarray(at, at + length);
    at += length;
    // A format-1 record wraps the state (two levels); a format-2 record is the state. The payload
    // (itself included) may use MAX_PAYLOAD_DEPTH.
    if (!nestingWithin(bytes, MAX_PAYLOAD_DEPTH + (v1 ? 2 : 1))) throw new SnapshotFormatError('corrupt', `snapshot: record ${i} nests too deep`);
    let item: unknown;
    try {
      item = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new SnapshotFormatError('corrupt', `snapshot: record ${i} is not valid JSON`);
    }
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new SnapshotFormatError('corrupt', `snapshot: record ${i} is not an object`);
    if (v1) {
      const { state, seen } = item as { state?: unknown; seen?: unknown };
      if (typeof state !== 'object' || state === null || !Array.isArray(seen)) {
        throw new SnapshotFormatError('corrupt', `snapshot: record ${i} lacks its state or seen keys`);
      }
    }
    records.push(item);
  }
  if (at !== end) throw new SnapshotFormatError('corrupt', `snapshot: ${end - at} unexpected bytes after the last record`);

  const keyFields = [...header.keyFields] as EngineState['keyFields'];
  if (v1) {
    const image = (g: GenerationState) => ({ image: g.bloom, activatedAtMs: g.activatedAtMs, insertions: g.insertions });
    return {
      header,
      state: {
        version: 1,
        keyFields,
        epoch: header.epoch,
        generations: { active: image(active), previous: image(previous) },
        interactions: records as EngineStateV1['interactions'],
      },
    };
  }
  return { header, state: { version: 2, keyFields, epoch: header.epoch, generations: { active, previous }, states: records as EngineState['states'] } };
}
