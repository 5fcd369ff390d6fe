/**
 * What a dispatcher drives: one delivery attempt of one record, and its classified outcome. A sink
 * never decides about retries itself; it only says whether an attempt worked, may be retried, or
 * can never work.
 */
import type { DeliveryRecord } from './types.js';

export type DeliveryOutcome =
  | { readonly kind: 'delivered' }
  /** Worth another attempt later; `retryAfterMs` when the downstream said how long to wait. */
  | { readonly kind: 'retry'; readonly error: string; readonly retryAfterMs?: number | undefined }
  /** Will fail the same way every time: dead-letter it. */
  | { readonly kind: 'permanent'; readonly error: string; readonly detail?: string | undefined };

export interface DeliverySink {
  /** Cursor name in the outbox and label in stats/logs, e.g. 'http'. */
  readonly name: string;
  /**
   * One attempt (`attempt` counts from 1). Should resolve rather than reject; a rejection is
   * treated as a retryable failure. Must give up promptly when `signal` aborts (the dispatcher
   * stops waiting for it then either way).
   */
  deliver(record: DeliveryRecord, attempt: number, signal: AbortSignal): Promise<DeliveryOutcome>;
  /** Releases connections and timers; called once, after the dispatcher stopped. */
  close?(): void | Promise<void>;
}

/** Error texts end up in /stats, logs and the dead-letter file: one line, bounded. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return oneLine(`${typeof code === 'string' && !err.message.includes(code) ? `${code}: ` : ''}${err.message || err.name}`);
  }
  return oneLine(String(err));
}
