/** A Data Action event after the HTTP layer validated it. */
export interface DataActionEvent {
  readonly interactionId: string;
  readonly dataActionId: string;
  /** RFC 3339 date-time (see timestamp.ts). */
  readonly updatedTimestamp: string;
  readonly payload: Readonly<Record<string, unknown>>;
}
