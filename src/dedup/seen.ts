/**
 * The exact half of duplicate detection: per interaction, the dedup keys it was recorded under
 * and the Bloom generation ("epoch", the number of compactions so far) of each.
 *
 * A key recorded in epoch e sits in the active generation while the epoch is e and in the previous
 * one during e + 1; after that both have been cleared. So "seen within the window" is exactly
 * `e >= currentEpoch - 1`, with no clock involved.
 *
 * With the default key (`interactionId`) an interaction has one key, kept inline. With
 * multi-field keys the newest key stays inline and older ones spill into a small Map, bounded
 * per interaction (`limit`): keys outside the window go first, then the least recently seen.
 * A key dropped that way can no longer be confirmed (its next Bloom "maybe" is unconfirmed).
 */
export class SeenKeys {
  #key: string | undefined = undefined;
  #epoch = 0;
  // Older keys, least recently seen first (delete + set on refresh keeps the order).
  #older: Map<string, number> | undefined = undefined;

  /** Whether `key` was recorded in epoch `minEpoch` or later. */
  seenSince(key: string, minEpoch: number): boolean {
    if (this.#key === key) return this.#epoch >= minEpoch;
    const e = this.#older?.get(key);
    return e !== undefined && e >= minEpoch;
  }

  /** Records `key` in `epoch`; keeps at most `limit` keys, dropping those older than `minEpoch` first. */
  mark(key: string, epoch: number, minEpoch: number, limit: number): void {
    const current = this.#key;
    if (current === key || current === undefined) {
      this.#key = key;
      this.#epoch = epoch;
      return;
    }
    const older = (this.#older ??= new Map());
    older.delete(key);
    older.delete(current);
    older.set(current, this.#epoch);
    this.#key = key;
    this.#epoch = epoch;
    if (older.size < limit) return;
    for (const [k, e] of older) if (e < minEpoch) older.delete(k);
    while (older.size > limit - 1) older.delete(older.keys().next().value as string);
  }

  /** Number of keys remembered. */
  get size(): number {
    return (this.#key === undefined ? 0 : 1) + (this.#older?.size ?? 0);
  }

  /** The most recently recorded key (undefined before the first), and its epoch. */
  get newestKey(): string | undefined {
    return this.#key;
  }

  get newestEpoch(): number {
    return this.#epoch;
  }

  /** The other keys recorded in `minEpoch` or later, least recently seen first; undefined when none (no allocation). */
  olderSince(minEpoch: number): Array<[string, number]> | undefined {
    if (this.#older === undefined || this.#older.size === 0) return undefined;
    const out: Array<[string, number]> = [];
    for (const [k, e] of this.#older) if (e >= minEpoch) out.push([k, e]);
    return out.length === 0 ? undefined : out;
  }

  /** [key, epoch] pairs, least recently seen first. */
  entries(): Array<[string, number]> {
    const out: Array<[string, number]> = this.#older ? [...this.#older] : [];
    if (this.#key !== undefined) out.push([this.#key, this.#epoch]);
    return out;
  }
}
