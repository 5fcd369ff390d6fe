/**
 * The stable id of a delivery (HTTP `Idempotency-Key`, the stream's `id` field): the same on every
 * retry, after restarts, and on whichever replica accepts the event again. Derived from what makes
 * the event itself: its dedup key, the instant of `updatedTimestamp`, and its exact bytes (two
 * updates at the same instant with different content are two deliveries). ASCII, 32 hex digits.
 */
import { createHash } from 'node:crypto';
import { timestampKey, type ParsedTimestamp } from '../dedup/timestamp.js';

export function deliveryId(key: string, timestamp: ParsedTimestamp, body: Uint8Array): string {
  return createHash('sha256').update(key).update('\n').update(timestampKey(timestamp)).update('\n').update(body).digest('hex').slice(0, 32);
}
