/**
 * Key names. Every key an operation touches shares one hash tag, so one Lua script may touch them
 * all in Redis Cluster (a script may only use keys of one slot).
 *
 * Interaction layout (default): the tag is the interaction id.
 *   <prefix>{<id>}:k                  dedup key, when the key fields are just interactionId
 *   <prefix>{<id>}:k:<dedup key>      dedup key, multi-field keys that include interactionId
 *   <prefix>{<id>}:s                  latest state (hash: e, l, n = the instant; b = the body)
 *   <prefix>{<id>}:c                  the interaction's claim while one of its events is held (two-phase)
 *   <stream>                          the delivery stream (standalone only: one stream)
 *
 * Partitioned layout (a delivery stream in Redis Cluster, or more than one stream partition): the
 * stream cannot share a slot with every interaction, so interactions are spread over N partitions
 * and the tag is the partition; each partition has its own stream in its slot.
 *   <prefix>{p<n>}:k:<dedup key>      <prefix>{p<n>}:s:<id>      <prefix>{p<n>}:c:<id>      <stream>:{p<n>}
 *   n = FNV-1a-32(id as UTF-16 code units) mod N, so an interaction always lands in the same
 *   partition and its deliveries stay in order within one stream.
 *
 * Dedup keys whose fields do not include interactionId (e.g. `dataActionId`) span interactions:
 * the dedup key is tagged by itself (`<prefix>{<dedup key>}:k`) and lives in another slot than
 * the state. That is only possible on a standalone server (no slot rule there); with Cluster the
 * store refuses such key fields (see RedisStore).
 *
 * A tag is escaped (`%` → %25, `{` → %7B, `}` → %7D) so a brace in an id can never end the tag
 * early (an empty or shortened tag would scatter an interaction's keys over several slots).
 */
import type { KeyField } from '../../dedup/key.js';

export interface KeyLayoutOptions {
  prefix: string;
  keyFields: readonly KeyField[];
  /** The delivery stream's name (no braces), if events are appended to one. */
  stream?: string | undefined;
  /** Stream partitions; > 0 selects the partitioned layout. Default 0 (interaction layout). */
  partitions?: number;
}

export function escapeTag(s: string): string {
  return /[%{}]/.test(s) ? s.replace(/%/g, '%25').replace(/\{/g, '%7B').replace(/\}/g, '%7D') : s;
}

/** FNV-1a, 32 bits, over UTF-16 code units: cheap, stable across versions and platforms. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class KeyLayout {
  readonly prefix: string;
  readonly partitions: number;
  readonly stream: string | undefined;
  /** True when the dedup key includes interactionId (so it can share the interaction's slot). */
  readonly keyHasInteraction: boolean;
  readonly #keyIsInteraction: boolean;

  constructor(options: KeyLayoutOptions) {
    const { prefix, keyFields } = options;
    if (/[{}]/.test(prefix)) throw new TypeError('key prefix must not contain { or }');
    const partitions = options.partitions ?? 0;
    if (!Number.isSafeInteger(partitions) || partitions < 0 || partitions > 16_384) throw new RangeError(`partitions must be a whole number in 0..16384, got ${String(partitions)}`);
    if (options.stream !== undefined && (options.stream.length === 0 || /[{}]/.test(options.stream))) throw new TypeError('stream name must be non-empty and must not contain { or }');
    this.prefix = prefix;
    this.partitions = partitions;
    this.stream = options.stream;
    this.keyHasInteraction = keyFields.includes('interactionId');
    this.#keyIsInteraction = keyFields.length === 1 && keyFields[0] === 'interactionId';
    if (partitions > 0 && !this.keyHasInteraction) {
      throw new TypeError('a partitioned layout needs key fields that include interactionId (the dedup key must live in its interaction\'s partition)');
    }
  }

  get partitioned(): boolean {
    return this.partitions > 0;
  }

  /** The partition of an interaction (partitioned layout), else -1. */
  partitionOf(interactionId: string): number {
    return this.partitions > 0 ? fnv1a32(interactionId) % this.partitions : -1;
  }

  /** The hash tag (with braces) that an interaction's state and stream use. */
  tagOf(interactionId: string): string {
    return this.partitions > 0 ? `{p${fnv1a32(interactionId) % this.partitions}}` : `{${escapeTag(interactionId)}}`;
  }

  dedupKey(interactionId: string, key: string): string {
    if (this.partitions > 0) return `${this.prefix}${this.tagOf(interactionId)}:k:${key}`;
    if (this.#keyIsInteraction) return `${this.prefix}{${escapeTag(interactionId)}}:k`;
    if (this.keyHasInteraction) return `${this.prefix}{${escapeTag(interactionId)}}:k:${key}`;
    return `${this.prefix}{${escapeTag(key)}}:k`;
  }

  stateKey(interactionId: string): string {
    if (this.partitions > 0) return `${this.prefix}${this.tagOf(interactionId)}:s:${interactionId}`;
    return `${this.prefix}{${escapeTag(interactionId)}}:s`;
  }

  /**
   * The interaction's claim: set while one of its events is held between begin and commit (it
   * waits for the event to be made durable), so every other event of the interaction waits.
   */
  claimKey(interactionId: string): string {
    if (this.partitions > 0) return `${this.prefix}${this.tagOf(interactionId)}:c:${interactionId}`;
    return `${this.prefix}{${escapeTag(interactionId)}}:c`;
  }

  /** The stream an interaction's deliveries go to. */
  streamKey(interactionId: string): string {
    if (this.stream === undefined) throw new TypeError('no stream configured');
    return this.partitions > 0 ? `${this.stream}:${this.tagOf(interactionId)}` : this.stream;
  }

  /** Every stream partition's key (one element when not partitioned): what consumers read. */
  streamKeys(): string[] {
    if (this.stream === undefined) return [];
    if (this.partitions === 0) return [this.stream];
    return Array.from({ length: this.partitions }, (_, n) => `${this.stream}:{p${n}}`);
  }
}
