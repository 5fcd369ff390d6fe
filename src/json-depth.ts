/**
 * A linear pre-scan of a JSON body that rejects nesting deeper than a limit before JSON.parse
 * runs. V8 parses even 500,000 levels (slowly), but JSON.stringify and any recursive walk of
 * the result would overflow the stack; stopping at the first too-deep bracket keeps hostile
 * bodies cheap. Neutral ground: the webhook parser (http/) and the snapshot reader (persist/)
 * both guard with it, against the same limit.
 */

/** How deep an event's `payload` may nest (objects and arrays), documented in the README. */
export const MAX_PAYLOAD_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const OPEN_ARR = 0x5b;
const CLOSE_OBJ = 0x7d;
const CLOSE_ARR = 0x5d;

/** Returns true when no object/array in `body` nests deeper than `maxDepth` levels. */
export function nestingWithin(body: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_OBJ || c === OPEN_ARR) {
      if (++depth > maxDepth) return false;
    } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
      depth--;
    }
  }
  return true;
}
