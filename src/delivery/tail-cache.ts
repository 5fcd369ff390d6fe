/**
 * The newest committed records, kept in memory up to a byte budget, so sinks that keep up are
 * served without reading the disk. Older records are read back from their segments.
 */
import type { LiveSegment } from './segment-file.js';
import type { DeliveryRecord } from './types.js';

/** A committed record and where it lives. */
export interface Located {
  readonly record: DeliveryRecord;
  readonly frameBytes: number;
  /** Index among all records of the outbox (counted from the oldest segment present at open). */
  readonly ordinal: number;
  /** Frame bytes before it (same origin as ordinal). */
  readonly logical: number;
  readonly segment: LiveSegment;
  /** File offset of its frame. */
  readonly offset: number;
}

export class TailCache {
  #items: Located[] = [];
  #head = 0;
  #bytes = 0;
  /** Ordinal just past the newest record (the next to be committed). */
  #end: number;

  constructor(
    readonly budgetBytes: number,
    endOrdinal: number,
  ) {
    this.#end = endOrdinal;
  }

  /** Ordinal of the oldest record held (the end when empty): records below it are on disk only. */
  get firstOrdinal(): number {
    return this.#head < this.#items.length ? this.#items[this.#head]!.ordinal : this.#end;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: Located): void {
    this.#items.push(item);
    this.#bytes += item.frameBytes;
    this.#end = item.ordinal + 1;
  }

  at(ordinal: number): Located | undefined {
    const i = this.#head + (ordinal - this.firstOrdinal);
    return i >= this.#head && i < this.#items.length ? this.#items[i] : undefined;
  }

  /** Drops the oldest records until the budget holds; `dropped` sees each one first. */
  trim(dropped: (item: Located) => void): void {
    while (this.#bytes > this.budgetBytes && this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      dropped(item);
      this.#items[this.#head++] = undefined as unknown as Located;
      this.#bytes -= item.frameBytes;
    }
    // Compact now and then rather than shift() per record.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
