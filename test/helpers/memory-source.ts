/**
 * An in-memory DeliverySource for dispatcher tests (a test double of the outbox): one cursor per
 * sink, acks in any order, and restart() to model a process restart (each sink is handed again
 * every record it had not acked). It also checks the dispatcher keeps the contract: no ack of a
 * record never handed, no second ack.
 */
import type { DeliveryRecord, DeliverySource, NewDeliveryRecord } from '../../src/delivery/types.js';

interface Cursor {
  /** Index into records of the next record to hand. */
  next: number;
  acked: Set<number>;
  /** Handed and not acked yet. */
  outstanding: Set<number>;
  /** Largest number of outstanding records seen (the dispatcher's memory bound). */
  maxOutstanding: number;
}

export class MemorySource implements DeliverySource {
  readonly records: DeliveryRecord[] = [];
  /** Contract violations seen (should stay empty). */
  readonly violations: string[] = [];
  private readonly cursors = new Map<string, Cursor>();
  private waiters = new Set<() => void>();
  private closed = false;
  private nextSeq = 1;

  /** Appends records (seq assigned in order) and returns them. */
  push(...records: NewDeliveryRecord[]): DeliveryRecord[] {
    const out = records.map((r) => Object.freeze({ ...r, seq: this.nextSeq++ }));
    this.records.push(...out);
    this.notify();
    return out;
  }

  next(sink: string, max: number, signal?: AbortSignal): Promise<DeliveryRecord[]> {
    if (!(Number.isInteger(max) && max >= 1)) this.violations.push(`next(${sink}) with max ${max}`);
    const cursor = this.cursor(sink);
    return new Promise((resolve) => {
      const attempt = (): boolean => {
        if (this.closed || signal?.aborted) {
          resolve([]);
          return true;
        }
        // Records acked out of order before a restart() are not handed again.
        const batch: DeliveryRecord[] = [];
        while (cursor.next < this.records.length && batch.length < Math.max(1, max)) {
          const r = this.records[cursor.next++]!;
          if (!cursor.acked.has(r.seq)) batch.push(r);
        }
        if (batch.length === 0) return false;
        for (const r of batch) cursor.outstanding.add(r.seq);
        cursor.maxOutstanding = Math.max(cursor.maxOutstanding, cursor.outstanding.size);
        resolve(batch);
        return true;
      };
      if (attempt()) return;
      const waiter = () => {
        if (attempt()) {
          this.waiters.delete(waiter);
          signal?.removeEventListener('abort', waiter);
        }
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', waiter, { once: true });
    });
  }

  ack(sink: string, seq: number): void {
    const cursor = this.cursor(sink);
    if (cursor.acked.has(seq)) this.violations.push(`${sink}: seq ${seq} acked twice`);
    else if (!cursor.outstanding.has(seq)) this.violations.push(`${sink}: seq ${seq} acked but not handed`);
    cursor.outstanding.delete(seq);
    cursor.acked.add(seq);
  }

  /** Seqs acked by `sink`. */
  acked(sink: string): number[] {
    return [...this.cursor(sink).acked].sort((a, b) => a - b);
  }

  /** Seqs not acked by `sink` (handed or not). */
  unacked(sink: string): number[] {
    const { acked } = this.cursor(sink);
    return this.records.filter((r) => !acked.has(r.seq)).map((r) => r.seq);
  }

  /** Seqs handed to `sink` and not acked. */
  outstanding(sink: string): number[] {
    return [...this.cursor(sink).outstanding].sort((a, b) => a - b);
  }

  maxOutstanding(sink: string): number {
    return this.cursor(sink).maxOutstanding;
  }

  /** As after a restart: every sink is handed again, in seq order, each record it did not ack. */
  restart(): void {
    for (const cursor of this.cursors.values()) {
      cursor.outstanding.clear();
      const firstUnacked = this.records.findIndex((r) => !cursor.acked.has(r.seq));
      cursor.next = firstUnacked === -1 ? this.records.length : firstUnacked;
    }
  }

  /** Resolves pending next() calls with [] and every later one too. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  private cursor(sink: string): Cursor {
    let c = this.cursors.get(sink);
    if (c === undefined) {
      c = { next: 0, acked: new Set(), outstanding: new Set(), maxOutstanding: 0 };
      this.cursors.set(sink, c);
    }
    return c;
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
