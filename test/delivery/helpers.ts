/** Shared by the outbox tests and their child process: records with checkable bodies, captured logs, reading helpers. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, type Logger } from '../../src/log.js';
import type { Outbox } from '../../src/delivery/outbox.js';
import type { DeliveryRecord, NewDeliveryRecord } from '../../src/delivery/types.js';

/** A body of `size` bytes derived from `id` alone, so a reader can check it without the writer's help. */
export function bodyFor(id: string, size: number): Buffer {
  const head = Buffer.from(JSON.stringify({ id, size }));
  if (size <= head.length) return head;
  const out = Buffer.allocUnsafe(size);
  head.copy(out, 0);
  let seed = createHash('sha256').update(id).digest();
  for (let at = head.length; at < size; at += seed.length) {
    seed.copy(out, at, 0, Math.min(seed.length, size - at));
    seed = createHash('sha256').update(seed).digest();
  }
  return out;
}

/** Parses the size back out of a body made by bodyFor, and checks the rest against it. */
export function bodyIntact(id: string, body: Buffer): boolean {
  const end = body.indexOf('}');
  if (end < 0) return false;
  let meta: { id?: unknown; size?: unknown };
  try {
    meta = JSON.parse(body.subarray(0, end + 1).toString()) as { id?: unknown; size?: unknown };
  } catch {
    return false;
  }
  return meta.id === id && typeof meta.size === 'number' && bodyFor(id, meta.size).equals(body);
}

export function makeRecord(id: string, size = 200, over: Partial<NewDeliveryRecord> = {}): NewDeliveryRecord {
  return { id, status: 'processed', interactionId: `i-${id}`, acceptedAtMs: Date.now(), body: bodyFor(id, size), ...over };
}

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as LogLine) }), lines };
}

export function tempDir(prefix: string): { dir: string; fresh: () => string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  let n = 0;
  return { dir, fresh: () => path.join(dir, `outbox-${++n}`), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Exactly `n` records of `sink` (waits for them; fails after `timeoutMs` instead of hanging). */
export async function take(outbox: Outbox, sink: string, n: number, timeoutMs = 15_000): Promise<DeliveryRecord[]> {
  const out: DeliveryRecord[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    while (out.length < n) {
      const got = await outbox.next(sink, n - out.length, ac.signal);
      if (got.length === 0) throw new Error(`sink ${sink}: got ${out.length} of ${n} records before ${ac.signal.aborted ? 'the timeout' : 'the outbox closed'}`);
      out.push(...got);
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/** Everything `sink` has queued right now (its stats say how many), acked as taken when `ack`. */
export async function drain(outbox: Outbox, sink: string, ack = true): Promise<DeliveryRecord[]> {
  const queued = outbox.stats().sinks[sink]!.queuedRecords - outbox.stats().sinks[sink]!.inFlight;
  const records = await take(outbox, sink, queued);
  if (ack) for (const r of records) outbox.ack(sink, r.seq);
  return records;
}

export function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^seg-\d{20}\.log$/.test(n))
    .sort();
}

export function segmentBytesOnDisk(dir: string): number {
  return segmentFiles(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}
