/**
 * What the Redis Streams sink reports (/stats `delivery.sinks.redis-stream`), counted by whoever
 * appends: the stream log beside the memory store, or the Redis store's scripts.
 */
export interface StreamStats {
  /** The stream's name (DELIVERY_REDIS_STREAM); partitions are `<name>:{p<n>}`. */
  stream: string;
  /** Partitions (0: one stream named exactly `stream`). */
  partitions: number;
  /** Entries appended (XADD succeeded): delivered, as far as the daemon is concerned. */
  appended: number;
  /** Appends that failed (Redis unreachable, an error reply): each such webhook got 503. */
  failures: number;
  /** Appends (or scripts that may append) in flight now. */
  inFlight: number;
  lastError: string | null;
}

export class StreamCounters {
  appended = 0;
  failures = 0;
  inFlight = 0;
  lastError: string | null = null;

  constructor(
    readonly stream: string,
    readonly partitions: number,
  ) {}

  failed(err: unknown): void {
    this.failures++;
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  stats(): StreamStats {
    return { stream: this.stream, partitions: this.partitions, appended: this.appended, failures: this.failures, inFlight: this.inFlight, lastError: this.lastError };
  }
}
