/**
 * The latest-state cache: per interaction, the version with the greatest `updatedTimestamp`,
 * bounded to `capacity` interactions and, optionally, `maxBytes` of stored values (each value
 * carries a weight, e.g. its body length), with least-recently-updated eviction.
 *
 * Recency is the order in which events arrived for an interaction (every `offer`, including a
 * duplicate or a late, older event, counts as activity). `peek` (used by `GET /state/:id`) does
 * not reorder: reads by operators or pollers must not keep idle interactions alive.
 *
 * Recency lives in a doubly-linked list threaded through the entries (head = least recent);
 * the Map is only an index. Touching an entry relinks two nodes without touching the Map. (A Map
 * used as the list itself, delete + set to touch and `keys().next()` to evict, degrades badly in
 * V8: deleted slots pile up at the front of its ordered table and every eviction scans them,
 * measured at ~84 µs per operation at 100 000 entries.)
 */
import { compareTimestamps, type ParsedTimestamp } from './timestamp.js';

/** One cached interaction. `timestamp`/`value` belong together; `meta` is the owner's bookkeeping. */
export interface CacheEntry<V, M> {
  /** The parsed `updatedTimestamp` of `value`. */
  timestamp: ParsedTimestamp;
  value: V;
  /** Created by the cache's `createMeta` when the entry is created; kept when `value` is replaced. */
  meta: M;
}

/** An entry as `entries()` yields it and `load()` takes it, least recent first. */
export type CacheRecord<V, M> = readonly [id: string, entry: CacheEntry<V, M>];

// The list node is the entry itself: one object per interaction.
interface Node<V, M> extends CacheEntry<V, M> {
  id: string;
  /** Weight of `value` against `maxBytes`. */
  weight: number;
  prev: Node<V, M> | null;
  next: Node<V, M> | null;
}

export interface StateCacheOptions<V> {
  /** Upper bound on the summed weights of the stored values (default: unbounded). */
  maxBytes?: number;
  /** Weight of a value that arrives without one (`load`); default 0. */
  weigh?: (value: V) => number;
}

export class StateCache<V, M = undefined> {
  readonly capacity: number;
  readonly maxBytes: number;
  readonly #weigh: (value: V) => number;
  #bytes = 0;
  readonly #index = new Map<string, Node<V, M>>();
  #head: Node<V, M> | null = null; // least recent
  #tail: Node<V, M> | null = null; // most recent
  #evictions = 0;
  readonly #createMeta: () => M;

  constructor(capacity: number, createMeta?: () => M, options: StateCacheOptions<V> = {}) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`state cache capacity must be an integer >= 1, got ${String(capacity)}`);
    }
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    if (!(maxBytes > 0)) throw new RangeError(`state cache maxBytes must be a positive number, got ${String(maxBytes)}`);
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.#weigh = options.weigh ?? (() => 0);
    this.#createMeta = createMeta ?? (() => undefined as M);
  }

  get size(): number {
    return this.#index.size;
  }

  /** Summed weights of the stored values. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries dropped to stay within `capacity` since this cache was created. */
  get evictions(): number {
    return this.#evictions;
  }

  /**
   * The entry for `id` without changing its recency. Entry objects are recycled on eviction:
   * use one only until the next `offer`.
   */
  peek(id: string): CacheEntry<V, M> | undefined {
    return this.#index.get(id);
  }

  has(id: string): boolean {
    return this.#index.has(id);
  }

  /**
   * Records an event for `id`: makes `id` the most recent and stores `value` unless the cached
   * value is strictly newer (an older event arriving late never overwrites a newer state; equal
   * timestamps: the later arrival wins). Returns the entry; `entry.value === value` tells whether
   * `value` was stored. May evict least recent entries (never the one just offered), to stay
   * within `capacity` and `maxBytes`; `weight` is what `value` counts against `maxBytes`.
   */
  offer(id: string, timestamp: ParsedTimestamp, value: V, weight = 0): CacheEntry<V, M> {
    const node = this.#index.get(id);
    if (node === undefined) {
      let created: Node<V, M>;
      if (this.#index.size >= this.capacity) {
        // A full cache recycles the evicted node: no allocation (and no old-generation garbage)
        // per new interaction in the steady state.
        created = this.#evictOldest()!;
        created.id = id;
        created.timestamp = timestamp;
        created.value = value;
        created.weight = weight;
        created.meta = this.#createMeta();
      } else {
        created = { id, timestamp, value, weight, meta: this.#createMeta(), prev: null, next: null };
      }
      this.#index.set(id, created);
      this.#append(created);
      this.#bytes += weight;
      if (this.#bytes > this.maxBytes) this.#trimBytes();
      return created;
    }
    if (node !== this.#tail) {
      this.#unlink(node);
      this.#append(node);
    }
    if (compareTimestamps(timestamp, node.timestamp) >= 0) {
      node.timestamp = timestamp;
      node.value = value;
      this.#bytes += weight - node.weight;
      node.weight = weight;
      if (this.#bytes > this.maxBytes) this.#trimBytes();
    }
    return node;
  }

  delete(id: string): boolean {
    const node = this.#index.get(id);
    if (node === undefined) return false;
    this.#index.delete(id);
    this.#unlink(node);
    this.#bytes -= node.weight;
    return true;
  }

  clear(): void {
    this.#index.clear();
    this.#head = null;
    this.#tail = null;
    this.#bytes = 0;
  }

  /** Calls `fn` for each entry, least recently updated first; cheaper than `entries()` for bulk copies. */
  forEachEntry(fn: (id: string, entry: CacheEntry<V, M>) => void): void {
    for (let n = this.#head; n !== null; n = n.next) fn(n.id, n);
  }

  /** Entries from least to most recently updated (the order `load` expects). */
  *entries(): IterableIterator<[string, CacheEntry<V, M>]> {
    for (let n = this.#head; n !== null; n = n.next) yield [n.id, n];
  }

  /**
   * Replaces the contents with `records`, least recent first, as `entries()` produced them. When
   * there are more than `capacity`, the oldest are dropped and counted as evictions. Duplicate ids
   * keep the later record's position and the newer value. Entry objects are copied, not shared.
   */
  load(records: Iterable<CacheRecord<V, M>>): void {
    const list = Array.isArray(records) ? (records as readonly CacheRecord<V, M>[]) : [...records];
    this.clear();
    for (const [id, e] of list) {
      const existing = this.#index.get(id);
      const keep = existing !== undefined && compareTimestamps(existing.timestamp, e.timestamp) > 0 ? existing : e;
      if (existing !== undefined) {
        this.#unlink(existing);
        this.#bytes -= existing.weight;
      }
      const weight = this.#weigh(keep.value);
      const node: Node<V, M> = { id, timestamp: keep.timestamp, value: keep.value, weight, meta: e.meta, prev: null, next: null };
      this.#index.set(id, node);
      this.#append(node);
      this.#bytes += weight;
    }
    while (this.#index.size > this.capacity) this.#evictOldest();
    if (this.#bytes > this.maxBytes) this.#trimBytes();
  }

  /** Evicts least recent entries until within maxBytes, keeping at least the most recent one. */
  #trimBytes(): void {
    while (this.#bytes > this.maxBytes && this.#head !== this.#tail) this.#evictOldest();
  }

  #append(node: Node<V, M>): void {
    node.prev = this.#tail;
    node.next = null;
    if (this.#tail === null) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
  }

  #unlink(node: Node<V, M>): void {
    if (node.prev === null) this.#head = node.next;
    else node.prev.next = node.next;
    if (node.next === null) this.#tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = null;
    node.next = null;
  }

  /** Removes the least recent entry and returns its (unlinked) node. */
  #evictOldest(): Node<V, M> | undefined {
    const oldest = this.#head;
    if (oldest === null) return undefined;
    this.#index.delete(oldest.id);
    this.#unlink(oldest);
    this.#bytes -= oldest.weight;
    this.#evictions++;
    return oldest;
  }
}
