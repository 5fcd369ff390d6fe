/**
 * The latest-state cache: per interaction, the version with the greatest `updatedTimestamp`,
 * bounded to `capacity` interactions with least-recently-updated eviction.
 *
 * Recency is the order in which events arrived for an interaction (every `offer`, including a
 * duplicate or a late, older event, counts as activity). `peek` (used by `GET /state/:id`) does
 * not reorder: reads by operators or pollers must not keep idle interactions alive.
 *
 * A JS `Map` keeps insertion order, so delete + set moves a key to the most recent end in O(1)
 * and the first key is the least recent.
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

export class StateCache<V, M = undefined> {
  readonly capacity: number;
  #map = new Map<string, CacheEntry<V, M>>();
  #evictions = 0;
  // The most recently touched id: a burst of events for one interaction skips the delete + set.
  #newest: string | undefined;
  readonly #createMeta: () => M;

  constructor(capacity: number, createMeta?: () => M) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`state cache capacity must be an integer >= 1, got ${String(capacity)}`);
    }
    this.capacity = capacity;
    this.#createMeta = createMeta ?? (() => undefined as M);
  }

  get size(): number {
    return this.#map.size;
  }

  /** Entries dropped to stay within `capacity` since this cache was created. */
  get evictions(): number {
    return this.#evictions;
  }

  /** The entry for `id` without changing its recency. */
  peek(id: string): CacheEntry<V, M> | undefined {
    return this.#map.get(id);
  }

  has(id: string): boolean {
    return this.#map.has(id);
  }

  /**
   * Records an event for `id`: makes `id` the most recent and stores `value` unless the cached
   * value is strictly newer (an older event arriving late never overwrites a newer state; equal
   * timestamps: the later arrival wins). Returns the entry; `entry.value === value` tells whether
   * `value` was stored. May evict the least recent entry.
   */
  offer(id: string, timestamp: ParsedTimestamp, value: V): CacheEntry<V, M> {
    const map = this.#map;
    const entry = map.get(id);
    if (entry === undefined) {
      if (map.size >= this.capacity) this.#evictOldest();
      const created: CacheEntry<V, M> = { timestamp, value, meta: this.#createMeta() };
      map.set(id, created);
      this.#newest = id;
      return created;
    }
    if (this.#newest !== id) {
      map.delete(id);
      map.set(id, entry);
      this.#newest = id;
    }
    if (compareTimestamps(timestamp, entry.timestamp) >= 0) {
      entry.timestamp = timestamp;
      entry.value = value;
    }
    return entry;
  }

  delete(id: string): boolean {
    if (this.#newest === id) this.#newest = undefined;
    return this.#map.delete(id);
  }

  clear(): void {
    this.#map.clear();
    this.#newest = undefined;
  }

  /** Entries from least to most recently updated (the order `load` expects). */
  entries(): IterableIterator<[string, CacheEntry<V, M>]> {
    return this.#map.entries();
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
      const existing = this.#map.get(id);
      const keep = existing !== undefined && compareTimestamps(existing.timestamp, e.timestamp) > 0 ? existing : e;
      this.#map.delete(id);
      this.#map.set(id, { timestamp: keep.timestamp, value: keep.value, meta: e.meta });
    }
    while (this.#map.size > this.capacity) this.#evictOldest();
    this.#newest = undefined;
  }

  #evictOldest(): void {
    const oldest = this.#map.keys().next();
    if (oldest.done) return;
    this.#map.delete(oldest.value);
    if (this.#newest === oldest.value) this.#newest = undefined;
    this.#evictions++;
  }
}
