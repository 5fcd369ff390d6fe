/**
 * Turns a verified webhook body into a validated Data Action event, or says precisely why not.
 * Never echoes input back: hostile values stay out of responses and logs.
 */
import { isUtf8 } from 'node:buffer';
import type { DataActionEvent } from '../dedup/event.js';
import { parseTimestamp, timestampFault, TIMESTAMP_FORMAT_HINT, type ParsedTimestamp } from '../dedup/timestamp.js';
import { MAX_PAYLOAD_DEPTH, nestingWithin } from '../json-depth.js';

export const MAX_ID_LENGTH = 256;
const MAX_TIMESTAMP_LENGTH = 64;

export interface ValidEvent {
  /** Exactly the four contract fields; unknown top-level fields are dropped. */
  event: DataActionEvent;
  /** `event.updatedTimestamp`, parsed. */
  timestamp: ParsedTimestamp;
}

export type EventError =
  | { reason: 'malformed_json'; message: string }
  | { reason: 'invalid_event'; message: string; field?: string };

export type EventResult = ({ ok: true } & ValidEvent) | ({ ok: false } & EventError);

const malformed = (message: string): EventResult => ({ ok: false, reason: 'malformed_json', message });
const invalid = (message: string, field?: string): EventResult =>
  field === undefined ? { ok: false, reason: 'invalid_event', message } : { ok: false, reason: 'invalid_event', message, field };

// ES2024's String.prototype.isWellFormed (Node 20), not yet in our lib typings.
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

function idFault(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return value === undefined ? 'is required' : 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > max) return `must be at most ${max} characters`;
  // A lone surrogate has no UTF-8 form: different ids would hash alike.
  if (!isWellFormed(value)) return 'must be valid Unicode (no lone surrogates)';
  return null;
}

export type DeliveryIdResult = { ok: true; deliveryId: string } | { ok: false; message: string };

/**
 * The delivery id from its header value ('' when absent), validated like the event's ids: 1 to
 * MAX_ID_LENGTH characters of valid UTF-8. uWS hands header values over byte for byte (one
 * character per byte), so the bytes are decoded here; invalid UTF-8 is refused rather than
 * replaced, since two different ids would otherwise become one key. `header` names it in messages.
 */
export function parseDeliveryId(headerValue: string, header: string): DeliveryIdResult {
  if (headerValue === '') return { ok: false, message: `missing ${header} header (the dedup key uses deliveryId)` };
  let id = headerValue;
  // Only non-ASCII values need decoding (a delivery id is usually a UUID).
  if (/[^\x00-\x7f]/.test(headerValue)) {
    const bytes = Buffer.from(headerValue, 'latin1');
    if (!isUtf8(bytes)) return { ok: false, message: `${header} must be valid UTF-8` };
    id = bytes.toString('utf8');
  }
  const fault = idFault(id, MAX_ID_LENGTH);
  if (fault) return { ok: false, message: `${header} ${fault}` };
  return { ok: true, deliveryId: id };
}

export function parseEvent(body: Uint8Array): EventResult {
  if (body.length === 0) return malformed('malformed JSON: empty body');
  if (!isUtf8(body)) return malformed('malformed JSON: body is not valid UTF-8');
  // The top-level object is one level, so payload may use MAX_PAYLOAD_DEPTH more.
  if (!nestingWithin(body, MAX_PAYLOAD_DEPTH + 1)) {
    return invalid(`payload must not nest deeper than ${MAX_PAYLOAD_DEPTH} levels`, 'payload');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return malformed('malformed JSON');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return invalid('body must be a JSON object');
  const o = doc as Record<string, unknown>;

  let fault = idFault(o.interactionId, MAX_ID_LENGTH);
  if (fault) return invalid(`interactionId ${fault}`, 'interactionId');
  fault = idFault(o.dataActionId, MAX_ID_LENGTH);
  if (fault) return invalid(`dataActionId ${fault}`, 'dataActionId');
  fault = idFault(o.updatedTimestamp, MAX_TIMESTAMP_LENGTH);
  if (fault) return invalid(`updatedTimestamp ${fault}`, 'updatedTimestamp');
  const timestamp = parseTimestamp(o.updatedTimestamp);
  if (timestamp === null) {
    return invalid(`updatedTimestamp must be ${TIMESTAMP_FORMAT_HINT} (${timestampFault(o.updatedTimestamp)})`, 'updatedTimestamp');
  }

  let payload: Record<string, unknown>;
  if (o.payload === undefined) payload = {};
  else if (o.payload === null || typeof o.payload !== 'object' || Array.isArray(o.payload)) return invalid('payload must be a JSON object', 'payload');
  else payload = o.payload as Record<string, unknown>;

  return {
    ok: true,
    event: {
      interactionId: o.interactionId as string,
      dataActionId: o.dataActionId as string,
      updatedTimestamp: o.updatedTimestamp as string,
      payload,
    },
    timestamp,
  };
}
