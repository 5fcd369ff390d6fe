/**
 * The in-process sink, for embedders: hands each record to a user `onEvent(event, meta)`. A
 * resolved promise means delivered; a rejection (or a throw) means retry, unless the error carries
 * `permanent: true`, which dead-letters the record. A promise that never settles is given up on
 * after `timeoutMs` (and retried), so a broken handler cannot wedge the dispatcher.
 */
import { setMaxListeners } from 'node:events';
import { describeError, type DeliveryOutcome, type DeliverySink } from './sink.js';
import type { DeliveryRecord } from './types.js';

export const DEFAULT_IN_PROCESS_TIMEOUT_MS = 30_000;

export interface DeliveryMeta {
  /** The stable delivery id: the same on every retry and after restarts. */
  readonly id: string;
  readonly status: 'processed' | 'update';
  readonly interactionId: string;
  readonly acceptedAtMs: number;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** The webhook body exactly as received (a copy: changing it changes nothing). */
  readonly body: Buffer;
  /** Aborts when this attempt is given up on (timeout or shutdown); stop work then. */
  readonly signal: AbortSignal;
}

export type OnEvent = (event: unknown, meta: DeliveryMeta) => Promise<void> | void;

/** Throw (or reject with) this, or any error with `permanent: true`, to dead-letter an event. */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
  readonly permanent = true;
}

export interface InProcessSinkOptions {
  onEvent: OnEvent;
  /** An attempt that has not settled after this is abandoned and retried; default 30 s. */
  timeoutMs?: number;
  /** Cursor / stats name; default 'in-process'. */
  name?: string;
}

function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
}

export class InProcessSink implements DeliverySink {
  readonly name: string;
  private readonly onEvent: OnEvent;
  private readonly timeoutMs: number;

  constructor(options: InProcessSinkOptions) {
    if (typeof options.onEvent !== 'function') throw new TypeError('onEvent must be a function');
    this.onEvent = options.onEvent;
    this.name = options.name ?? 'in-process';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_IN_PROCESS_TIMEOUT_MS;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError(`timeoutMs must be > 0, got ${String(this.timeoutMs)}`);
  }

  deliver(record: DeliveryRecord, attempt: number, signal: AbortSignal): Promise<DeliveryOutcome> {
    let event: unknown;
    try {
      event = JSON.parse(record.body.toString('utf8'));
    } catch (err) {
      return Promise.resolve({ kind: 'permanent', error: `the body is not JSON: ${describeError(err)}` });
    }
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return new Promise<DeliveryOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: DeliveryOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        controller.abort(new Error(`onEvent did not settle within ${this.timeoutMs} ms`));
        finish({ kind: 'retry', error: `onEvent did not settle within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      const onAbort = () => {
        controller.abort(signal.reason);
        finish({ kind: 'retry', error: 'delivery aborted (stopping)' });
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });

      const meta: DeliveryMeta = {
        id: record.id,
        status: record.status,
        interactionId: record.interactionId,
        acceptedAtMs: record.acceptedAtMs,
        attempt,
        body: Buffer.from(record.body),
        signal: controller.signal,
      };
      let result: unknown;
      try {
        result = this.onEvent(event, meta);
      } catch (err) {
        finish(this.failure(err));
        return;
      }
      // A late rejection after a timeout is still handled here: never an unhandled rejection.
      Promise.resolve(result).then(
        () => finish({ kind: 'delivered' }),
        (err: unknown) => finish(this.failure(err)),
      );
    });
  }

  private failure(err: unknown): DeliveryOutcome {
    const error = `onEvent failed: ${describeError(err)}`;
    return isPermanent(err) ? { kind: 'permanent', error } : { kind: 'retry', error };
  }
}
