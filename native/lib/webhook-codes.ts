/**
 * What `DedupWindow.webhook(...)` (native/src/webhook.rs) answers, and where it writes the
 * details of an accepted webhook in the caller's `out` Float64Array.
 */
export const WEBHOOK_ACCEPTED = 0;
export const WEBHOOK_BAD_SIGNATURE = 1;
export const WEBHOOK_REPLAYED = 2;
export const WEBHOOK_MALFORMED_JSON = 3;
export const WEBHOOK_INVALID_EVENT = 4;

/** `flags` of webhook(): the signed timestamp is within the replay window (or there is none to judge). */
export const WEBHOOK_FRESH = 1;
/** `flags` of webhook(): record the key (no delivery to make durable first); else only check. */
export const WEBHOOK_OBSERVE = 2;

/** The window's answer: verdict | RECORD_* bits (observe) or the verdict (check). */
export const OUT_WINDOW = 0;
/** Byte range of interactionId's characters in the body; -1 when the JSON string had escapes. */
export const OUT_ID_START = 1;
export const OUT_ID_END = 2;
/** OUT_FLAG_* bits. */
export const OUT_FLAGS = 3;
/** updatedTimestamp's instant (ParsedTimestamp's epochSeconds, nanos, leap as 0/1). */
export const OUT_EPOCH_SECONDS = 4;
export const OUT_NANOS = 5;
export const OUT_LEAP = 6;
/** Byte range of the top-level object (the body without surrounding whitespace). */
export const OUT_OBJECT_START = 7;
export const OUT_OBJECT_END = 8;
/** The dedup key's XXH64, high and low 32 bits (for a later record when only checked). */
export const OUT_HASH_HI = 9;
export const OUT_HASH_LO = 10;
/** For a refused body: the field (0 none, 1 interactionId, 2 dataActionId, 3 updatedTimestamp, 4 payload). */
export const OUT_FIELD = 11;
/** Slots `out` must have. */
export const OUT_LENGTH = 12;

/** The object has exactly the four contract fields, once each: its bytes can stand for the state. */
export const OUT_FLAG_CANONICAL = 1;
/** interactionId is ASCII (latin1 decoding is exact). */
export const OUT_FLAG_ASCII_ID = 2;

/** Field names by OUT_FIELD value. */
export const OUT_FIELD_NAMES: readonly (string | undefined)[] = [undefined, 'interactionId', 'dataActionId', 'updatedTimestamp', 'payload'];

/** A key field list as `webhook()` takes it: base-4 digits, least significant first (1, 2, 3 as listed). */
export function keyFieldsCode(fields: readonly string[]): number {
  const digit: Record<string, number> = { interactionId: 1, dataActionId: 2, updatedTimestamp: 3 };
  let code = 0;
  for (let i = fields.length - 1; i >= 0; i--) {
    const d = digit[fields[i]!];
    if (d === undefined) throw new RangeError(`key field ${JSON.stringify(fields[i])} has no native code`);
    code = code * 4 + d;
  }
  return code;
}
