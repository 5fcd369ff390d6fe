/** Why the outbox refused a record; nothing of a refused record is ever delivered. */
export type RejectReason =
  /** OUTBOX_MAX_BYTES reached: the sinks are behind. Retry later. */
  | 'full'
  /** Writing or syncing failed (disk full, I/O error, file size limit). */
  | 'disk_error'
  /** The record alone is larger than the outbox may ever hold. */
  | 'too_large'
  /** The outbox is closing or closed. */
  | 'closed';

export const REJECT_REASONS: readonly RejectReason[] = ['full', 'disk_error', 'too_large', 'closed'];

/** An append that was not made durable (answer 503 + Retry-After, and remember nothing). */
export class OutboxRejectedError extends Error {
  override readonly name = 'OutboxRejectedError';
  readonly reason: RejectReason;

  constructor(reason: RejectReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The outbox directory cannot be opened (unusable, or another daemon holds it). */
export class OutboxOpenError extends Error {
  override readonly name: string = 'OutboxOpenError';
}

/** Another live daemon uses this OUTBOX_DIR. */
export class OutboxLockedError extends OutboxOpenError {
  override readonly name = 'OutboxLockedError';
}
