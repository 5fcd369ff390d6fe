/**
 * Sink cursors: which records each sink has finished, in memory (out-of-order acks folded into a
 * low-water mark) and on disk (`cursors.json`, replaced atomically now and then, never per ack).
 * After a crash a sink resumes above its persisted mark, so records it finished after the last
 * write are handed again: at-least-once.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomically } from '../persist/atomic-file.js';

export const CURSOR_FILE = 'cursors.json';
const FORMAT = 'cxone-dedup-outbox-cursors';
const VERSION = 1;

export type CursorFile =
  | { status: 'missing' }
  | { status: 'ok'; nextSeq: number; sinks: Map<string, number> }
  | { status: 'unreadable'; reason: string };

const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export async function readCursorFile(file: string): Promise<CursorFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return { status: 'unreadable', reason: (err as Error).message };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { status: 'unreadable', reason: 'not valid JSON' };
  }
  const d = doc as { format?: unknown; version?: unknown; nextSeq?: unknown; sinks?: unknown };
  if (d === null || typeof d !== 'object' || d.format !== FORMAT) return { status: 'unreadable', reason: 'not an outbox cursor file' };
  if (d.version !== VERSION) return { status: 'unreadable', reason: `unsupported version ${String(d.version)}` };
  if (!isSeq(d.nextSeq) || d.sinks === null || typeof d.sinks !== 'object' || Array.isArray(d.sinks)) return { status: 'unreadable', reason: 'malformed' };
  const sinks = new Map<string, number>();
  for (const [name, seq] of Object.entries(d.sinks as Record<string, unknown>)) {
    if (!isSeq(seq)) return { status: 'unreadable', reason: `malformed cursor for sink ${name}` };
    sinks.set(name, seq);
  }
  return { status: 'ok', nextSeq: d.nextSeq, sinks };
}

/** Durable when it resolves (temporary file, fsync, rename, directory fsync). */
export async function writeCursorFile(file: string, nextSeq: number, sinks: ReadonlyMap<string, number>): Promise<void> {
  const doc = { format: FORMAT, version: VERSION, nextSeq, sinks: Object.fromEntries(sinks) };
  await writeFileAtomically(file, [Buffer.from(`${JSON.stringify(doc)}\n`)]);
}

export interface InFlight {
  readonly frameBytes: number;
  readonly acceptedAtMs: number;
}

/** One sink's acknowledgement state. Records are handed in seq order; acks come in any order. */
export class SinkCursor {
  /** Every seq ≤ low is finished. */
  low: number;
  /** The low that is on disk. */
  persisted: number;
  /** The highest seq handed so far (low when nothing was handed since the start). */
  lastHanded: number;
  /** Handed and not acked, in seq order. */
  readonly inFlight = new Map<number, InFlight>();
  inFlightBytes = 0;

  constructor(
    readonly name: string,
    start: number,
  ) {
    this.low = start;
    this.persisted = start;
    this.lastHanded = start;
  }

  handed(seq: number, info: InFlight): void {
    // Seqs skipped between the last handed record and this one do not exist (lost to damage).
    if (this.inFlight.size === 0) this.low = seq - 1;
    this.inFlight.set(seq, info);
    this.inFlightBytes += info.frameBytes;
    this.lastHanded = seq;
  }

  /**
   * Marks `seq` finished; true when the low-water mark moved. A repeated ack is ignored; an ack
   * for a seq never handed is a caller's bug (RangeError).
   */
  ack(seq: number): boolean {
    const info = this.inFlight.get(seq);
    if (info === undefined) {
      if (Number.isSafeInteger(seq) && seq <= this.lastHanded) return false;
      throw new RangeError(`outbox: sink ${this.name} acked seq ${seq}, which it was never handed`);
    }
    this.inFlight.delete(seq);
    this.inFlightBytes -= info.frameBytes;
    const before = this.low;
    if (this.inFlight.size === 0) this.low = this.lastHanded;
    else {
      // Seqs up to lastHanded that are not in flight are finished (or absent: lost to damage).
      while (this.low < this.lastHanded && !this.inFlight.has(this.low + 1)) this.low++;
    }
    return this.low !== before;
  }

  /** The oldest unfinished record among those handed (always seq low + 1 when any is in flight). */
  oldestInFlight(): InFlight | undefined {
    return this.inFlight.size === 0 ? undefined : this.inFlight.get(this.low + 1);
  }
}
