/**
 * A bound on every store operation, independent of the client library: whatever happens inside
 * the client (a node reconnecting, a topology refresh in Cluster), the caller's promise settles
 * within `timeoutMs`. The client's own per-command timeout (set to the same value) is what takes
 * a command out of its queue; this guard only makes the bound unconditional.
 *
 * Every operation gets the same timeout, so deadlines expire in the order they were set: one FIFO
 * and one timer serve all of them (no timer per operation on the hot path).
 */
interface Pending {
  deadline: number;
  /** Undefined once settled. */
  expire: (() => void) | undefined;
}

export class DeadlineGuard {
  readonly timeoutMs: number;
  #queue: Pending[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Operations neither settled nor expired: at 0 the timer goes, so nothing settled holds the process (or a worker thread) open. */
  #live = 0;

  constructor(timeoutMs: number) {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    this.timeoutMs = timeoutMs;
  }

  /** `work`'s outcome, or `onTimeout()`'s error once `timeoutMs` has passed without one. */
  run<T>(work: Promise<T>, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline: performance.now() + this.timeoutMs, expire: () => reject(onTimeout()) };
      this.#queue.push(entry);
      this.#live++;
      if (this.#timer === undefined) this.#arm(this.timeoutMs);
      work.then(
        (value) => {
          this.#settled(entry);
          resolve(value);
        },
        (err: unknown) => {
          this.#settled(entry);
          reject(err);
        },
      );
    });
  }

  /** Operations not yet settled nor expired (for tests and stats). */
  get pending(): number {
    let n = 0;
    for (let i = this.#head; i < this.#queue.length; i++) if (this.#queue[i]!.expire) n++;
    return n;
  }

  #settled(entry: Pending): void {
    if (entry.expire === undefined) return; // expired already
    entry.expire = undefined;
    if (--this.#live > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#head = 0;
  }

  #arm(delayMs: number): void {
    // Not unref'd: an operation in flight keeps the process alive until it settles or expires.
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(delayMs)));
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    const q = this.#queue;
    while (this.#head < q.length) {
      const entry = q[this.#head]!;
      if (entry.expire !== undefined && entry.deadline > now) break;
      this.#head++;
      const expire = entry.expire;
      entry.expire = undefined;
      if (expire !== undefined) {
        this.#live--;
        expire();
      }
    }
    // Drop the consumed prefix now and then, so the array does not grow for ever.
    if (this.#head === q.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    if (this.#head < this.#queue.length) this.#arm(this.#queue[this.#head]!.deadline - now);
  };
}
