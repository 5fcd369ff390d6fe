/**
 * A state kept as the text the event arrived with: its top-level JSON object, when that object
 * has exactly the four contract fields once each (the native parser says so), so the text stands
 * for the state as it is — key order, whitespace and number spelling kept. Parsed only when
 * someone needs the object (GET /state through JSON.stringify, an embedder's getState); answers
 * and snapshots use the text.
 *
 * A string, not a Buffer: a small Buffer copy comes from Node's shared 8 KiB pool, and one kept
 * in a 100,000-entry cache would keep its whole pool slab alive.
 */
import type { DataActionEvent } from './event.js';

export class RawState {
  #event: DataActionEvent | undefined;

  constructor(readonly json: string) {}

  /** The state as an object (parsed once). */
  get event(): DataActionEvent {
    return (this.#event ??= JSON.parse(this.json) as DataActionEvent);
  }

  toJSON(): DataActionEvent {
    return this.event;
  }
}

/** What the state cache holds for an interaction. */
export type StateValue = DataActionEvent | RawState;

export function stateEvent(v: StateValue): DataActionEvent {
  return v instanceof RawState ? v.event : v;
}

/** The state's JSON text (as received, or the object stringified). */
export function stateJson(v: StateValue): string {
  return v instanceof RawState ? v.json : JSON.stringify(v);
}
