/**
 * A process that uses an outbox and gets killed by the tests (run with `node --import tsx`).
 *   append <dir> <round>  appends forever, ~200 in flight, records of varied sizes; prints
 *                         `ok <seq> <id>` for each append that resolved (stdout to a pipe is
 *                         synchronous on Linux: a printed line was acknowledged before the kill)
 *   fill <dir>            appends until the disk refuses (run under `ulimit -f`), prints
 *                         `ok <seq> <id>` / `rejected <id> <reason>`, then closes and exits 0
 *   tear <dir>            appends 50 small records (printing `ok <seq> <id>`), prints `ready <bytes
 *                         on disk>`, then appends one 64 MB record: a kill while the segment grows
 *                         cuts that write short
 *   hold <dir>            opens the outbox, prints `open`, and waits to be killed
 * Logs (JSON lines) go to stderr.
 */
import { Outbox } from '../../src/delivery/outbox.js';
import { OutboxRejectedError } from '../../src/delivery/errors.js';
import { createLogger } from '../../src/log.js';
import { mulberry32 } from '../helpers/prng.js';
import { makeRecord } from './helpers.js';

const [mode, dir, round = '0'] = process.argv.slice(2);
const logger = createLogger({ level: 'info', write: (l) => process.stderr.write(l) });
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

if (mode === 'append') {
  const outbox = await Outbox.open({ dir: dir!, sinks: ['s'], maxBytes: 512 * 1024 * 1024, segmentBytes: 4 * 1024 * 1024, logger });
  say(`open ${outbox.stats().nextSeq}`);
  const random = mulberry32(Number(round) * 7919 + 1);
  let n = 0;
  const one = async (): Promise<void> => {
    for (;;) {
      const id = `r${round}-${n++}`;
      // Mostly small, now and then large: batches of a few MB, so a kill can land inside a write.
      const size = random() < 0.05 ? 20_000 + Math.floor(random() * 100_000) : 100 + Math.floor(random() * 2000);
      const seq = await outbox.append(makeRecord(id, size));
      say(`ok ${seq} ${id}`);
    }
  };
  await Promise.all(Array.from({ length: 200 }, one));
} else if (mode === 'fill') {
  const outbox = await Outbox.open({ dir: dir!, sinks: ['s'], maxBytes: 256 * 1024 * 1024, segmentBytes: 32 * 1024 * 1024, logger });
  let n = 0;
  let rejected = 0;
  // Rounds of 20 concurrent appends of ~10 KiB until a few rounds in a row were refused.
  while (rejected < 60) {
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const id = `f-${n++}`;
        try {
          say(`ok ${await outbox.append(makeRecord(id, 10_000))} ${id}`);
        } catch (err) {
          if (!(err instanceof OutboxRejectedError)) throw err;
          rejected++;
          say(`rejected ${id} ${err.reason}`);
        }
      }),
    );
  }
  await outbox.close();
} else if (mode === 'tear') {
  const outbox = await Outbox.open({ dir: dir!, sinks: ['s'], maxBytes: 1024 * 1024 * 1024, segmentBytes: 256 * 1024 * 1024, logger });
  for (let i = 0; i < 50; i++) {
    const id = `t-${i}`;
    say(`ok ${await outbox.append(makeRecord(id, 500))} ${id}`);
  }
  say(`ready ${outbox.stats().bytesOnDisk}`);
  const big = Buffer.alloc(64 * 1024 * 1024, 0x61);
  await outbox.append({ id: 'big', status: 'processed', interactionId: 'i-big', acceptedAtMs: Date.now(), body: big });
  say('big written');
  setInterval(() => undefined, 60_000);
} else if (mode === 'hold') {
  await Outbox.open({ dir: dir!, sinks: ['s'], maxBytes: 1024 * 1024, logger });
  say('open');
  setInterval(() => undefined, 60_000);
} else {
  throw new Error(`unknown mode ${mode}`);
}
