/**
 * Worker for shared-workers.test.ts: attaches to a SharedArrayBuffer-backed native filter and
 * adds `${prefix}${i}` for i in [0, count), after a start barrier shared with the other workers
 * (so the adds really overlap). Reports how many adds said "was absent".
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadNativeFactory } from '@cxone-dedup/bloom/factory';

export interface SharedAddJob {
  memory: SharedArrayBuffer;
  capacity: number;
  errorRate: number;
  prefix: string;
  count: number;
  /** Int32Array over it: [0] = workers ready, [1] = go. */
  barrier: SharedArrayBuffer;
  workers: number;
}

export interface SharedAddResult {
  added: number;
  wasAbsent: number;
}

const job = workerData as SharedAddJob;
const filter = loadNativeFactory().fromShared(job.memory, job.capacity, job.errorRate);
const barrier = new Int32Array(job.barrier);
// Check in, then wait (bounded) until every worker has: all start adding together.
if (Atomics.add(barrier, 0, 1) + 1 === job.workers) {
  Atomics.store(barrier, 1, 1);
  Atomics.notify(barrier, 1);
} else {
  Atomics.wait(barrier, 1, 0, 10_000);
}
let wasAbsent = 0;
for (let i = 0; i < job.count; i++) if (filter.add(`${job.prefix}${i}`)) wasAbsent++;
parentPort!.postMessage({ added: job.count, wasAbsent } satisfies SharedAddResult);
