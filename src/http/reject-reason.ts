/**
 * Why a webhook request was rejected. Every request to the webhook path ends as exactly one of
 * processed, deduplicated or rejected(reason), so received = processed + deduplicated + rejected.
 */
export type RejectReason =
  | 'missing_signature' // 403
  | 'bad_signature' // 401
  | 'replayed' // 401, timestamp header outside the replay window
  | 'body_too_large' // 413
  | 'malformed_json' // 400
  | 'invalid_event' // 400, JSON parsed but a field is missing or wrong
  | 'aborted' // the client went away before the body was complete
  | 'unavailable' // 503 + Retry-After: the event could not be made durable for delivery; nothing recorded
  | 'internal_error'; // 500: a bug, logged

export const REJECT_REASONS: readonly RejectReason[] = [
  'missing_signature',
  'bad_signature',
  'replayed',
  'body_too_large',
  'malformed_json',
  'invalid_event',
  'aborted',
  'unavailable',
  'internal_error',
];
