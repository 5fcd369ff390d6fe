/**
 * Segment files: their names, reading them in bounded chunks, and checking one from end to end
 * (recovery). A segment is `seg-<first seq, 20 digits>.log`, so names sort in seq order.
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory } from '../persist/atomic-file.js';
import { decodeFrame, decodeSegmentHeader, encodeSegmentHeader, findFrameMagic, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './codec.js';

const NAME = /^seg-(\d{20})\.log$/;

export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(20, '0')}.log`;
}

/** The first seq a segment file name declares, or null for any other file. */
export function parseSegmentName(name: string): number | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) && seq >= 1 ? seq : null;
}

/** Reads a file through one reusable buffer: memory stays at about `chunkBytes` (or the largest frame). */
export class ChunkWindow {
  buf: Buffer;
  /** File offset of buf[0]. */
  start = 0;
  /** Valid bytes in buf. */
  length = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly chunkBytes = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(size, 1)));
  }

  /** Makes [offset, offset + n) resident as far as the file reaches; returns the window end (a file offset). */
  async ensure(offset: number, n: number): Promise<number> {
    const want = Math.min(this.size, offset + Math.max(n, this.chunkBytes)) - offset;
    const end = this.start + this.length;
    if (offset >= this.start && offset + Math.min(n, this.size - offset) <= end) return end;
    if (this.buf.length < want) this.buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(this.buf, got, want - got, offset + got);
      if (bytesRead === 0) break; // the file shrank under us: report what there is
      got += bytesRead;
    }
    this.start = offset;
    this.length = got;
    return offset + got;
  }
}

/** The first record above a cursor, as found by a scan. */
export interface ScanMark {
  /** File offset of the frame. */
  offset: number;
  /** How many records of this segment precede it. */
  index: number;
  seq: number;
  acceptedAtMs: number;
}

export interface Damage {
  offset: number;
  bytes: number;
  reason: string;
}

export interface SegmentScan {
  /** Why the header is not valid (the name's first seq is used then), or null. */
  headerProblem: string | null;
  createdAtMs: number | null;
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  firstAcceptedAtMs: number | null;
  /** Offset after the last valid frame. */
  validEnd: number;
  /** Damaged spans with valid frames after them. */
  damage: Damage[];
  /** Invalid bytes from here to the end of the file, with no valid frame after them. */
  tail: Damage | null;
  /** Runs of valid frames [start, end), for rewriting a damaged segment. */
  spans: Array<[number, number]>;
  /** Breaks in the seq sequence between consecutive valid records (records lost in a damaged span). */
  gaps: Array<{ afterSeq: number | null; nextSeq: number }>;
  /** For each threshold asked for, the first record with a greater seq, if this segment has one. */
  marks: Map<number, ScanMark>;
}

/**
 * Reads a whole segment and classifies every byte after the header: valid frames, damaged spans
 * followed by valid frames (resynchronised on the frame magic, accepted only with a valid CRC and a
 * seq above the last good one), and a damaged or cut-short tail.
 */
export async function scanSegment(fh: FileHandle, size: number, nameSeq: number, thresholds: readonly number[], chunkBytes?: number): Promise<SegmentScan> {
  const w = new ChunkWindow(fh, size, chunkBytes);
  const scan: SegmentScan = {
    headerProblem: null,
    createdAtMs: null,
    records: 0,
    firstSeq: null,
    lastSeq: null,
    firstAcceptedAtMs: null,
    validEnd: SEGMENT_HEADER_BYTES,
    damage: [],
    tail: null,
    spans: [],
    gaps: [],
    marks: new Map(),
  };
  const end0 = await w.ensure(0, SEGMENT_HEADER_BYTES);
  const header = decodeSegmentHeader(w.buf.subarray(0, end0));
  if (typeof header === 'string') scan.headerProblem = header;
  else if (header.firstSeq !== nameSeq) scan.headerProblem = `header says first seq ${header.firstSeq}, the file name ${nameSeq}`;
  else scan.createdAtMs = header.createdAtMs;
  if (size < SEGMENT_HEADER_BYTES) {
    scan.validEnd = size;
    return scan;
  }
  let pending = [...thresholds].sort((a, b) => a - b);
  let spanStart = -1;

  /** The valid frame at `offset` with a seq above the last good one, or why not. */
  const frameAt = async (offset: number): Promise<{ ok: true; seq: number; acceptedAtMs: number; bytes: number } | { ok: false; reason: string }> => {
    let end = await w.ensure(offset, FRAME_HEADER_BYTES);
    for (;;) {
      const r = decodeFrame(w.buf, offset - w.start, end - w.start);
      if (r.kind === 'record') {
        if (scan.lastSeq !== null && r.record.seq <= scan.lastSeq) return { ok: false, reason: `seq ${r.record.seq} not above the previous ${scan.lastSeq}` };
        return { ok: true, seq: r.record.seq, acceptedAtMs: r.record.acceptedAtMs, bytes: r.frameBytes };
      }
      if (r.kind === 'bad') return { ok: false, reason: r.reason };
      if (offset + r.needBytes > size) {
        return { ok: false, reason: `record cut short (${size - offset} of ${r.needBytes} bytes)` };
      }
      end = await w.ensure(offset, r.needBytes);
    }
  };

  let offset = SEGMENT_HEADER_BYTES;
  while (offset < size) {
    const f = await frameAt(offset);
    if (f.ok) {
      if (spanStart < 0) spanStart = offset;
      if (scan.lastSeq !== null && f.seq !== scan.lastSeq + 1) scan.gaps.push({ afterSeq: scan.lastSeq, nextSeq: f.seq });
      if (scan.firstSeq === null) scan.firstSeq = f.seq;
      if (scan.firstAcceptedAtMs === null) scan.firstAcceptedAtMs = f.acceptedAtMs;
      while (pending.length > 0 && pending[0]! < f.seq) {
        scan.marks.set(pending[0]!, { offset, index: scan.records, seq: f.seq, acceptedAtMs: f.acceptedAtMs });
        pending = pending.slice(1);
      }
      scan.records++;
      scan.lastSeq = f.seq;
      offset += f.bytes;
      scan.validEnd = offset;
      continue;
    }
    if (spanStart >= 0) scan.spans.push([spanStart, offset]);
    spanStart = -1;
    const next = await resync(w, offset + 1, size, frameAt);
    if (next < 0) {
      scan.tail = { offset, bytes: size - offset, reason: f.reason };
      break;
    }
    scan.damage.push({ offset, bytes: next - offset, reason: f.reason });
    offset = next;
  }
  if (spanStart >= 0) scan.spans.push([spanStart, offset]);
  return scan;
}

/** The offset of the next valid frame at or after `from`, or -1. */
async function resync(w: ChunkWindow, from: number, size: number, frameAt: (offset: number) => Promise<{ ok: boolean }>): Promise<number> {
  let at = from;
  while (at < size) {
    const end = await w.ensure(at, FRAME_HEADER_BYTES);
    const local = findFrameMagic(w.buf, at - w.start, end - w.start);
    if (local < 0) {
      if (end >= size) return -1;
      at = Math.max(at + 1, end - 3); // the magic may straddle the window's end
      continue;
    }
    const candidate = w.start + local;
    // frameAt moves the window; the search continues from the candidate either way.
    if ((await frameAt(candidate)).ok) return candidate;
    at = candidate + 1;
  }
  return -1;
}

/** A segment as the outbox tracks it while open. */
export interface LiveSegment {
  readonly name: string;
  readonly path: string;
  /** The seq it was created for; its records hold this one or higher. */
  readonly firstSeq: number;
  /** Committed bytes, header included: readers never read past it. */
  size: number;
  records: number;
  /** Seq of its last record (firstSeq - 1 while empty). */
  lastSeq: number;
  /** How many records precede it in the outbox, and how many frame bytes (for queue sizes). */
  readonly baseOrdinal: number;
  readonly baseLogical: number;
  firstAcceptedAtMs: number | null;
}

/** Creates an empty segment for `firstSeq`, synced with its directory entry. */
export async function createSegment(dir: string, firstSeq: number, nowMs: number): Promise<{ fh: FileHandle; segment: Omit<LiveSegment, 'baseOrdinal' | 'baseLogical'> }> {
  const name = segmentName(firstSeq);
  const file = path.join(dir, name);
  // 'w': a file of this name can only be left by an earlier failed attempt to create it.
  const fh = await open(file, 'w', 0o600);
  try {
    await writeAll(fh, encodeSegmentHeader({ firstSeq, createdAtMs: nowMs }), 0);
    await fh.datasync();
    await syncDirectory(dir);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(file, { force: true }).catch(() => undefined);
    throw err;
  }
  return { fh, segment: { name, path: file, firstSeq, size: SEGMENT_HEADER_BYTES, records: 0, lastSeq: firstSeq - 1, firstAcceptedAtMs: null } };
}

export async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, position + off);
    off += bytesWritten;
  }
}

export async function readAt(fh: FileHandle, position: number, n: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === n ? buf : buf.subarray(0, got);
}
