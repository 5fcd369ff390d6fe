/**
 * Turns a captured engine state into the chunks of a snapshot file, a time slice at a time: the
 * state cache can be tens of MB of JSON, so records are stringified in slices of about 2 ms
 * (smaller chunks measured no slower overall, and halved the longest pause) and each slice becomes
 * one chunk. The consumer (an async file write) yields to the
 * event loop between chunks. The SHA-256 trailer is computed along the way.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { stateJson } from '../dedup/raw-state.js';
import type { CapturedState } from '../dedup/state.js';
import { encodeGeneration, encodeHeader, encodeRecords, type SnapshotParams } from './format.js';

export interface SerializeOptions {
  /** Longest stretch of synchronous stringifying before a chunk is handed out (default 2 ms). */
  sliceMs?: number;
  /** A chunk is handed out once it holds this many characters of JSON (default 256 Ki). */
  chunkChars?: number;
}

/** What the writer needs from a capture, beyond the engine state itself. */
export interface CaptureInfo {
  params: SnapshotParams;
  createdAtMs: number;
}

/** The snapshot file's content as chunks. `state` must not change while this runs (see Snapshotter). */
export async function* snapshotChunks(state: CapturedState, info: CaptureInfo, options: SerializeOptions = {}): AsyncGenerator<Uint8Array> {
  const sliceMs = options.sliceMs ?? 2;
  const chunkChars = options.chunkChars ?? 1 << 18;
  const hash = createHash('sha256');
  const emit = (chunk: Uint8Array): Uint8Array => {
    hash.update(chunk);
    return chunk;
  };

  yield emit(
    encodeHeader({
      ...info.params,
      createdAtMs: info.createdAtMs,
      epoch: state.epoch,
      interactionCount: state.states.length,
    }),
  );
  for (const g of [state.generations.active, state.generations.previous]) {
    for (const part of encodeGeneration(g)) yield emit(part);
  }

  const items = state.states;
  let i = 0;
  while (i < items.length) {
    const started = performance.now();
    const jsons: string[] = [];
    let chars = 0;
    // Check the clock every 64 records: reading it costs more than one small stringify.
    while (i < items.length && chars < chunkChars && ((jsons.length & 63) !== 0 || performance.now() - started < sliceMs)) {
      // A state kept as its received bytes is written as they are (it is that JSON object).
      const json = stateJson(items[i++]!);
      jsons.push(json);
      chars += json.length;
    }
    yield emit(encodeRecords(jsons));
  }
  yield hash.digest();
}
