/**
 * Recovery at open (src/delivery/recovery.ts) from hand-made damage: torn tails of every shape,
 * damage in the middle of a segment, a segment cut short at creation, an unreadable cursor file.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeFrame, encodeSegmentHeader, SEGMENT_HEADER_BYTES } from '../../src/delivery/codec.js';
import { Outbox } from '../../src/delivery/outbox.js';
import { segmentName } from '../../src/delivery/segment-file.js';
import { bodyIntact, captureLogger, makeRecord, segmentFiles, take, tempDir, type LogLine } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('cxone-outbox-recovery-');
});
after(() => tmp.cleanup());

const SEGMENT = 1024 * 1024;

async function open(dir: string) {
  const { logger, lines } = captureLogger();
  const outbox = await Outbox.open({ dir, sinks: ['a'], maxBytes: 64 * 1024 * 1024, segmentBytes: SEGMENT, logger });
  return { outbox, lines };
}

/** A closed outbox holding `n` records `<prefix>-<i>` (seqs 1..n) in one segment; returns its segment file. */
async function filled(prefix: string, n: number): Promise<{ dir: string; file: string }> {
  const dir = tmp.fresh();
  const { outbox } = await open(dir);
  for (let i = 0; i < n; i++) await outbox.append(makeRecord(`${prefix}-${i}`, 300 + i));
  await outbox.close();
  const files = segmentFiles(dir);
  assert.equal(files.length, 1);
  return { dir, file: path.join(dir, files[0]!) };
}

/** Frame offsets of a segment file, by walking it with the codec. */
function frames(file: string): Array<{ offset: number; bytes: number; seq: number }> {
  const b = readFileSync(file);
  const out = [];
  for (let at = SEGMENT_HEADER_BYTES; at < b.length; ) {
    const r = decodeFrame(b, at, b.length);
    assert.equal(r.kind, 'record');
    if (r.kind !== 'record') break;
    out.push({ offset: at, bytes: r.frameBytes, seq: r.record.seq });
    at += r.frameBytes;
  }
  return out;
}

function flipByte(file: string, at: number): void {
  const b = readFileSync(file);
  b[at]! ^= 0xff;
  writeFileSync(file, b);
}

const warnings = (lines: LogLine[]) => lines.filter((l) => l.level === 'warn' || l.level === 'error');

async function expectRecords(outbox: Outbox, names: string[]): Promise<void> {
  const got = await take(outbox, 'a', names.length);
  assert.deepEqual(got.map((r) => r.id), names);
  assert.ok(got.every((r) => bodyIntact(r.id, r.body)), 'bodies intact');
  assert.equal(outbox.stats().sinks.a!.queuedRecords, names.length, 'and nothing else');
}

const names = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);

describe('outbox recovery', () => {
  const tornTails: Array<[string, (file: string, size: number) => void]> = [
    ['five bytes of a frame header', (f) => appendFileSync(f, Buffer.from([0xde, 0xc0, 0xd1, 0x0b, 0x40]))],
    [
      'a frame header promising more bytes than follow',
      (f) => {
        const b = readFileSync(f);
        const last = frames(f).at(-1)!;
        appendFileSync(f, b.subarray(last.offset, last.offset + Math.floor(last.bytes / 2)));
      },
    ],
    ['4 KiB of zeros (a file extended but never written)', (f) => appendFileSync(f, Buffer.alloc(4096))],
  ];
  for (const [what, damage] of tornTails) {
    it(`a torn tail (${what}) is cut off with one log line; every earlier record is kept`, async () => {
      const { dir, file } = await filled('t', 20);
      const size = statSync(file).size;
      damage(file, size);
      assert.ok(statSync(file).size > size);
      const { outbox, lines } = await open(dir);
      assert.equal(warnings(lines).length, 1, JSON.stringify(lines));
      const [line] = warnings(lines);
      assert.equal(line!.level, 'warn');
      assert.match(line!.msg, /cut a torn record off the end/);
      assert.equal(line!.offset, size);
      assert.equal(statSync(file).size, size, 'cut back to the last whole record');
      assert.equal(outbox.stats().recovery.tornTailsCut, 1);
      await expectRecords(outbox, names('t', 0, 20));
      assert.equal(await outbox.append(makeRecord('next')), 21);
      await outbox.close();
      const again = await open(dir);
      assert.equal(warnings(again.lines).length, 0, 'clean on the next open');
      await again.outbox.close();
    });
  }

  it('a last record with a bad checksum is cut off like a torn one', async () => {
    const { dir, file } = await filled('c', 10);
    const last = frames(file).at(-1)!;
    flipByte(file, last.offset + last.bytes - 3);
    const { outbox, lines } = await open(dir);
    assert.equal(warnings(lines).length, 1);
    assert.equal(warnings(lines)[0]!.reason, 'frame checksum mismatch');
    assert.equal(statSync(file).size, last.offset);
    await expectRecords(outbox, names('c', 0, 9));
    await outbox.close();
  });

  it('damage in the middle of a segment: one error line naming it; the records around it are kept; the original is kept aside', async () => {
    const { dir, file } = await filled('m', 30);
    const f = frames(file);
    flipByte(file, f[9]!.offset + 40); // inside seq 10's payload
    const { outbox, lines } = await open(dir);
    assert.equal(warnings(lines).length, 1, JSON.stringify(lines));
    const [line] = warnings(lines);
    assert.equal(line!.level, 'error');
    assert.match(line!.msg, /damaged segment was repaired/);
    assert.equal(line!.lostSeqs, '10');
    assert.equal(line!.recordsKept, 29);
    assert.deepEqual((line!.damage as Array<{ offset: number }>)[0]!.offset, f[9]!.offset);
    const kept = readdirSync(dir).filter((n) => n.includes('.corrupt-'));
    assert.equal(kept.length, 1);
    assert.equal(outbox.stats().recovery.damagedSegments, 1);
    await expectRecords(outbox, [...names('m', 0, 9), ...names('m', 10, 30)]);
    assert.equal(await outbox.append(makeRecord('next')), 31, 'seqs go on after the highest kept');
    await outbox.close();
    const again = await open(dir);
    assert.equal(warnings(again.lines).length, 0);
    await again.outbox.close();
  });

  it('a damaged segment header: the records are recovered by scanning, the segment rewritten', async () => {
    const { dir, file } = await filled('h', 5);
    flipByte(file, 14);
    const { outbox, lines } = await open(dir);
    assert.equal(warnings(lines).length, 1);
    assert.equal(warnings(lines)[0]!.header, 'header checksum mismatch');
    await expectRecords(outbox, names('h', 0, 5));
    await outbox.close();
  });

  it('a segment cut short inside its header (a crash while creating it) is removed with one line', async () => {
    const { dir } = await filled('s', 5);
    const stub = path.join(dir, segmentName(6));
    writeFileSync(stub, encodeSegmentHeader({ firstSeq: 6, createdAtMs: Date.now() }).subarray(0, 11));
    const { outbox, lines } = await open(dir);
    assert.equal(warnings(lines).length, 1);
    assert.match(warnings(lines)[0]!.msg, /cut short inside its header/);
    assert.deepEqual(segmentFiles(dir), [segmentName(1)]);
    await expectRecords(outbox, names('s', 0, 5));
    assert.equal(await outbox.append(makeRecord('next')), 6);
    await outbox.close();
  });

  it('an empty newest segment (created, nothing written yet) is simply used', async () => {
    const { dir } = await filled('e', 3);
    writeFileSync(path.join(dir, segmentName(4)), encodeSegmentHeader({ firstSeq: 4, createdAtMs: Date.now() }));
    const { outbox, lines } = await open(dir);
    assert.equal(warnings(lines).length, 0);
    assert.equal(await outbox.append(makeRecord('next')), 4);
    await outbox.close();
    assert.equal(statSync(path.join(dir, segmentName(4))).size > SEGMENT_HEADER_BYTES, true);
  });

  it('an unreadable cursor file: one warning, every record on disk is handed again', async () => {
    const dir = tmp.fresh();
    const first = await open(dir);
    for (let i = 0; i < 4; i++) await first.outbox.append(makeRecord(`u-${i}`));
    for (const r of await take(first.outbox, 'a', 4)) first.outbox.ack('a', r.seq);
    await first.outbox.close();
    writeFileSync(path.join(dir, 'cursors.json'), '{"format":"cxone-dedup-outbox-cursors","vers');
    const { outbox, lines } = await open(dir);
    assert.equal(warnings(lines).length, 1);
    assert.match(warnings(lines)[0]!.msg, /cursor file unreadable/);
    await expectRecords(outbox, names('u', 0, 4));
    await outbox.close();
  });

  it('a torn tail in an older segment (not a crash pattern) is cut off with one error line', async () => {
    const dir = tmp.fresh();
    const { logger } = captureLogger();
    const first = await Outbox.open({ dir, sinks: ['a'], maxBytes: 1024 * 1024, segmentBytes: 4096, logger });
    for (let i = 0; i < 30; i++) await first.append(makeRecord(`o-${i}`, 500));
    await first.close();
    const files = segmentFiles(dir);
    assert.ok(files.length >= 3);
    const older = path.join(dir, files[0]!);
    const f = frames(older);
    truncateSync(older, f.at(-1)!.offset + 10);
    const { outbox, lines } = await open(dir);
    assert.equal(warnings(lines).length, 1, JSON.stringify(lines));
    assert.equal(warnings(lines)[0]!.level, 'error');
    const lost = `o-${f.at(-1)!.seq - 1}`;
    await expectRecords(outbox, names('o', 0, 30).filter((n) => n !== lost));
    await outbox.close();
  });
});
