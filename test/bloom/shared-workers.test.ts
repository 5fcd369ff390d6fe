/**
 * Two worker threads add disjoint key sets into one SharedArrayBuffer-backed native filter at
 * the same time; afterwards the main thread finds every key, and the bits equal those of the
 * same keys added one by one into an owned filter (no add was lost to a race).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { NativeBloomFactory } from '@cxone-dedup/bloom/factory';
import type { SharedAddJob, SharedAddResult } from './shared-add-worker.js';

let native: NativeBloomFactory;

before(async () => {
  try {
    native = (await import('@cxone-dedup/bloom/factory')).loadNativeFactory();
  } catch (err) {
    throw new Error(`the native Bloom addon is required by this test but could not load (${(err as Error).message})`, {
      cause: err,
    });
  }
});

const WORKER_URL = new URL('./shared-add-worker.ts', import.meta.url);
// Node 20 does not load a worker's .ts entry through the test runner's tsx loader, so the
// worker boots from a tiny script that registers tsx first, then imports the real entry.
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}); })
  .catch((err) => { process.nextTick(() => { throw err; }); });`;

/** Runs one worker to completion (or failure), terminating it if it takes too long. */
function runWorker(job: SharedAddJob, timeoutMs = 60_000): Promise<SharedAddResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_BOOT, { eval: true, workerData: job });
    let result: SharedAddResult | undefined;
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`worker ${job.prefix} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.on('message', (m: SharedAddResult) => (result = m));
    worker.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`worker ${job.prefix} exited with code ${code} without a result`));
    });
  });
}

describe('native filter shared by worker threads', () => {
  it('two workers add 200,000 disjoint keys each into one SharedArrayBuffer at the same time', async () => {
    const capacity = 400_000;
    const errorRate = 0.001;
    const count = 200_000;
    const shared = native.createShared(capacity, errorRate);
    const memory = shared.sharedMemory!;
    assert.ok(memory instanceof SharedArrayBuffer);
    const barrier = new SharedArrayBuffer(8);
    const jobs: SharedAddJob[] = ['a-', 'b-'].map((prefix) => ({
      memory,
      capacity,
      errorRate,
      prefix,
      count,
      barrier,
      workers: 2,
    }));

    const results = await Promise.all(jobs.map((job) => runWorker(job)));

    for (const r of results) {
      assert.equal(r.added, count);
      // Disjoint new keys: nearly every add finds a clear bit (a few are false positives).
      assert.ok(r.wasAbsent > count * 0.99, `only ${r.wasAbsent} of ${count} adds reported "was absent"`);
    }
    // Every key from both workers is found from the main thread, and is reported present.
    for (const prefix of ['a-', 'b-']) {
      for (let i = 0; i < count; i++) {
        const key = `${prefix}${i}`;
        if (!shared.has(key)) assert.fail(`${key} was added by a worker but is not found`);
        if (shared.add(key)) assert.fail(`add(${key}) reported "was absent" after the workers added it`);
      }
    }
    // No bit was lost: the same keys added one by one give the very same bits.
    const owned = native.create(capacity, errorRate);
    for (const prefix of ['a-', 'b-']) for (let i = 0; i < count; i++) owned.add(`${prefix}${i}`);
    assert.ok(owned.toBuffer().equals(shared.toBuffer()), 'the shared bits differ from a sequential build');
  });

  it('a worker that is handed a plain ArrayBuffer fails with a TypeError, not a crash', async () => {
    const { byteLength } = native.params(1000, 0.01);
    const job = {
      memory: new ArrayBuffer(byteLength) as unknown as SharedArrayBuffer,
      capacity: 1000,
      errorRate: 0.01,
      prefix: 'x-',
      count: 10,
      barrier: new SharedArrayBuffer(8),
      workers: 1,
    };
    await assert.rejects(runWorker(job), (err: unknown) => {
      assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
      assert.match(err.message, /SharedArrayBuffer/);
      return true;
    });
  });
});
