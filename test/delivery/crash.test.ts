/**
 * Crash safety with real processes: a child appends as fast as it can and prints every seq whose
 * append resolved; it is killed with SIGKILL at a random moment; the directory is reopened and
 * every acknowledged record must be there, intact. Also: a disk that refuses writes (RLIMIT_FSIZE)
 * and a second daemon on the same directory.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { OutboxLockedError } from '../../src/delivery/errors.js';
import { Outbox } from '../../src/delivery/outbox.js';
import { scanSegment } from '../../src/delivery/segment-file.js';
import { mulberry32 } from '../helpers/prng.js';
import { until } from '../helpers/wait.js';
import { bodyIntact, captureLogger, segmentFiles, take, tempDir, type LogLine } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = path.join('test', 'delivery', 'child.ts');

let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('cxone-outbox-crash-');
});
after(() => tmp.cleanup());

interface Child {
  proc: ChildProcess;
  /** stdout lines as they arrive. */
  lines: string[];
  logs: LogLine[];
  /** Resolves once a line matches. */
  waitFor(test: (line: string, count: number) => boolean): Promise<void>;
  /** After the process ended and its output was read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(args: string[], shellPrefix?: string): Child {
  const command = [process.execPath, '--import', 'tsx', CHILD, ...args];
  const proc = shellPrefix
    ? spawn('bash', ['-c', `${shellPrefix}; exec "$@"`, 'bash', ...command], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command[0]!, command.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const logs: LogLine[] = [];
  const watchers = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of [...watchers]) w();
  });
  createInterface({ input: proc.stderr! }).on('line', (l) => {
    try {
      logs.push(JSON.parse(l) as LogLine);
    } catch {
      logs.push({ level: 'stderr', msg: l });
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
  const waitFor = (test: (line: string, count: number) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (lines.length > 0 && test(lines[lines.length - 1]!, lines.length)) {
          watchers.delete(check);
          resolve();
        }
      };
      watchers.add(check);
      check();
      void exited.then((e) => {
        watchers.delete(check);
        reject(new Error(`child exited (${JSON.stringify(e)}) before the expected output; logs: ${JSON.stringify(logs.slice(-5))}`));
      });
    });
  return { proc, lines, logs, waitFor, exited };
}

/** Whether the newest segment ends in something that is not a whole record. */
async function newestHasTornTail(dir: string): Promise<boolean> {
  const files = segmentFiles(dir);
  const file = path.join(dir, files[files.length - 1]!);
  const fh = await openFile(file, 'r');
  try {
    const size = statSync(file).size;
    const scan = await scanSegment(fh, size, Number(files[files.length - 1]!.slice(4, 24)), []);
    return scan.tail !== null;
  } finally {
    await fh.close();
  }
}

const cutLines = (logs: LogLine[]) => logs.filter((l) => /torn record/.test(l.msg));

describe('outbox crash safety (real kill -9)', () => {
  it('every append acknowledged before SIGKILL is on disk and intact after a restart, over several crashes', { timeout: 180_000 }, async (t) => {
    const dir = tmp.fresh();
    const seed = Number(process.env.OUTBOX_CRASH_SEED ?? Date.now() % 100_000);
    t.diagnostic(`seed ${seed} (OUTBOX_CRASH_SEED to repeat)`);
    const random = mulberry32(seed);
    const acked = new Map<number, string>(); // seq → id
    let tornSeen = 0;
    let previousMax = 0;
    for (let round = 0; round < 4; round++) {
      const torn = round > 0 && (await newestHasTornTail(dir));
      const child = startChild(['append', dir, String(round)]);
      await child.waitFor((l) => l.startsWith('open '));
      const target = 100 + Math.floor(random() * 3000);
      await child.waitFor((_, n) => n > target);
      child.proc.kill('SIGKILL');
      assert.deepEqual(await child.exited, { code: null, signal: 'SIGKILL' });
      // The open of this round recovered what the previous kill left: one line if the tail was torn.
      assert.equal(cutLines(child.logs).length, torn ? 1 : 0, `round ${round}: ${JSON.stringify(child.logs.slice(0, 5))}`);
      assert.equal(child.logs.filter((l) => l.level === 'error').length, 0, JSON.stringify(child.logs));
      if (torn) tornSeen++;
      let roundMin = Infinity;
      for (const line of child.lines.slice(1)) {
        const m = /^ok (\d+) (\S+)$/.exec(line);
        if (!m) continue; // a line cut by the kill
        const seq = Number(m[1]);
        assert.equal(acked.has(seq), false, `seq ${seq} acknowledged twice`);
        acked.set(seq, m[2]!);
        roundMin = Math.min(roundMin, seq);
      }
      assert.ok(roundMin > previousMax, `round ${round} starts at seq ${roundMin}, after ${previousMax}`);
      previousMax = Math.max(...acked.keys());
      t.diagnostic(`round ${round}: ${child.lines.length - 1} acknowledged, killed${torn ? '; the previous kill left a torn tail' : ''}`);
    }
    const torn = await newestHasTornTail(dir);
    const { logger, lines } = captureLogger();
    const outbox = await Outbox.open({ dir, sinks: ['s'], maxBytes: 512 * 1024 * 1024, segmentBytes: 4 * 1024 * 1024, logger });
    try {
      assert.equal(cutLines(lines).length, torn ? 1 : 0);
      if (torn) tornSeen++;
      assert.equal(lines.filter((l) => l.level === 'error').length, 0);
      const queued = outbox.stats().sinks.s!.queuedRecords;
      assert.ok(queued >= acked.size, `${queued} records on disk, ${acked.size} acknowledged`);
      const all = await take(outbox, 's', queued);
      const bySeq = new Map(all.map((r) => [r.seq, r]));
      for (let i = 1; i < all.length; i++) assert.ok(all[i]!.seq > all[i - 1]!.seq, 'seqs increase');
      let missing = 0;
      let damaged = 0;
      for (const [seq, id] of acked) {
        const r = bySeq.get(seq);
        if (r === undefined || r.id !== id) missing++;
        else if (!bodyIntact(id, r.body)) damaged++;
      }
      assert.deepEqual({ missing, damaged }, { missing: 0, damaged: 0 }, `${acked.size} acknowledged`);
      // Records on disk that were never acknowledged are those in flight at a kill: allowed (at-least-once).
      t.diagnostic(`${acked.size} acknowledged, all present; ${all.length - acked.size} unacknowledged also on disk; torn tails cut: ${tornSeen}`);
    } finally {
      await outbox.close();
    }
  });

  it('SIGKILL in the middle of a large write: the torn record is cut off with one line, the records before it are intact', { timeout: 60_000 }, async (t) => {
    const dir = tmp.fresh();
    const child = startChild(['tear', dir]);
    await child.waitFor((l) => l.startsWith('ready '));
    const before = Number(child.lines.at(-1)!.slice(6));
    const [segment] = segmentFiles(dir);
    const file = path.join(dir, segment!);
    // Killed as soon as the 64 MB write has begun to land (polling the size, no fixed sleep).
    await until('the big write to start', () => statSync(file).size > before, 30_000, 0);
    child.proc.kill('SIGKILL');
    await child.exited;
    const sizeAfterKill = statSync(file).size;
    const torn = await newestHasTornTail(dir);
    t.diagnostic(torn ? `killed ${sizeAfterKill - before} bytes into the write: torn` : 'the write completed before the kill landed');
    const { logger, lines } = captureLogger();
    const outbox = await Outbox.open({ dir, sinks: ['s'], maxBytes: 1024 * 1024 * 1024, segmentBytes: 256 * 1024 * 1024, logger });
    try {
      assert.equal(cutLines(lines).length, torn ? 1 : 0, JSON.stringify(lines));
      assert.equal(lines.filter((l) => l.level === 'error').length, 0);
      if (torn) assert.equal(statSync(file).size, before, 'cut back to the end of the last whole record');
      const acknowledged = child.lines.filter((l) => l.startsWith('ok ')).map((l) => l.split(' ')[2]!);
      assert.equal(acknowledged.length, 50);
      const all = await take(outbox, 's', outbox.stats().sinks.s!.queuedRecords);
      assert.deepEqual(all.slice(0, 50).map((r) => r.id), acknowledged);
      assert.ok(all.slice(0, 50).every((r) => bodyIntact(r.id, r.body)));
      assert.equal(all.length, torn ? 50 : 51);
      assert.equal(await outbox.append({ id: 'after', status: 'update', interactionId: 'i', acceptedAtMs: Date.now(), body: Buffer.from('{}') }), all.length + 1);
    } finally {
      await outbox.close();
    }
  });

  it('a write the disk refuses (file size limit) rejects its appends as disk_error, and leaves none of them behind', { timeout: 60_000 }, async () => {
    const dir = tmp.fresh();
    // 1 MiB per file: the segment grows until a batch crosses it; the write is cut short there.
    const child = startChild(['fill', dir], 'ulimit -f 1024');
    const exit = await child.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, JSON.stringify(child.logs.slice(-5)));
    const ok = new Map<number, string>();
    const rejected: string[] = [];
    for (const line of child.lines) {
      const m = /^ok (\d+) (\S+)$/.exec(line);
      if (m) ok.set(Number(m[1]), m[2]!);
      const r = /^rejected (\S+) (\S+)$/.exec(line);
      if (r) {
        assert.equal(r[2], 'disk_error');
        rejected.push(r[1]!);
      }
    }
    assert.ok(ok.size > 50 && rejected.length >= 60, `${ok.size} ok, ${rejected.length} rejected`);
    const errors = child.logs.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, 'one error line for a streak of failures');
    assert.match(errors[0]!.msg, /write failed/);

    const { logger, lines } = captureLogger();
    const outbox = await Outbox.open({ dir, sinks: ['s'], maxBytes: 256 * 1024 * 1024, segmentBytes: 32 * 1024 * 1024, logger });
    try {
      assert.equal(lines.filter((l) => l.level !== 'info').length, 0, 'the failed writes were cut off before close: nothing torn');
      const all = await take(outbox, 's', outbox.stats().sinks.s!.queuedRecords);
      assert.deepEqual(
        all.map((r) => [r.seq, r.id]),
        [...ok].sort((a, b) => a[0] - b[0]),
      );
      assert.ok(all.every((r) => bodyIntact(r.id, r.body)));
      assert.equal(await outbox.append({ id: 'next', status: 'processed', interactionId: 'i', acceptedAtMs: Date.now(), body: Buffer.from('{}') }), ok.size + 1);
    } finally {
      await outbox.close();
    }
  });

  it('a second daemon on the same directory is refused while the first runs, and takes over after it is killed', { timeout: 60_000 }, async () => {
    const dir = tmp.fresh();
    const holder = startChild(['hold', dir]);
    try {
      await holder.waitFor((l) => l === 'open');
      const { logger, lines } = captureLogger();
      await assert.rejects(Outbox.open({ dir, sinks: ['s'], maxBytes: 1 << 20, logger }), (err: unknown) => {
        assert.ok(err instanceof OutboxLockedError);
        assert.match(err.message, new RegExp(`OUTBOX_DIR .* is in use by another cxone-dedup \\(pid ${holder.proc.pid} on this host.*another OUTBOX_DIR`));
        return true;
      });
      holder.proc.kill('SIGKILL');
      await holder.exited;
      const outbox = await Outbox.open({ dir, sinks: ['s'], maxBytes: 1 << 20, logger });
      assert.equal(lines.filter((l) => /took over a stale lock/.test(l.msg)).length, 1);
      await outbox.close();
    } finally {
      holder.proc.kill('SIGKILL');
    }
  });
});
