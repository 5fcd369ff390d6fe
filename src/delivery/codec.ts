/**
 * The outbox's on-disk encoding (docs/delivery.md): a segment header, then framed records. Pure,
 * no I/O. Every frame carries its length and a CRC-32 so a reader can tell a whole record from a
 * torn or damaged one, and a magic word so it can find the next frame after damage.
 */
import * as zlib from 'node:zlib';
import type { DeliveryRecord, NewDeliveryRecord } from './types.js';

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (the zlib/PNG one) in JavaScript, for Node before 20.15, which lacks zlib.crc32. */
export function crc32Portable(data: Uint8Array, value = 0): number {
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// A namespace lookup, not a named import: a missing named export fails the whole module at load.
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
export const crc32: (data: Uint8Array, value?: number) => number = zlibCrc32 ?? crc32Portable;

/** Segment header: magic, version, flags, first seq, creation time, CRC-32 of the bytes before it. */
export const SEGMENT_MAGIC = Buffer.from('CXOUTBOX', 'latin1');
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 32;

/** Frame: magic u32, payload length u32, CRC-32 (length field + payload) u32, then the payload. */
export const FRAME_MAGIC = 0x0bd1c0de;
export const FRAME_HEADER_BYTES = 12;
/** Payload before the variable fields: seq u64, acceptedAtMs f64, status u8, flags u8, id length u16, interactionId length u16, reserved u16, body length u32. */
export const PAYLOAD_FIXED_BYTES = 28;
export const FRAME_OVERHEAD = FRAME_HEADER_BYTES + PAYLOAD_FIXED_BYTES;
/** Sanity bound on one frame's payload: a length above it is damage, not a record. */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;
const MAX_STRING_BYTES = 0xffff;

const STATUS_CODE = { processed: 1, update: 2 } as const;
const STATUS_NAME = [undefined, 'processed', 'update'] as const;
const TWO_32 = 2 ** 32;
const FRAME_MAGIC_BYTES = Buffer.alloc(4);
FRAME_MAGIC_BYTES.writeUInt32LE(FRAME_MAGIC);

export interface SegmentHeader {
  firstSeq: number;
  createdAtMs: number;
}

export function encodeSegmentHeader(h: SegmentHeader): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt16LE(SEGMENT_VERSION, 8);
  b.writeUInt16LE(0, 10);
  writeU64(b, 12, h.firstSeq);
  b.writeDoubleLE(h.createdAtMs, 20);
  b.writeUInt32LE(crc32(b.subarray(0, 28)), 28);
  return b;
}

/** The header, or why these bytes are not one. */
export function decodeSegmentHeader(b: Buffer): SegmentHeader | string {
  if (b.length < SEGMENT_HEADER_BYTES) return `header truncated (${b.length} of ${SEGMENT_HEADER_BYTES} bytes)`;
  if (!b.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'not an outbox segment (bad magic)';
  if (b.readUInt32LE(28) !== crc32(b.subarray(0, 28))) return 'header checksum mismatch';
  const version = b.readUInt16LE(8);
  if (version !== SEGMENT_VERSION) return `unsupported segment version ${version}`;
  const firstSeq = readU64(b, 12);
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) return `bad first seq ${firstSeq}`;
  return { firstSeq, createdAtMs: b.readDoubleLE(20) };
}

/** A record's fields as bytes, measured once so a batch can be encoded into one buffer. */
export interface EncodableRecord {
  readonly record: NewDeliveryRecord;
  readonly id: Buffer;
  readonly interactionId: Buffer;
  /** Whole frame size on disk. */
  readonly frameBytes: number;
}

/** Checks a record and measures it; throws TypeError on a malformed one (a caller's bug, not input). */
export function prepareRecord(record: NewDeliveryRecord): EncodableRecord {
  if (record === null || typeof record !== 'object') throw new TypeError('outbox record must be an object');
  const { id, interactionId, status, acceptedAtMs, body } = record;
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('outbox record id must be a non-empty string');
  if (typeof interactionId !== 'string' || interactionId.length === 0) throw new TypeError('outbox record interactionId must be a non-empty string');
  if (status !== 'processed' && status !== 'update') throw new TypeError(`outbox record status must be 'processed' or 'update'`);
  if (typeof acceptedAtMs !== 'number' || !Number.isFinite(acceptedAtMs)) throw new TypeError('outbox record acceptedAtMs must be a finite number');
  if (!Buffer.isBuffer(body)) throw new TypeError('outbox record body must be a Buffer');
  const idBytes = Buffer.from(id, 'utf8');
  const iidBytes = Buffer.from(interactionId, 'utf8');
  if (idBytes.length > MAX_STRING_BYTES) throw new TypeError(`outbox record id is longer than ${MAX_STRING_BYTES} bytes`);
  if (iidBytes.length > MAX_STRING_BYTES) throw new TypeError(`outbox record interactionId is longer than ${MAX_STRING_BYTES} bytes`);
  return { record, id: idBytes, interactionId: iidBytes, frameBytes: FRAME_OVERHEAD + idBytes.length + iidBytes.length + body.length };
}

/** Writes one frame at `offset` of `out` (which has room for `r.frameBytes`); returns the body's view inside `out`. */
export function encodeFrame(out: Buffer, offset: number, r: EncodableRecord, seq: number): Buffer {
  const payloadLen = r.frameBytes - FRAME_HEADER_BYTES;
  out.writeUInt32LE(FRAME_MAGIC, offset);
  out.writeUInt32LE(payloadLen, offset + 4);
  const p = offset + FRAME_HEADER_BYTES;
  writeU64(out, p, seq);
  out.writeDoubleLE(r.record.acceptedAtMs, p + 8);
  out[p + 16] = STATUS_CODE[r.record.status];
  out[p + 17] = 0;
  out.writeUInt16LE(r.id.length, p + 18);
  out.writeUInt16LE(r.interactionId.length, p + 20);
  out.writeUInt16LE(0, p + 22);
  out.writeUInt32LE(r.record.body.length, p + 24);
  let q = p + PAYLOAD_FIXED_BYTES;
  q += r.id.copy(out, q);
  q += r.interactionId.copy(out, q);
  const bodyStart = q;
  r.record.body.copy(out, q);
  const end = offset + r.frameBytes;
  // The CRC covers the length field too, so a damaged length cannot pass as a shorter record.
  out.writeUInt32LE(crc32(out.subarray(p, end), crc32(out.subarray(offset + 4, offset + 8))), offset + 8);
  return out.subarray(bodyStart, end);
}

export type FrameResult =
  /** A whole, valid record; `frameBytes` long. */
  | { kind: 'record'; record: DeliveryRecord; frameBytes: number }
  /** The bytes end inside a frame whose header looks sane: `needBytes` from `offset` would complete it. */
  | { kind: 'incomplete'; needBytes: number }
  /** Not a valid frame here. */
  | { kind: 'bad'; reason: string };

/**
 * Decodes the frame at `offset` of `b` (whose data ends at `end`). Record bodies are views into
 * `b`, not copies. An incomplete frame is only reported as such when its header is intact; a
 * header that is itself cut short is 'incomplete' with the header size.
 */
export function decodeFrame(b: Buffer, offset: number, end: number): FrameResult {
  const avail = end - offset;
  if (avail < FRAME_HEADER_BYTES) return { kind: 'incomplete', needBytes: FRAME_HEADER_BYTES };
  if (b.readUInt32LE(offset) !== FRAME_MAGIC) return { kind: 'bad', reason: 'bad frame magic' };
  const payloadLen = b.readUInt32LE(offset + 4);
  if (payloadLen < PAYLOAD_FIXED_BYTES || payloadLen > MAX_PAYLOAD_BYTES) return { kind: 'bad', reason: `implausible frame length ${payloadLen}` };
  const frameBytes = FRAME_HEADER_BYTES + payloadLen;
  if (avail < frameBytes) return { kind: 'incomplete', needBytes: frameBytes };
  const p = offset + FRAME_HEADER_BYTES;
  const stop = offset + frameBytes;
  if (b.readUInt32LE(offset + 8) !== crc32(b.subarray(p, stop), crc32(b.subarray(offset + 4, offset + 8)))) {
    return { kind: 'bad', reason: 'frame checksum mismatch' };
  }
  const seq = readU64(b, p);
  const status = STATUS_NAME[b[p + 16]!];
  const idLen = b.readUInt16LE(p + 18);
  const iidLen = b.readUInt16LE(p + 20);
  const bodyLen = b.readUInt32LE(p + 24);
  if (!Number.isSafeInteger(seq) || seq < 1) return { kind: 'bad', reason: `bad seq ${seq}` };
  if (status === undefined) return { kind: 'bad', reason: `bad status code ${b[p + 16]}` };
  if (PAYLOAD_FIXED_BYTES + idLen + iidLen + bodyLen !== payloadLen || idLen === 0 || iidLen === 0) {
    return { kind: 'bad', reason: 'field lengths do not add up to the frame length' };
  }
  const q = p + PAYLOAD_FIXED_BYTES;
  const record: DeliveryRecord = {
    seq,
    id: b.toString('utf8', q, q + idLen),
    status,
    interactionId: b.toString('utf8', q + idLen, q + idLen + iidLen),
    acceptedAtMs: b.readDoubleLE(p + 8),
    body: b.subarray(q + idLen + iidLen, stop),
  };
  return { kind: 'record', record, frameBytes };
}

/** Offset of the next frame magic at or after `from`, or -1 (for resynchronising after damage). */
export function findFrameMagic(b: Buffer, from: number, end: number): number {
  const at = b.subarray(0, end).indexOf(FRAME_MAGIC_BYTES, from);
  return at;
}

function writeU64(b: Buffer, at: number, v: number): void {
  b.writeUInt32LE(v % TWO_32, at);
  b.writeUInt32LE(Math.floor(v / TWO_32), at + 4);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readUInt32LE(at + 4) * TWO_32;
}
