/** A Data Action event after the HTTP layer validated it. */
export interface DataActionEvent {
  readonly interactionId: string;
  readonly dataActionId: string;
  /** RFC 3339 date-time (see timestamp.ts). */
  readonly updatedTimestamp: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * What the request that carried an event said besides its body, as far as the dedup key may use
 * it. Filled by the HTTP layer from validated headers.
 */
export interface RequestFacts {
  /** The sender's delivery id (DELIVERY_ID_HEADER), when the dedup key uses it. */
  readonly deliveryId?: string | undefined;
}
