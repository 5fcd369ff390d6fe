/**
 * The engine's memory as persistence sees it: the exported state (EngineState, format 2), the
 * format-1 state older snapshots hold (EngineStateV1, still restored), and the check a state must
 * pass before the engine takes it back (checkEngineState).
 */
import type { DataActionEvent } from './event.js';
import type { KeyField } from './key.js';
import type { StateValue } from './raw-state.js';
import { parseTimestamp, TIMESTAMP_FORMAT_HINT, type ParsedTimestamp } from './timestamp.js';
import type { GenerationsState } from './window.js';

/** Everything needed to restore the engine's memory (persistence). */
export interface EngineState {
  version: 2;
  keyFields: KeyField[];
  /** Compactions since the window began. */
  epoch: number;
  /** Both generations: Bloom filters, fingerprint tables, counts, activation times. */
  generations: GenerationsState;
  /** The latest state of each cached interaction, least recently updated first (objects, or the bytes received: RawState). */
  states: StateValue[];
}

/**
 * Format 1 (before fingerprint tables): each generation is a Bloom image alone, and each cached
 * interaction carries the [dedup key, epoch] pairs it was seen under within the window.
 */
export interface EngineStateV1 {
  version: 1;
  keyFields: KeyField[];
  epoch: number;
  generations: Record<'active' | 'previous', { image: Uint8Array; activatedAtMs: number; insertions: number }>;
  interactions: Array<{ state: DataActionEvent; seen: Array<[string, number]> }>;
}

/**
 * `EngineState` as `captureState` takes it for a snapshot writer: the same shape, taken
 * synchronously. States are shared, never copied: the engine never mutates a state it keeps.
 */
export type CapturedState = EngineState;

/** What a state must agree with: the restoring engine's settings. */
export interface StateExpectations {
  readonly keyFields: readonly KeyField[];
  /** The dedup key is the interactionId alone, so every seen key must equal it. */
  readonly keyIsInteractionId: boolean;
}

/** A checked state, ready for the engine. */
export interface CheckedState {
  epoch: number;
  generations: GenerationsState;
  /** Cache records, least recent first. */
  records: Array<readonly [string, { timestamp: ParsedTimestamp; value: DataActionEvent; meta: undefined }]>;
  /**
   * Format 1 only: keys the old snapshot knew were seen within the window. Its generations have
   * no tables (inexact), so the engine records these into the active generation's table, which
   * keeps the cached interactions' repeats exact duplicates.
   */
  knownKeys: string[];
}

function checkState(ev: unknown, where: string): { id: string; ts: ParsedTimestamp; value: DataActionEvent } {
  if (typeof ev !== 'object' || ev === null) throw new TypeError(`${where} must be an object`);
  const e = ev as Partial<DataActionEvent>;
  if (typeof e.interactionId !== 'string' || e.interactionId.length === 0) throw new TypeError(`${where}.interactionId must be a non-empty string`);
  if (typeof e.dataActionId !== 'string') throw new TypeError(`${where}.dataActionId must be a string`);
  if (typeof e.payload !== 'object' || e.payload === null || Array.isArray(e.payload)) throw new TypeError(`${where}.payload must be an object`);
  const ts = parseTimestamp(e.updatedTimestamp);
  if (ts === null) throw new TypeError(`${where}.updatedTimestamp is not ${TIMESTAMP_FORMAT_HINT}`);
  return { id: e.interactionId, ts, value: ev as DataActionEvent };
}

function checkKeyFields(saved: unknown, expect: StateExpectations): void {
  if (!Array.isArray(saved) || saved.length !== expect.keyFields.length || saved.some((f, i) => f !== expect.keyFields[i])) {
    throw new TypeError(
      `engine state: saved with keyFields ${JSON.stringify(saved)}, but this engine uses ${JSON.stringify(expect.keyFields)}; the saved keys would not match`,
    );
  }
}

/**
 * Checks everything of `state` but the window's images (the factory checks those): format, key
 * fields, epoch, every state's fields and timestamp, and for format 1 every seen key. Throws a
 * clear TypeError or RangeError on the first problem.
 */
export function checkEngineState(state: EngineState | EngineStateV1, expect: StateExpectations): CheckedState {
  if (typeof state !== 'object' || state === null) throw new TypeError('engine state must be an object');
  if (state.version !== 1 && state.version !== 2) throw new TypeError(`engine state: unsupported version ${String((state as { version?: unknown }).version)}`);
  checkKeyFields(state.keyFields, expect);
  const epoch = state.epoch;
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError('engine state: epoch must be an integer >= 0');
  if (typeof state.generations !== 'object' || state.generations === null) throw new TypeError('engine state: generations must be an object');
  const records: CheckedState['records'] = [];

  if (state.version === 2) {
    if (!Array.isArray(state.states)) throw new TypeError('engine state: states must be an array');
    state.states.forEach((ev, i) => {
      const { id, ts, value } = checkState(ev, `engine state: states[${i}]`);
      records.push([id, { timestamp: ts, value, meta: undefined }]);
    });
    return { epoch, generations: state.generations, records, knownKeys: [] };
  }

  if (!Array.isArray(state.interactions)) throw new TypeError('engine state: interactions must be an array');
  const knownKeys: string[] = [];
  state.interactions.forEach((item, i) => {
    const where = `engine state: interactions[${i}]`;
    if (typeof item !== 'object' || item === null) throw new TypeError(`${where} must be an object`);
    const { id, ts, value } = checkState(item.state, `${where}.state`);
    if (!Array.isArray(item.seen)) throw new TypeError(`${where}.seen must be an array`);
    for (const pair of item.seen) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') throw new TypeError(`${where}.seen must hold [key, epoch] pairs`);
      const [key, e] = pair;
      if (!Number.isSafeInteger(e) || e < 0 || e > epoch) throw new RangeError(`${where}.seen epoch must be in 0..${epoch}`);
      if (expect.keyIsInteractionId && key !== id) throw new TypeError(`${where}.seen key does not match its interactionId`);
      // Within the window: the current or the previous generation.
      if (e >= epoch - 1) knownKeys.push(key);
    }
    records.push([id, { timestamp: ts, value, meta: undefined }]);
  });
  const gen = (g: EngineStateV1['generations']['active'] | undefined, name: string) => {
    if (typeof g !== 'object' || g === null) throw new TypeError(`engine state: generations.${name} must be an object`);
    return { bloom: g.image, table: null, insertions: g.insertions, exact: false, activatedAtMs: g.activatedAtMs };
  };
  return { epoch, generations: { active: gen(state.generations.active, 'active'), previous: gen(state.generations.previous, 'previous') }, records, knownKeys };
}
