/**
 * A state kept as the bytes the event arrived with: its top-level JSON object, when that object
 * has exactly the four contract fields once each (the native parser says so), so the bytes stand
 * for the state as they are — key order, whitespace and number spelling kept. Parsed only when
 * someone needs the object (GET /state through JSON.stringify, an embedder's getState); answers
 * and snapshots use the bytes.
 */
import type { DataActionEvent } from './event.js';

export class RawState {
  #event: DataActionEvent | undefined;

  constructor(readonly bytes: Buffer) {}

  /** The state as an object (parsed once). */
  get event(): DataActionEvent {
    return (this.#event ??= JSON.parse(this.bytes.toString('utf8')) as DataActionEvent);
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

/** The state's JSON text (the bytes as received, or the object stringified). */
export function stateJson(v: StateValue): string {
  return v instanceof RawState ? v.bytes.toString('utf8') : JSON.stringify(v);
}
