/**
 * Recovery at open: every segment is read once, end to end, and left clean.
 *
 * - A torn record at the END of the newest segment is what a crash in the middle of a write leaves
 *   (the records it held were never acknowledged: acknowledgement waits for the sync). It is cut
 *   off: one `warn` line.
 * - The same at the end of an older segment cannot come from a crash (a segment is synced before
 *   the next one starts), so acknowledged records were lost: cut off all the same, one `error` line.
 * - Damage in the MIDDLE of a segment (valid records after it): the valid records before and after
 *   are kept, the damaged span is dropped, and the segment is rewritten without it; the original
 *   stays next to it as `<segment>.corrupt-<ms>` for inspection. One `error` line per segment, naming
 *   the offset, the bytes and the seqs lost. The outbox opens: refusing to start would lose every
 *   event CXone sends meanwhile, while the damage is already done.
 * - A segment cut short inside its header (a crash while it was being created): removed, one `warn`.
 */
import { copyFile, link, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { writeFileAtomically } from '../persist/atomic-file.js';
import { processAlive } from '../persist/lock.js';
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES } from './codec.js';
import { parseSegmentName, scanSegment, type ScanMark, type SegmentScan } from './segment-file.js';

export interface RecoveredSegment {
  name: string;
  path: string;
  /** The seq the segment was created for (records hold this one or higher). */
  firstSeq: number;
  /** Bytes on disk, header included. */
  size: number;
  records: number;
  /** Seq of the last record, or firstSeq - 1 when empty. */
  lastSeq: number;
  firstAcceptedAtMs: number | null;
  /** First record above each asked threshold found in this segment. */
  marks: Map<number, ScanMark>;
}

export interface RecoveryReport {
  segments: RecoveredSegment[];
  tornTailsCut: number;
  damagedSegments: number;
  removedSegments: number;
}

/**
 * Lists, checks and repairs the segments of `dir`. `thresholds` are the sinks' persisted cursors:
 * the first record above each is located on the way.
 */
export async function recoverSegments(dir: string, thresholds: readonly number[], logger: Logger): Promise<RecoveryReport> {
  const all = await readdir(dir);
  // Temporary files of a repair interrupted by a crash (see rewrite below).
  for (const name of all) {
    const pid = Number(/^seg-\d{20}\.log\.tmp-(\d+)-\d+$/.exec(name)?.[1]);
    if (pid > 0 && (pid === process.pid || !processAlive(pid))) await rm(path.join(dir, name), { force: true });
  }
  const names = all
    .map((name) => ({ name, seq: parseSegmentName(name) }))
    .filter((x): x is { name: string; seq: number } => x.seq !== null)
    .sort((a, b) => a.seq - b.seq);
  const report: RecoveryReport = { segments: [], tornTailsCut: 0, damagedSegments: 0, removedSegments: 0 };
  let pending = [...new Set(thresholds)];
  let lastSeq: number | null = null;

  for (let i = 0; i < names.length; i++) {
    const { name, seq: nameSeq } = names[i]!;
    const file = path.join(dir, name);
    const newest = i === names.length - 1;
    const fh = await open(file, 'r+');
    try {
      let size = (await fh.stat()).size;
      let scan = await scanSegment(fh, size, nameSeq, pending);
      if (size < SEGMENT_HEADER_BYTES) {
        await fh.close().catch(() => undefined);
        await rm(file, { force: true });
        report.removedSegments++;
        const line = newest ? logger.warn.bind(logger) : logger.error.bind(logger);
        line('outbox: removed a segment cut short inside its header (a crash while it was being created)', { segment: name, bytes: size });
        continue;
      }
      if (scan.headerProblem !== null || scan.damage.length > 0 || (scan.tail !== null && !newest)) {
        report.damagedSegments++;
        const keptAs = await rewrite(fh, file, nameSeq, scan);
        const fresh = await open(file, 'r');
        try {
          size = (await fresh.stat()).size;
          const rescanned = await scanSegment(fresh, size, nameSeq, pending);
          if (rescanned.headerProblem !== null || rescanned.damage.length > 0 || rescanned.tail !== null) {
            throw new Error(`outbox segment ${file} is still damaged after being rewritten`);
          }
          logger.error('outbox: a damaged segment was repaired; the damaged records are lost', {
            segment: name,
            keptAs: path.basename(keptAs),
            header: scan.headerProblem ?? 'ok',
            damage: [...scan.damage, ...(scan.tail ? [scan.tail] : [])].slice(0, 10),
            recordsKept: rescanned.records,
            lostSeqs: lostSeqs(scan, lastSeq),
          });
          scan = rescanned;
        } finally {
          await fresh.close();
        }
      } else if (scan.tail !== null) {
        await fh.truncate(scan.validEnd);
        await fh.sync();
        report.tornTailsCut++;
        logger.warn('outbox: cut a torn record off the end of the newest segment (a write interrupted by a crash; it was never acknowledged)', {
          segment: name,
          offset: scan.tail.offset,
          bytes: scan.tail.bytes,
          reason: scan.tail.reason,
        });
        size = scan.validEnd;
      }
      for (const t of scan.marks.keys()) pending = pending.filter((x) => x !== t);
      report.segments.push({
        name,
        path: file,
        firstSeq: nameSeq,
        size,
        records: scan.records,
        lastSeq: scan.lastSeq ?? nameSeq - 1,
        firstAcceptedAtMs: scan.firstAcceptedAtMs,
        marks: scan.marks,
      });
      if (scan.lastSeq !== null) lastSeq = scan.lastSeq;
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
  return report;
}

/** Keeps the damaged original as `<file>.corrupt-<ms>` and atomically replaces the segment with its valid frames. */
async function rewrite(fh: FileHandle, file: string, firstSeq: number, scan: SegmentScan): Promise<string> {
  const keptAs = `${file}.corrupt-${Date.now()}`;
  // No hard links on this file system: a copy will do.
  await link(file, keptAs).catch(() => copyFile(file, keptAs));
  const createdAtMs = scan.createdAtMs ?? (await stat(file)).mtimeMs;
  async function* content(): AsyncGenerator<Uint8Array> {
    yield encodeSegmentHeader({ firstSeq, createdAtMs });
    for (const [start, end] of scan.spans) {
      for (let at = start; at < end; ) {
        const n = Math.min(end - at, 1 << 20);
        const b = Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(b, 0, n, at);
        if (bytesRead === 0) throw new Error(`${file} shrank while being repaired`);
        yield b.subarray(0, bytesRead);
        at += bytesRead;
      }
    }
  }
  await writeFileAtomically(file, content());
  return keptAs;
}

/** A short description of the seqs a damaged segment lost (from the gaps around its damaged spans). */
function lostSeqs(scan: SegmentScan, previousLastSeq: number | null): string {
  const parts: string[] = [];
  if (scan.firstSeq !== null && previousLastSeq !== null && scan.firstSeq > previousLastSeq + 1) {
    parts.push(range(previousLastSeq + 1, scan.firstSeq - 1));
  }
  for (const g of scan.gaps) if (g.afterSeq !== null) parts.push(range(g.afterSeq + 1, g.nextSeq - 1));
  if (scan.tail !== null) parts.push(`after ${scan.lastSeq ?? previousLastSeq ?? 'none'} to the end of the segment`);
  return parts.length > 0 ? parts.join(', ') : 'unknown (no valid record after the damage)';
}

const range = (a: number, b: number): string => (a === b ? `${a}` : `${a}–${b}`);
