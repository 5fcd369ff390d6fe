/**
 * The dead-letter file: records a sink gave up on, one JSON object per line (NDJSON), appended and
 * fsynced before the dispatcher acks them, so a record leaves the outbox only once it is on disk
 * here. Appends that arrive while a write is under way are group-committed in one write + fsync.
 */
import { open, mkdir, type FileHandle } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import type { DeliveryRecord } from './types.js';

export interface DeadLetter {
  /** The sink that gave up. */
  readonly sink: string;
  readonly record: DeliveryRecord;
  /** Delivery attempts made (0 when none could be made). */
  readonly attempts: number;
  /** Why: the last error, one line, no secrets. */
  readonly error: string;
  /** Optional extra context, e.g. an excerpt of the downstream's answer. */
  readonly detail?: string | undefined;
  /** Wall-clock ms of the decision. */
  readonly atMs: number;
}

export interface DeadLetterWriter {
  /** Resolves once the entry is durable (written and fsynced); rejects if it is not. */
  append(entry: DeadLetter): Promise<void>;
}

/** One line of the file, as written (without the newline), for readers and tests. */
export interface DeadLetterLine {
  time: string;
  sink: string;
  seq: number;
  id: string;
  status: 'processed' | 'update';
  interactionId: string;
  acceptedAt: string;
  acceptedAtMs: number;
  attempts: number;
  error: string;
  detail?: string;
  /** 'json': `body` is the exact text received (valid UTF-8 JSON); 'base64': anything else. */
  bodyEncoding: 'json' | 'base64';
  body: string;
}

export const DEAD_LETTER_FILE_NAME = 'dead-letter.ndjson';

/** The default location: beside the outbox segments. */
export function defaultDeadLetterPath(outboxDir: string): string {
  return path.join(outboxDir, DEAD_LETTER_FILE_NAME);
}

function isJsonText(body: Buffer): boolean {
  if (!isUtf8(body)) return false;
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString() : String(ms);
}

export function formatDeadLetter(entry: DeadLetter): string {
  const { record } = entry;
  const json = isJsonText(record.body);
  const line: DeadLetterLine = {
    time: isoTime(entry.atMs),
    sink: entry.sink,
    seq: record.seq,
    id: record.id,
    status: record.status,
    interactionId: record.interactionId,
    acceptedAt: isoTime(record.acceptedAtMs),
    acceptedAtMs: record.acceptedAtMs,
    attempts: entry.attempts,
    error: entry.error,
    ...(entry.detail !== undefined ? { detail: entry.detail } : {}),
    bodyEncoding: json ? 'json' : 'base64',
    body: json ? record.body.toString('utf8') : record.body.toString('base64'),
  };
  // JSON.stringify escapes newlines inside strings, so one entry is always one line.
  return `${JSON.stringify(line)}\n`;
}

/** The body bytes a dead-letter line stands for. */
export function deadLetterBody(line: DeadLetterLine): Buffer {
  return line.bodyEncoding === 'json' ? Buffer.from(line.body, 'utf8') : Buffer.from(line.body, 'base64');
}

interface Pending {
  text: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface DeadLetterFileOptions {
  /** Unix permissions when the file is created; default 0o600 (entries carry customer data). */
  mode?: number;
}

export class DeadLetterFile implements DeadLetterWriter {
  readonly path: string;
  private readonly mode: number;
  private handle: FileHandle | undefined;
  private queue: Pending[] = [];
  /** The drain loop in progress, if any (close() waits for it). */
  private writing: Promise<void> = Promise.resolve();
  private draining = false;
  private closed = false;

  constructor(filePath: string, options: DeadLetterFileOptions = {}) {
    if (typeof filePath !== 'string' || filePath.length === 0) throw new TypeError('dead-letter path must be a non-empty string');
    this.path = filePath;
    this.mode = options.mode ?? 0o600;
  }

  append(entry: DeadLetter): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`dead-letter file ${this.path} is closed`));
    let text: string;
    try {
      text = formatDeadLetter(entry);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        this.writing = this.drain();
      }
    });
  }

  /** Waits for queued appends, then closes the file; later appends reject. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const handle = await this.openHandle();
          await handle.write(batch.map((p) => p.text).join(''));
          await handle.sync();
          for (const p of batch) p.resolve();
        } catch (err) {
          // Reopen on the next append: the handle may be broken (disk replaced, file deleted, …).
          const handle = this.handle;
          this.handle = undefined;
          await handle?.close().catch(() => {});
          const error = err instanceof Error ? err : new Error(String(err));
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      // Runs in the same turn as the loop's last emptiness check, so no append can slip between
      // them and be left unwritten.
      this.draining = false;
    }
  }

  private async openHandle(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    await mkdir(path.dirname(this.path), { recursive: true });
    const handle = await open(this.path, 'a+', this.mode);
    try {
      // A crash mid-append can leave a torn last line; start ours on a fresh line so only the
      // torn one is unreadable.
      const { size } = await handle.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) await handle.write('\n');
      }
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    this.handle = handle;
    return handle;
  }
}
