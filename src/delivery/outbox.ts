/**
 * The durable outbox (issue 10): accepted events are appended to segment files and synced before
 * the webhook is answered; dispatchers read them back, one cursor per sink, and ack them.
 *
 * - Group commit: appends wait at most `commitDelayMs` (less when a batch is large) and then share
 *   one write and one fdatasync; while a commit runs, the next batch gathers, so under load the
 *   batch is whatever arrived during one sync.
 * - A failed write is cut off the file again before anything else is written, so a rejected
 *   append is never delivered; a rejected append never consumed a seq either.
 * - Cursors are written to `cursors.json` at most every `cursorSyncMs`; segments every sink has
 *   finished (by its persisted cursor) are deleted. Disk use stays under `maxBytes`.
 * - Memory: the newest `memoryBytes` of records stay in memory for sinks that keep up; anything
 *   older is read back from disk in chunks.
 *
 * Format and guarantees: docs/delivery.md.
 */
import { mkdir, open, realpath, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LogThrottle, type Logger } from '../log.js';
import { removeStaleTempFiles } from '../persist/atomic-file.js';
import { LockHeldError, SnapshotLock } from '../persist/lock.js';
import { encodeFrame, FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES, prepareRecord, SEGMENT_HEADER_BYTES, type EncodableRecord } from './codec.js';
import { CURSOR_FILE, readCursorFile, SinkCursor, writeCursorFile } from './cursors.js';
import { DiskReader } from './disk-reader.js';
import { OutboxLockedError, OutboxOpenError, OutboxRejectedError, REJECT_REASONS, type RejectReason } from './errors.js';
import {
  checkOptions,
  DEFAULT_COMMIT_DELAY_MS,
  DEFAULT_CURSOR_SYNC_MS,
  DEFAULT_MEMORY_BYTES,
  type CloseOptions,
  type OutboxOptions,
  type OutboxStats,
  type SinkStats,
  type Summary,
} from './options.js';
import { recoverSegments, type RecoveryReport } from './recovery.js';
import { createSegment, writeAll, type LiveSegment } from './segment-file.js';
import { TailCache, type Located } from './tail-cache.js';
import type { DeliveryRecord, DeliverySource, NewDeliveryRecord } from './types.js';

export type { CloseOptions, OutboxOptions, OutboxStats, SinkStats, Summary } from './options.js';

/** A batch this large is written at once instead of waiting out the commit delay. */
const FLUSH_BYTES = 1024 * 1024;
const FLUSH_RECORDS = 1024;
/** One commit writes at most this much; the rest waits for the next. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const MAX_BATCH_RECORDS = 16384;
const DISK_ERROR_LOG_INTERVAL_MS = 10_000;

/** Directories open in this process (the lock file treats our own pid as a restarted container's). */
const openDirs = new Set<string>();

interface Pending {
  prep: EncodableRecord;
  resolve: (seq: number) => void;
  reject: (err: Error) => void;
}

interface Sink {
  readonly cursor: SinkCursor;
  /** Ordinal and logical byte position of the next record to hand. */
  handedOrdinal: number;
  handedLogical: number;
  /** Reads on from disk while handedOrdinal is below the in-memory tail. */
  readonly disk: DiskReader;
  /** next() calls of one sink run one after another. */
  chain: Promise<unknown>;
}

class Stat {
  last = 0;
  max = 0;
  #sum = 0;
  #n = 0;
  add(v: number): void {
    this.last = v;
    if (v > this.max) this.max = v;
    this.#sum += v;
    this.#n++;
  }
  summary(): Summary {
    return { last: this.last, max: this.max, mean: this.#n === 0 ? 0 : this.#sum / this.#n };
  }
}

export class Outbox implements DeliverySource {
  readonly dir: string;
  readonly #realDir: string;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #lock: SnapshotLock;
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  readonly #commitDelayMs: number;
  readonly #cursorSyncMs: number;
  readonly #maxFrameBytes: number;
  /** Bounds one commit, and so how far a segment can grow past segmentBytes. */
  readonly #maxBatchBytes: number;
  readonly #cursorPath: string;
  readonly #recovery: RecoveryReport;

  readonly #segments: LiveSegment[];
  #active: LiveSegment;
  #activeFh: FileHandle;
  #nextSeq: number;
  #endOrdinal: number;
  #logicalEnd: number;
  #diskBytes: number;
  readonly #tail: TailCache;
  readonly #sinks = new Map<string, Sink>();

  #pending: Pending[] = [];
  #pendingBytes = 0;
  #batchBytes = 0;
  #batchCount = 0;
  #timer: { cancel(): void } | undefined;
  #draining: Promise<void> | null = null;
  /** Set after a failed write: the active segment must be cut back to this size before the next one. */
  #repairAt: number | null = null;
  readonly #diskErrorLog = new LogThrottle(DISK_ERROR_LOG_INTERVAL_MS);
  /** Records rejected since the last successful commit. */
  #diskErrorStreak = 0;

  #waiters = new Set<() => void>();
  #cursorTimer: NodeJS.Timeout | undefined;
  #cursorChain: Promise<unknown> = Promise.resolve();
  #fullFlushQueued = false;

  #full = false;
  #closed = false;
  #closing: Promise<void> | null = null;

  #appends = 0;
  #commits = 0;
  readonly #batchStat = new Stat();
  readonly #latencyStat = new Stat();
  readonly #rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  #cursorWrites = 0;
  #cursorWriteFailures = 0;
  #segmentsDeleted = 0;

  private constructor(init: {
    options: OutboxOptions;
    dir: string;
    realDir: string;
    lock: SnapshotLock;
    segmentBytes: number;
    segments: LiveSegment[];
    activeFh: FileHandle;
    nextSeq: number;
    recovery: RecoveryReport;
  }) {
    const { options } = init;
    this.dir = init.dir;
    this.#realDir = init.realDir;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#lock = init.lock;
    this.#maxBytes = options.maxBytes;
    this.#segmentBytes = init.segmentBytes;
    this.#commitDelayMs = options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS;
    this.#cursorSyncMs = options.cursorSyncMs ?? DEFAULT_CURSOR_SYNC_MS;
    this.#maxFrameBytes = Math.min(FRAME_HEADER_BYTES + MAX_PAYLOAD_BYTES, options.maxBytes - 2 * SEGMENT_HEADER_BYTES);
    this.#maxBatchBytes = Math.min(MAX_BATCH_BYTES, init.segmentBytes);
    this.#cursorPath = path.join(init.realDir, CURSOR_FILE);
    this.#recovery = init.recovery;
    this.#segments = init.segments;
    this.#active = init.segments[init.segments.length - 1]!;
    this.#activeFh = init.activeFh;
    this.#nextSeq = init.nextSeq;
    const last = this.#active;
    this.#endOrdinal = last.baseOrdinal + last.records;
    this.#logicalEnd = last.baseLogical + (last.size - SEGMENT_HEADER_BYTES);
    this.#diskBytes = init.segments.reduce((n, s) => n + s.size, 0);
    this.#tail = new TailCache(options.memoryBytes ?? DEFAULT_MEMORY_BYTES, this.#endOrdinal);
  }

  /** Opens (creating, recovering) the outbox in `options.dir`; OutboxLockedError when another daemon uses it. */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const segmentBytes = checkOptions(options);
    const { logger } = options;
    const dir = path.resolve(options.dir);
    let realDir: string;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      realDir = await realpath(dir);
    } catch (err) {
      throw new OutboxOpenError(`OUTBOX_DIR ${dir}: cannot create or open it: ${(err as Error).message}`);
    }
    if (openDirs.has(realDir)) throw new OutboxLockedError(`OUTBOX_DIR ${dir} is already open in this process`);
    openDirs.add(realDir);
    let lock: SnapshotLock;
    try {
      lock = await SnapshotLock.acquire(path.join(realDir, 'outbox'), {
        name: `OUTBOX_DIR ${dir}`,
        setting: 'OUTBOX_DIR',
        onTakeover: (previous, why) => logger.warn('outbox: took over a stale lock', { dir, previous, why }),
      });
    } catch (err) {
      openDirs.delete(realDir);
      if (err instanceof LockHeldError) throw new OutboxLockedError(err.message);
      throw new OutboxOpenError(`OUTBOX_DIR ${dir}: cannot create its lock file: ${(err as Error).message}`);
    }
    try {
      return await Outbox.#recover(options, dir, realDir, lock, segmentBytes);
    } catch (err) {
      await lock.release();
      openDirs.delete(realDir);
      if (err instanceof OutboxOpenError) throw err;
      throw new OutboxOpenError(`OUTBOX_DIR ${dir}: cannot recover the outbox: ${(err as Error).message}`, { cause: err });
    }
  }

  static async #recover(options: OutboxOptions, dir: string, realDir: string, lock: SnapshotLock, segmentBytes: number): Promise<Outbox> {
    const { logger } = options;
    const cursorPath = path.join(realDir, CURSOR_FILE);
    await removeStaleTempFiles(cursorPath);
    const file = await readCursorFile(cursorPath);
    // A sink with a persisted cursor resumes above it. Without a usable cursor file every sink starts
    // at the oldest record on disk (at-least-once); a sink the file does not know is new and starts
    // after the records already there (they were accepted before it was configured).
    const known = file.status === 'ok' ? file.sinks : new Map<string, number>();
    const thresholds = options.sinks.map((name) => known.get(name) ?? (file.status === 'ok' ? null : 0)).filter((t): t is number => t !== null);
    const report = await recoverSegments(realDir, thresholds, logger);
    if (file.status === 'unreadable') {
      logger.warn('outbox: cursor file unreadable; every sink starts at the oldest record on disk (records may be delivered again)', { file: cursorPath, reason: file.reason });
    } else if (file.status === 'missing' && report.segments.some((s) => s.records > 0)) {
      logger.warn('outbox: no cursor file; every sink starts at the oldest record on disk (records may be delivered again)', { file: cursorPath });
    }
    if (file.status === 'ok') {
      const dropped = [...file.sinks.keys()].filter((n) => !options.sinks.includes(n));
      if (dropped.length > 0) logger.info('outbox: sinks no longer configured; their cursors are dropped', { sinks: dropped });
    }

    let lastSeq = 0;
    for (const s of report.segments) if (s.records > 0) lastSeq = Math.max(lastSeq, s.lastSeq);
    let nextSeq = Math.max(1, lastSeq + 1, file.status === 'ok' ? file.nextSeq : 1, ...[...known.values()].map((v) => v + 1));
    const lastFile = report.segments[report.segments.length - 1];
    if (lastFile !== undefined) nextSeq = Math.max(nextSeq, lastFile.firstSeq);

    const segments: LiveSegment[] = [];
    let ordinal = 0;
    let logical = 0;
    for (const s of report.segments) {
      segments.push({
        name: s.name,
        path: s.path,
        firstSeq: s.firstSeq,
        size: s.size,
        records: s.records,
        lastSeq: s.lastSeq,
        baseOrdinal: ordinal,
        baseLogical: logical,
        firstAcceptedAtMs: s.firstAcceptedAtMs,
      });
      ordinal += s.records;
      logical += s.size - SEGMENT_HEADER_BYTES;
    }
    let activeFh: FileHandle;
    if (segments.length > 0) {
      activeFh = await open(segments[segments.length - 1]!.path, 'r+');
    } else {
      const created = await createSegment(realDir, nextSeq, options.now?.() ?? Date.now());
      activeFh = created.fh;
      segments.push({ ...created.segment, baseOrdinal: 0, baseLogical: 0 });
    }

    const outbox = new Outbox({ options, dir, realDir, lock, segmentBytes, segments, activeFh, nextSeq, recovery: report });
    for (const name of options.sinks) {
      const start = known.get(name) ?? (file.status === 'ok' ? nextSeq - 1 : 0);
      outbox.#placeSink(name, start, report);
    }
    try {
      await outbox.#writeCursors();
    } catch (err) {
      await outbox.#closeFiles();
      throw err;
    }
    logger.info('outbox opened', {
      dir,
      segments: segments.length,
      recordsOnDisk: outbox.#endOrdinal - segments[0]!.baseOrdinal,
      bytesOnDisk: outbox.#diskBytes,
      maxBytes: options.maxBytes,
      nextSeq,
      sinks: Object.fromEntries([...outbox.#sinks].map(([n, s]) => [n, { cursor: s.cursor.low, queued: outbox.#endOrdinal - s.handedOrdinal }])),
      tornTailsCut: report.tornTailsCut,
      damagedSegments: report.damagedSegments,
    });
    return outbox;
  }

  /** Positions a sink at the first record above `start` (found by the recovery scan). */
  #placeSink(name: string, start: number, report: RecoveryReport): void {
    const sink: Sink = {
      cursor: new SinkCursor(name, start),
      handedOrdinal: this.#endOrdinal,
      handedLogical: this.#logicalEnd,
      disk: new DiskReader(name, this.#logger),
      chain: Promise.resolve(),
    };
    for (let i = 0; i < report.segments.length; i++) {
      const mark = report.segments[i]!.marks.get(start);
      if (mark === undefined) continue;
      const seg = this.#segments[i]!;
      sink.handedOrdinal = seg.baseOrdinal + mark.index;
      sink.handedLogical = seg.baseLogical + (mark.offset - SEGMENT_HEADER_BYTES);
      sink.disk.pos = { seg, offset: mark.offset, acceptedAtMs: mark.acceptedAtMs };
      break;
    }
    this.#sinks.set(name, sink);
  }

  // ── appending ────────────────────────────────────────────────────────────────────────────────

  /**
   * Appends a record; resolves with its seq once it is on disk (synced), or rejects with
   * OutboxRejectedError ('full', 'disk_error', 'too_large', 'closed'), in which case nothing of it
   * will ever be delivered. A malformed record rejects with TypeError.
   */
  append(record: NewDeliveryRecord): Promise<number> {
    if (this.#closed) return this.#reject('closed', 'the outbox is closed');
    let prep: EncodableRecord;
    try {
      prep = prepareRecord(record);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (prep.frameBytes > this.#maxFrameBytes) {
      return this.#reject('too_large', `a record of ${prep.frameBytes} bytes can never fit in the outbox (OUTBOX_MAX_BYTES ${this.#maxBytes})`);
    }
    // A segment header of headroom, for the roll this record may cause.
    if (this.#diskBytes + this.#batchBytes + this.#pendingBytes + prep.frameBytes + SEGMENT_HEADER_BYTES > this.#maxBytes) {
      this.#full = true;
      this.#freeSpaceSoon();
      return this.#reject('full', `the outbox is full (OUTBOX_MAX_BYTES ${this.#maxBytes}): the sinks are behind`);
    }
    this.#full = false;
    const promise = new Promise<number>((resolve, reject) => {
      this.#pending.push({ prep, resolve, reject });
    });
    this.#pendingBytes += prep.frameBytes;
    this.#schedule();
    return promise;
  }

  #reject(reason: RejectReason, message: string): Promise<never> {
    this.#rejected[reason]++;
    return Promise.reject(new OutboxRejectedError(reason, message));
  }

  #schedule(): void {
    if (this.#draining !== null) return; // the commit loop takes them when the running commit ends
    if (this.#pendingBytes >= FLUSH_BYTES || this.#pending.length >= FLUSH_RECORDS) {
      this.#drain();
    } else if (this.#timer === undefined) {
      const fire = (): void => {
        this.#timer = undefined;
        this.#drain();
      };
      // 0: after the I/O events of this loop iteration (every request read in it), not a timer tick later.
      if (this.#commitDelayMs === 0) {
        const immediate = setImmediate(fire);
        this.#timer = { cancel: () => clearImmediate(immediate) };
      } else {
        const timeout = setTimeout(fire, this.#commitDelayMs);
        this.#timer = { cancel: () => clearTimeout(timeout) };
      }
    }
  }

  /** Commits batches until nothing is pending; one commit at a time. */
  #drain(): void {
    if (this.#draining !== null) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#draining = (async () => {
      try {
        while (this.#pending.length > 0) await this.#commit(this.#takeBatch());
      } finally {
        this.#draining = null;
      }
    })();
  }

  #takeBatch(): Pending[] {
    let n = 0;
    let bytes = 0;
    while (n < this.#pending.length && n < MAX_BATCH_RECORDS) {
      const b = this.#pending[n]!.prep.frameBytes;
      if (n > 0 && bytes + b > this.#maxBatchBytes) break;
      bytes += b;
      n++;
    }
    const batch = n === this.#pending.length ? this.#pending : this.#pending.slice(0, n);
    this.#pending = n === this.#pending.length ? [] : this.#pending.slice(n);
    this.#pendingBytes -= bytes;
    this.#batchBytes += bytes;
    this.#batchCount += batch.length;
    return batch;
  }

  async #commit(batch: Pending[]): Promise<void> {
    let bytes = 0;
    for (const p of batch) bytes += p.prep.frameBytes;
    const started = performance.now();
    try {
      if (this.#repairAt !== null) await this.#repair();
      if (this.#active.records > 0 && this.#active.size >= this.#segmentBytes) await this.#roll();
      const seg = this.#active;
      const buf = Buffer.allocUnsafe(bytes);
      const bodies: Buffer[] = new Array<Buffer>(batch.length);
      const firstSeq = this.#nextSeq;
      let off = 0;
      for (let i = 0; i < batch.length; i++) {
        bodies[i] = encodeFrame(buf, off, batch[i]!.prep, firstSeq + i);
        off += batch[i]!.prep.frameBytes;
      }
      const at = seg.size;
      this.#repairAt = at; // from here on, a failure leaves bytes to cut off
      await writeAll(this.#activeFh, buf, at);
      await this.#activeFh.datasync();
      this.#repairAt = null;
      this.#committed(batch, bodies, seg, at, bytes, firstSeq, performance.now() - started);
    } catch (err) {
      this.#batchBytes -= bytes;
      this.#batchCount -= batch.length;
      if (this.#repairAt !== null) await this.#repair().catch(() => undefined); // else the next commit tries first
      this.#rejected.disk_error += batch.length;
      this.#logDiskError(err as Error, batch.length);
      for (const p of batch) p.reject(new OutboxRejectedError('disk_error', `the outbox could not write the record: ${(err as Error).message}`, { cause: err }));
    }
  }

  #committed(batch: Pending[], bodies: Buffer[], seg: LiveSegment, at: number, bytes: number, firstSeq: number, latencyMs: number): void {
    const n = batch.length;
    let ordinal = this.#endOrdinal;
    let logical = this.#logicalEnd;
    let offset = at;
    for (let i = 0; i < n; i++) {
      const { prep } = batch[i]!;
      const r = prep.record;
      const record: DeliveryRecord = { seq: firstSeq + i, id: r.id, status: r.status, interactionId: r.interactionId, acceptedAtMs: r.acceptedAtMs, body: bodies[i]! };
      const item: Located = { record, frameBytes: prep.frameBytes, ordinal, logical, segment: seg, offset };
      this.#tail.push(item);
      ordinal++;
      logical += prep.frameBytes;
      offset += prep.frameBytes;
    }
    if (seg.records === 0) seg.firstAcceptedAtMs = batch[0]!.prep.record.acceptedAtMs;
    seg.size += bytes;
    seg.records += n;
    seg.lastSeq = firstSeq + n - 1;
    this.#endOrdinal = ordinal;
    this.#logicalEnd = logical;
    this.#nextSeq += n;
    this.#diskBytes += bytes;
    this.#batchBytes -= bytes;
    this.#batchCount -= n;
    this.#appends += n;
    this.#commits++;
    this.#batchStat.add(n);
    this.#latencyStat.add(latencyMs);
    if (this.#diskErrorStreak > 0) {
      this.#logger.info('outbox: writes succeed again', { dir: this.dir, rejectedWhileFailing: this.#diskErrorStreak });
      this.#diskErrorStreak = 0;
      this.#diskErrorLog.forget();
    }
    this.#tail.trim((item) => {
      // A sink that has not been handed this record yet reads on from disk, starting here.
      for (const s of this.#sinks.values()) {
        if (s.handedOrdinal === item.ordinal) s.disk.pos = { seg: item.segment, offset: item.offset, acceptedAtMs: item.record.acceptedAtMs };
      }
    });
    for (let i = 0; i < n; i++) batch[i]!.resolve(firstSeq + i);
    this.#wake();
  }

  /** Cuts the active segment back to its last committed size (after a failed write). */
  async #repair(): Promise<void> {
    const at = this.#repairAt!;
    await this.#activeFh.truncate(at);
    await this.#activeFh.datasync();
    this.#repairAt = null;
    this.#logger.debug('outbox: removed the bytes of a failed write', { segment: this.#active.name, size: at });
  }

  /** Starts a new segment (the previous one is fully synced: commits run one at a time). */
  async #roll(): Promise<void> {
    const created = await createSegment(this.#realDir, this.#nextSeq, this.#now());
    const old = this.#activeFh;
    const seg: LiveSegment = { ...created.segment, baseOrdinal: this.#endOrdinal, baseLogical: this.#logicalEnd };
    this.#segments.push(seg);
    this.#active = seg;
    this.#activeFh = created.fh;
    this.#diskBytes += seg.size;
    await old.close().catch(() => undefined);
  }

  #logDiskError(err: Error, records: number): void {
    this.#diskErrorStreak += records;
    const rejectedSinceLastLine = this.#diskErrorLog.note(records);
    if (rejectedSinceLastLine === undefined) return;
    this.#logger.error('outbox: write failed; appends are rejected (disk_error) until writes succeed again', {
      dir: this.dir,
      error: err,
      rejectedSinceLastLine,
    });
  }

  // ── reading ──────────────────────────────────────────────────────────────────────────────────

  next(sink: string, max: number, signal?: AbortSignal): Promise<DeliveryRecord[]> {
    const s = this.#sink(sink);
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`outbox: next() wants a positive integer max, got ${max}`);
    const run = s.chain.then(() => this.#next(s, max, signal));
    s.chain = run.catch(() => undefined);
    return run;
  }

  async #next(s: Sink, max: number, signal: AbortSignal | undefined): Promise<DeliveryRecord[]> {
    for (;;) {
      if (this.#closed || signal?.aborted) return [];
      const before = s.handedOrdinal;
      if (before < this.#endOrdinal) {
        const out = before >= this.#tail.firstOrdinal ? this.#fromMemory(s, max) : await this.#fromDisk(s, max);
        if (out.length > 0) return out;
        if (s.handedOrdinal !== before) continue; // skipped a damaged stretch; look again
      }
      await this.#changed(signal);
    }
  }

  #fromMemory(s: Sink, max: number): DeliveryRecord[] {
    const out: DeliveryRecord[] = [];
    while (out.length < max && s.handedOrdinal < this.#endOrdinal) {
      const item = this.#tail.at(s.handedOrdinal)!;
      out.push(item.record);
      s.cursor.handed(item.record.seq, { frameBytes: item.frameBytes, acceptedAtMs: item.record.acceptedAtMs });
      s.handedOrdinal++;
      s.handedLogical = item.logical + item.frameBytes;
    }
    return out;
  }

  /** Reads on from disk up to where memory takes over; a read error rejects with nothing handed (see DiskReader.read). */
  async #fromDisk(s: Sink, max: number): Promise<DeliveryRecord[]> {
    const from = { ordinal: s.handedOrdinal, logical: s.handedLogical };
    const { records, end } = await s.disk.read(from, max, this.#tail.firstOrdinal, this.#segments, (record, frameBytes) =>
      s.cursor.handed(record.seq, { frameBytes, acceptedAtMs: record.acceptedAtMs }),
    );
    s.handedOrdinal = end.ordinal;
    s.handedLogical = end.logical;
    return records;
  }

  /** Resolves at the next commit, at close, or when `signal` aborts. */
  #changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  ack(sink: string, seq: number): void {
    const s = this.#sink(sink);
    if (s.cursor.ack(seq) && !this.#closed && this.#cursorTimer === undefined) {
      this.#cursorTimer = setTimeout(() => {
        this.#cursorTimer = undefined;
        this.#writeCursors(false).catch(() => undefined); // counted and logged inside
      }, this.#cursorSyncMs);
      this.#cursorTimer.unref();
    }
  }

  #sink(name: string): Sink {
    const s = this.#sinks.get(name);
    if (s === undefined) throw new RangeError(`outbox: unknown sink ${JSON.stringify(name)} (configured: ${[...this.#sinks.keys()].join(', ')})`);
    return s;
  }

  // ── cursors and disk space ───────────────────────────────────────────────────────────────────

  /** Writes the cursors now and deletes the segments every sink has finished. */
  flushCursors(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    return this.#writeCursors();
  }

  /** Writes the cursors (unless `force` is false and none moved), then deletes finished segments. */
  #writeCursors(force = true): Promise<void> {
    const run = this.#cursorChain.then(async () => {
      const lows = new Map([...this.#sinks].map(([n, s]) => [n, s.cursor.low]));
      if (!force && [...this.#sinks.values()].every((s) => s.cursor.low === s.cursor.persisted)) {
        await this.#deleteFinishedSegments();
        return;
      }
      try {
        await writeCursorFile(this.#cursorPath, this.#nextSeq, lows);
      } catch (err) {
        this.#cursorWriteFailures++;
        this.#logger.error('outbox: could not write the cursors (records may be delivered again after a crash)', { file: this.#cursorPath, error: err });
        throw err;
      }
      this.#cursorWrites++;
      for (const [n, low] of lows) this.#sinks.get(n)!.cursor.persisted = low;
      await this.#deleteFinishedSegments();
    });
    this.#cursorChain = run.catch(() => undefined);
    return run;
  }

  /** Deletes the oldest segments while every record in them is at or below every sink's persisted cursor. */
  async #deleteFinishedSegments(): Promise<void> {
    let floor = Infinity;
    for (const s of this.#sinks.values()) floor = Math.min(floor, s.cursor.persisted);
    while (this.#segments.length > 1 && this.#segments[0]!.lastSeq <= floor) {
      const seg = this.#segments[0]!;
      for (const s of this.#sinks.values()) await s.disk.release(seg);
      try {
        await rm(seg.path, { force: true });
      } catch (err) {
        this.#logger.error('outbox: could not delete a delivered segment', { segment: seg.name, error: err });
        return;
      }
      this.#segments.shift();
      this.#diskBytes -= seg.size;
      this.#segmentsDeleted++;
      this.#full = false;
    }
  }

  /** After a 'full' rejection: write the cursors at once (once more if a write is already running), which may free whole segments. */
  #freeSpaceSoon(): void {
    if (this.#fullFlushQueued || this.#closed) return;
    this.#fullFlushQueued = true;
    void this.#cursorChain.then(() => {
      this.#fullFlushQueued = false;
      return this.#writeCursors(false).catch(() => undefined);
    });
  }

  // ── stats and life cycle ─────────────────────────────────────────────────────────────────────

  stats(): OutboxStats {
    const now = this.#now();
    const sinks: Record<string, SinkStats> = {};
    for (const [name, s] of this.#sinks) {
      const unhanded = this.#endOrdinal - s.handedOrdinal;
      let oldest: number | null = s.cursor.oldestInFlight()?.acceptedAtMs ?? null;
      if (oldest === null && unhanded > 0) {
        oldest = s.handedOrdinal >= this.#tail.firstOrdinal ? this.#tail.at(s.handedOrdinal)!.record.acceptedAtMs : (s.disk.pos?.acceptedAtMs ?? s.disk.pos?.seg.firstAcceptedAtMs ?? null);
      }
      sinks[name] = {
        queuedRecords: s.cursor.inFlight.size + unhanded,
        queuedBytes: s.cursor.inFlightBytes + (this.#logicalEnd - s.handedLogical),
        inFlight: s.cursor.inFlight.size,
        oldestUnackedAgeMs: oldest === null ? 0 : Math.max(0, now - oldest),
        ackedSeq: s.cursor.low,
        persistedSeq: s.cursor.persisted,
      };
    }
    return {
      dir: this.dir,
      full: this.#full,
      maxBytes: this.#maxBytes,
      bytesOnDisk: this.#diskBytes,
      segments: this.#segments.length,
      recordsOnDisk: this.#endOrdinal - this.#segments[0]!.baseOrdinal,
      nextSeq: this.#nextSeq,
      appends: this.#appends,
      commits: this.#commits,
      pending: this.#pending.length + this.#batchCount,
      batchRecords: this.#batchStat.summary(),
      commitLatencyMs: this.#latencyStat.summary(),
      rejected: { ...this.#rejected },
      memory: { records: this.#tail.size, bytes: this.#tail.bytes },
      cursorWrites: this.#cursorWrites,
      cursorWriteFailures: this.#cursorWriteFailures,
      segmentsDeleted: this.#segmentsDeleted,
      recovery: { tornTailsCut: this.#recovery.tornTailsCut, damagedSegments: this.#recovery.damagedSegments, removedSegments: this.#recovery.removedSegments },
      sinks,
    };
  }

  /**
   * Stops accepting (appends reject 'closed', next() resolves []), commits what is pending, writes
   * the cursors and releases the directory, within `timeoutMs`. Idempotent. Acks after close are
   * not persisted: those records are handed again after the next open.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs ?? 10_000);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    const deadline = performance.now() + timeoutMs;
    this.#wake();
    clearTimeout(this.#cursorTimer);
    this.#cursorTimer = undefined;
    if (this.#pending.length > 0) this.#drain();
    if (!(await within(this.#draining ?? Promise.resolve(), deadline))) {
      const left = this.#pending.splice(0);
      this.#pendingBytes = 0;
      this.#rejected.closed += left.length;
      for (const p of left) p.reject(new OutboxRejectedError('closed', 'the outbox closed before the record could be written'));
      this.#logger.warn('outbox: close timed out while committing; appends not yet written were rejected', { dir: this.dir, rejected: left.length });
    }
    await within(Promise.all([...this.#sinks.values()].map((s) => s.chain)), deadline);
    try {
      if (!(await within(this.#writeCursors(), deadline))) this.#logger.warn('outbox: close timed out while writing the cursors', { dir: this.dir });
    } catch {
      // Logged by #writeCursors; the records are handed again after the next open.
    }
    await this.#closeFiles();
    await this.#lock.release();
    openDirs.delete(this.#realDir);
  }

  async #closeFiles(): Promise<void> {
    for (const s of this.#sinks.values()) await s.disk.release();
    await this.#activeFh.close().catch(() => undefined);
  }
}

/** Whether `p` settled before `deadline` (performance.now() ms); its rejection propagates. */
async function within(p: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
