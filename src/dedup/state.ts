/**
 * The engine's memory as persistence sees it: the exported state (EngineState), the cheaper
 * capture a snapshot writer takes (CapturedState), and the check a state must pass before the
 * engine takes it back (checkEngineState).
 */
import type { DataActionEvent } from './event.js';
import type { GenerationsState } from './generations.js';
import type { KeyField } from './key.js';
import { SeenKeys } from './seen.js';
import { parseTimestamp, TIMESTAMP_FORMAT_HINT, type ParsedTimestamp } from './timestamp.js';

/** One cached interaction: its latest state and the [dedup key, epoch] pairs still within the window. */
export interface InteractionRecord {
  state: DataActionEvent;
  seen: Array<[string, number]>;
}

/** Everything needed to restore the engine's memory (persistence). */
export interface EngineState {
  version: 1;
  keyFields: KeyField[];
  /** Generation number (compactions since the window began); seen-key epochs refer to it. */
  epoch: number;
  generations: GenerationsState;
  /** Least recently updated first. */
  interactions: InteractionRecord[];
}

/** `EngineState` as `captureState` takes it: the same, with the interactions still in columns. */
export interface CapturedState extends Omit<EngineState, 'interactions'> {
  interactions: CapturedInteractions;
}

/**
 * The state cache as captured for a snapshot, column-wise: the capture runs synchronously on the
 * request thread, and an object or two per interaction (100,000 of them by default) made it
 * ~5× slower. Records are built one at a time by `at(i)` while the snapshot is written.
 * States are shared, never copied: the engine never mutates a state it keeps.
 */
export class CapturedInteractions {
  readonly length: number;
  readonly states: DataActionEvent[];
  /** Each interaction's newest key and its epoch (undefined key or epoch < minEpoch: none). */
  readonly newestKeys: Array<string | undefined>;
  readonly newestEpochs: number[];
  /** Older keys within the window, by index (only interactions with multi-field keys have any). */
  readonly older: Map<number, Array<[string, number]>>;
  readonly minEpoch: number;

  constructor(length: number, minEpoch: number) {
    this.length = length;
    this.minEpoch = minEpoch;
    this.states = new Array<DataActionEvent>(length);
    this.newestKeys = new Array<string | undefined>(length);
    this.newestEpochs = new Array<number>(length);
    this.older = new Map();
  }

  /** The record of interaction `i` (least recently updated first), as EngineState holds it. */
  at(i: number): InteractionRecord | undefined {
    if (!(i >= 0 && i < this.length)) return undefined;
    const seen = this.older.get(i)?.slice() ?? [];
    const key = this.newestKeys[i];
    const epoch = this.newestEpochs[i]!;
    if (key !== undefined && epoch >= this.minEpoch) seen.push([key, epoch]);
    return { state: this.states[i]!, seen };
  }
}

/** What a state must agree with: the restoring engine's settings. */
export interface StateExpectations {
  readonly keyFields: readonly KeyField[];
  /** The dedup key is the interactionId alone, so every seen key must equal it. */
  readonly keyIsInteractionId: boolean;
  readonly maxKeysPerInteraction: number;
}

/** A checked state, ready for the engine: its epoch and the cache records, least recent first. */
export interface CheckedState {
  epoch: number;
  records: Array<readonly [string, { timestamp: ParsedTimestamp; value: DataActionEvent; meta: SeenKeys }]>;
}

/**
 * Checks everything of `state` but its Bloom generations (the generational filter checks those):
 * format, key fields, epoch, every state's fields and timestamp, every seen key. Throws a clear
 * TypeError or RangeError on the first problem.
 */
export function checkEngineState(state: EngineState, expect: StateExpectations): CheckedState {
  if (typeof state !== 'object' || state === null) throw new TypeError('engine state must be an object');
  if (state.version !== 1) throw new TypeError(`engine state: unsupported version ${String(state.version)}`);
  if (
    !Array.isArray(state.keyFields) ||
    state.keyFields.length !== expect.keyFields.length ||
    state.keyFields.some((f, i) => f !== expect.keyFields[i])
  ) {
    throw new TypeError(
      `engine state: saved with keyFields ${JSON.stringify(state.keyFields)}, but this engine uses ` +
        `${JSON.stringify(expect.keyFields)}; the saved keys would not match`,
    );
  }
  const epoch = state.epoch;
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError('engine state: epoch must be an integer >= 0');
  if (!Array.isArray(state.interactions)) throw new TypeError('engine state: interactions must be an array');

  const records: CheckedState['records'] = [];
  state.interactions.forEach((item, i) => {
    const where = `engine state: interactions[${i}]`;
    if (typeof item !== 'object' || item === null) throw new TypeError(`${where} must be an object`);
    const ev = item.state;
    if (typeof ev !== 'object' || ev === null) throw new TypeError(`${where}.state must be an object`);
    if (typeof ev.interactionId !== 'string' || ev.interactionId.length === 0) {
      throw new TypeError(`${where}.state.interactionId must be a non-empty string`);
    }
    if (typeof ev.dataActionId !== 'string') throw new TypeError(`${where}.state.dataActionId must be a string`);
    if (typeof ev.payload !== 'object' || ev.payload === null || Array.isArray(ev.payload)) {
      throw new TypeError(`${where}.state.payload must be an object`);
    }
    const ts = parseTimestamp(ev.updatedTimestamp);
    if (ts === null) throw new TypeError(`${where}.state.updatedTimestamp is not ${TIMESTAMP_FORMAT_HINT}`);
    if (!Array.isArray(item.seen)) throw new TypeError(`${where}.seen must be an array`);
    const meta = new SeenKeys();
    for (const pair of item.seen) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
        throw new TypeError(`${where}.seen must hold [key, epoch] pairs`);
      }
      const [key, e] = pair;
      if (!Number.isSafeInteger(e) || e < 0 || e > epoch) throw new RangeError(`${where}.seen epoch must be in 0..${epoch}`);
      if (expect.keyIsInteractionId && key !== ev.interactionId) {
        throw new TypeError(`${where}.seen key does not match its interactionId`);
      }
      meta.mark(key, e, epoch - 1, expect.maxKeysPerInteraction);
    }
    records.push([ev.interactionId, { timestamp: ts, value: ev, meta }]);
  });
  return { epoch, records };
}
