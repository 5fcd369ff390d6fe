/**
 * One sink's reading of records that are no longer in memory: a position in a segment, an open
 * handle, and the last chunk read (256 KiB), which serves the next calls too. Records are copied
 * out of the chunk, so what a sink holds never pins a chunk. Every frame's CRC is checked.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { decodeFrame, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './codec.js';
import { readAt, type LiveSegment } from './segment-file.js';
import type { DeliveryRecord } from './types.js';

const READ_CHUNK_BYTES = 256 * 1024;

/** A record's place: the frame at `offset` of `seg`. */
export interface DiskPos {
  seg: LiveSegment;
  offset: number;
  /** acceptedAtMs of the record there, when known (for the lag). */
  acceptedAtMs: number | null;
}

/** Where a read stopped: the next record's ordinal and logical byte position. */
export interface ReadEnd {
  ordinal: number;
  logical: number;
}

export class DiskReader {
  /** The next record to read; set by whoever moved the sink off the in-memory tail. */
  pos: DiskPos | null = null;
  #handle: { seg: LiveSegment; fh: FileHandle } | null = null;
  #chunk: { seg: LiveSegment; offset: number; buf: Buffer } | null = null;

  constructor(
    private readonly sink: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Reads up to `max` records from `pos` (which holds the record at `from.ordinal`), stopping
   * before ordinal `stop`; `handed` sees each one. `segments` are the live ones in seq order.
   * Damage found here (it appeared after recovery checked every byte) skips the rest of the
   * segment, with one error line, rather than failing forever. A read error rejects, unless
   * records were read already: those are returned, and the error recurs on the next call.
   */
  async read(
    from: ReadEnd,
    max: number,
    stop: number,
    segments: readonly LiveSegment[],
    handed: (record: DeliveryRecord, frameBytes: number) => void,
  ): Promise<{ records: DeliveryRecord[]; end: ReadEnd }> {
    const out: DeliveryRecord[] = [];
    let pos = this.pos!;
    let { ordinal, logical } = from;
    try {
      while (out.length < max && ordinal < stop) {
        const seg = pos.seg;
        if (pos.offset >= seg.size) {
          // By seq, not by index: `seg` itself may have been deleted meanwhile (this sink had finished it).
          const next = segments.find((x) => x.firstSeq > seg.firstSeq);
          if (next === undefined) break;
          pos = { seg: next, offset: SEGMENT_HEADER_BYTES, acceptedAtMs: next.firstAcceptedAtMs };
          ordinal = next.baseOrdinal;
          logical = next.baseLogical;
          continue;
        }
        const base = pos.offset;
        let buf = await this.#bytesAt(seg, base, FRAME_HEADER_BYTES);
        let local = 0;
        let damaged: string | null = null;
        while (local < buf.length) {
          const r = decodeFrame(buf, local, buf.length);
          if (r.kind === 'incomplete') {
            if (local > 0) break; // read on from here
            if (base + r.needBytes > seg.size) {
              damaged = 'record runs past the end of the segment';
              break;
            }
            buf = await this.#bytesAt(seg, base, r.needBytes);
            if (buf.length < r.needBytes) {
              damaged = 'the segment file is shorter than recorded';
              break;
            }
            continue;
          }
          if (r.kind === 'bad') {
            damaged = r.reason;
            break;
          }
          if (out.length >= max || ordinal >= stop) {
            pos.acceptedAtMs = r.record.acceptedAtMs;
            break;
          }
          // A copy: a view would keep the whole chunk alive as long as the sink holds the record.
          const record: DeliveryRecord = { ...r.record, body: Buffer.from(r.record.body) };
          out.push(record);
          handed(record, r.frameBytes);
          ordinal++;
          logical += r.frameBytes;
          local += r.frameBytes;
          pos = { seg, offset: base + local, acceptedAtMs: null };
        }
        if (damaged !== null) {
          this.logger.error('outbox: a damaged record was found while reading; the rest of its segment is skipped for this sink', {
            sink: this.sink,
            segment: seg.name,
            offset: pos.offset,
            reason: damaged,
            recordsSkipped: seg.baseOrdinal + seg.records - ordinal,
          });
          ordinal = seg.baseOrdinal + seg.records;
          logical = seg.baseLogical + (seg.size - SEGMENT_HEADER_BYTES);
          pos = { seg, offset: seg.size, acceptedAtMs: null };
        }
      }
    } catch (err) {
      // Records already counted as handed must reach the sink, or they would stay in flight forever.
      // With none, the position stays where it was, so the next call retries from there.
      if (out.length === 0) throw err;
    }
    this.pos = pos;
    return { records: out, end: { ordinal, logical } };
  }

  /** Closes the handle (and drops the chunk) when it is for `seg`, or whatever it is for. */
  async release(seg?: LiveSegment): Promise<void> {
    if (seg === undefined || this.#chunk?.seg === seg) this.#chunk = null;
    if (this.#handle !== null && (seg === undefined || this.#handle.seg === seg)) {
      const { fh } = this.#handle;
      this.#handle = null;
      await fh.close().catch(() => undefined);
    }
  }

  /** Bytes of `seg` from `offset`: at least `need` of them where the segment has them (a whole chunk when it can). */
  async #bytesAt(seg: LiveSegment, offset: number, need: number): Promise<Buffer> {
    const c = this.#chunk;
    if (c !== null && c.seg === seg && offset >= c.offset && offset + need <= c.offset + c.buf.length) return c.buf.subarray(offset - c.offset);
    const n = Math.min(seg.size - offset, Math.max(need, READ_CHUNK_BYTES));
    const buf = await readAt(await this.#handleFor(seg), offset, n);
    this.#chunk = { seg, offset, buf };
    return buf;
  }

  async #handleFor(seg: LiveSegment): Promise<FileHandle> {
    if (this.#handle?.seg === seg) return this.#handle.fh;
    await this.release();
    const fh = await open(seg.path, 'r');
    this.#handle = { seg, fh };
    return fh;
  }
}
