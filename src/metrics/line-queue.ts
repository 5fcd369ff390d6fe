/**
 * The exporter's bounded buffer: a FIFO ring of line-protocol strings that holds every line until
 * the server acknowledged it. A batch is taken out while its request is in flight and put back at
 * the front when the request fails, so order is kept and nothing within the bound is lost. Lines in
 * flight count against the bound; when full, the oldest *queued* line is dropped to make room (the
 * newest point carries the most recent totals), or the new line itself if all space is in flight.
 */
export class LineQueue {
  readonly capacity: number;
  private readonly ring: (string | undefined)[];
  private head = 0;
  private size = 0;
  private inFlight = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`buffer capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.ring = new Array<string | undefined>(capacity).fill(undefined);
  }

  /** Queued lines, not counting those in flight. */
  get queued(): number {
    return this.size;
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  /** Queued plus in flight. */
  get total(): number {
    return this.size + this.inFlight;
  }

  /** Appends a line; returns how many lines were dropped to respect the bound (0 or 1). */
  push(line: string): number {
    if (this.size + this.inFlight >= this.capacity) {
      if (this.size === 0) return 1; // everything is in flight: the new line cannot wait
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
      this.ring[(this.head + this.size) % this.capacity] = line;
      this.size++;
      return 1;
    }
    this.ring[(this.head + this.size) % this.capacity] = line;
    this.size++;
    return 0;
  }

  /**
   * Takes up to `maxLines` lines (and about `maxBytes` UTF-16 units, at least one line) from the
   * front, marking them in flight. Only one batch may be in flight at a time.
   */
  take(maxLines: number, maxBytes: number): string[] {
    if (this.inFlight > 0) throw new Error('a batch is already in flight');
    const batch: string[] = [];
    let bytes = 0;
    while (this.size > 0 && batch.length < maxLines) {
      const line = this.ring[this.head]!;
      if (batch.length > 0 && bytes + line.length + 1 > maxBytes) break;
      batch.push(line);
      bytes += line.length + 1;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
    }
    this.inFlight = batch.length;
    return batch;
  }

  /** The batch in flight was delivered (or is given up): forget it. */
  settle(): void {
    this.inFlight = 0;
  }

  /** The batch in flight failed: put it back at the front, in order. */
  restore(batch: readonly string[]): void {
    if (batch.length !== this.inFlight) throw new Error('restore() must get back exactly the batch in flight');
    // Room is guaranteed: push() never lets queued + in flight exceed the capacity.
    for (let i = batch.length - 1; i >= 0; i--) {
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.ring[this.head] = batch[i];
      this.size++;
    }
    this.inFlight = 0;
  }

  /** Empties the queue (not the batch in flight); returns how many lines were removed. */
  clear(): number {
    const n = this.size;
    this.ring.fill(undefined);
    this.head = 0;
    this.size = 0;
    return n;
  }
}
