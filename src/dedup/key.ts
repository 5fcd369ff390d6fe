/**
 * Dedup keys: which event fields identify "the same event", and how their values become one
 * string for the Bloom filter and the exact check.
 *
 * One field: the key is that value itself (for the default `['interactionId']`, the id).
 * Several fields: each part is written as `<length>:<value>` (length in UTF-16 code units) and
 * the parts are concatenated, e.g. `3:abc20:1705314600.123000000`. The encoding is prefix-free,
 * so two different tuples never give the same key, whatever characters the values contain.
 * `updatedTimestamp` contributes its instant (see `timestampKey`), not its spelling:
 * `…:00Z` and `…:00.000+00:00` are the same update.
 * `deliveryId` comes from the request, not the body (a header, see RequestFacts): one delivery
 * retried by the sender keeps its id, whatever its body.
 */
import type { RequestFacts } from './event.js';
import { timestampKey, type ParsedTimestamp } from './timestamp.js';

export type KeyField = 'interactionId' | 'dataActionId' | 'updatedTimestamp' | 'deliveryId';

export const KEY_FIELDS: readonly KeyField[] = ['interactionId', 'dataActionId', 'updatedTimestamp', 'deliveryId'];

export const DEFAULT_KEY_FIELDS: readonly KeyField[] = ['interactionId'];

/** The event fields a key can read. */
export interface KeySource {
  readonly interactionId: string;
  readonly dataActionId: string;
}

/** Checks a key field list: non-empty, known names, no repeats. Returns a frozen copy. */
export function validateKeyFields(fields: unknown): readonly KeyField[] {
  if (!Array.isArray(fields) || fields.length === 0) {
    throw new TypeError(`keyFields must be a non-empty array of ${KEY_FIELDS.join(', ')}`);
  }
  const seen = new Set<string>();
  for (const f of fields) {
    if (typeof f !== 'string' || !(KEY_FIELDS as readonly string[]).includes(f)) {
      throw new TypeError(`keyFields: unknown field ${JSON.stringify(f)} (allowed: ${KEY_FIELDS.join(', ')})`);
    }
    if (seen.has(f)) throw new TypeError(`keyFields: ${f} is listed twice`);
    seen.add(f);
  }
  return Object.freeze([...(fields as KeyField[])]);
}

/** True when keys of these fields read the request's delivery id (which must then be given). */
export function keyNeedsDeliveryId(fields: readonly KeyField[]): boolean {
  return fields.includes('deliveryId');
}

/** A key function: `request` is required (with a deliveryId) when keyNeedsDeliveryId(fields). */
export type KeyOf = (event: KeySource, timestamp: ParsedTimestamp, request?: RequestFacts) => string;

function deliveryIdOf(request: RequestFacts | undefined): string {
  const id = request?.deliveryId;
  // The caller checks first (the engine: InvalidEventError; HTTP: 400); this only keeps keys sound.
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('the dedup key needs the request\'s deliveryId');
  return id;
}

/** Builds keys for one validated field list. */
export function keyBuilder(fields: readonly KeyField[]): KeyOf {
  if (fields.length === 1) {
    const [only] = fields;
    if (only === 'interactionId') return (e) => e.interactionId;
    if (only === 'dataActionId') return (e) => e.dataActionId;
    if (only === 'deliveryId') return (_e, _t, r) => deliveryIdOf(r);
    return (_e, t) => timestampKey(t);
  }
  return (event, timestamp, request) => {
    let key = '';
    for (const f of fields) {
      const part =
        f === 'updatedTimestamp'
          ? timestampKey(timestamp)
          : f === 'interactionId'
            ? event.interactionId
            : f === 'dataActionId'
              ? event.dataActionId
              : deliveryIdOf(request);
      key += `${part.length}:${part}`;
    }
    return key;
  };
}
