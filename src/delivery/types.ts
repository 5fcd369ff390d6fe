/** One event handed downstream. */
export interface DeliveryRecord {
  /** Position in the outbox, increasing in acceptance order. */
  readonly seq: number;
  /** Stable delivery id (the Idempotency-Key): the same on every retry and after restarts. */
  readonly id: string;
  /** Why it is delivered: first of its key ('processed') or a newer state of its interaction ('update'). */
  readonly status: 'processed' | 'update';
  readonly interactionId: string;
  /** Wall-clock ms when the daemon accepted it. */
  readonly acceptedAtMs: number;
  /** The webhook body exactly as received. */
  readonly body: Buffer;
}

export type NewDeliveryRecord = Omit<DeliveryRecord, 'seq'>;

/** What a dispatcher needs from the outbox: one independent cursor per sink name. */
export interface DeliverySource {
  /**
   * Up to `max` records this sink has not been handed yet, in seq order. Resolves as soon as at
   * least one is available, or with [] once the source is closed or `signal` aborts.
   */
  next(sink: string, max: number, signal?: AbortSignal): Promise<DeliveryRecord[]>;
  /**
   * The record is finished for this sink (delivered, or dead-lettered). Acks may come out of
   * order. After a restart, a sink is handed again every record it had not acked durably
   * (at-least-once), never one below its persisted cursor.
   */
  ack(sink: string, seq: number): void;
}

/** Which events are handed downstream: the first of each dedup key, or every change of state. */
export type DeliverMode = 'processed' | 'updates';

export const DELIVER_MODES: readonly DeliverMode[] = ['processed', 'updates'];

/** Where an event to deliver is made durable before the webhook is answered (the outbox, a Redis stream). */
export interface DurableLog {
  readonly name: string;
  /** Resolves once the record is durable; rejects (with a reason worth logging) when it cannot be. */
  append(record: NewDeliveryRecord): Promise<unknown>;
}
