/** The outbox's record framing and segment header (src/delivery/codec.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import {
  crc32Portable,
  decodeFrame,
  decodeSegmentHeader,
  encodeFrame,
  encodeSegmentHeader,
  findFrameMagic,
  FRAME_OVERHEAD,
  prepareRecord,
  SEGMENT_HEADER_BYTES,
} from '../../src/delivery/codec.js';
import { makeRecord } from './helpers.js';

function frame(id: string, seq: number, size = 50): Buffer {
  const prep = prepareRecord(makeRecord(id, size));
  const out = Buffer.alloc(prep.frameBytes);
  encodeFrame(out, 0, prep, seq);
  return out;
}

describe('outbox codec', () => {
  it('a frame decodes to exactly the record encoded, and says how long it is', () => {
    const rec = makeRecord('ïd-1', 300, { status: 'update', interactionId: 'ünï', acceptedAtMs: 1_765_000_000_001.5 });
    const prep = prepareRecord(rec);
    assert.equal(prep.frameBytes, FRAME_OVERHEAD + Buffer.byteLength('ïd-1') + Buffer.byteLength('ünï') + 300);
    const buf = Buffer.alloc(prep.frameBytes + 7);
    const body = encodeFrame(buf, 7, prep, 2 ** 40 + 3);
    assert.ok(body.equals(rec.body));
    const r = decodeFrame(buf, 7, buf.length);
    assert.equal(r.kind, 'record');
    if (r.kind !== 'record') return;
    assert.equal(r.frameBytes, prep.frameBytes);
    assert.deepEqual({ ...r.record, body: r.record.body.toString('hex') }, { ...rec, seq: 2 ** 40 + 3, body: rec.body.toString('hex') });
  });

  it('a cut-short frame is incomplete (with the size that would complete it); any flipped byte makes it bad', () => {
    const f = frame('x', 9);
    assert.deepEqual(decodeFrame(f, 0, 5), { kind: 'incomplete', needBytes: 12 });
    assert.deepEqual(decodeFrame(f, 0, f.length - 1), { kind: 'incomplete', needBytes: f.length });
    for (let i = 0; i < f.length; i++) {
      const g = Buffer.from(f);
      g[i]! ^= 0x10;
      const r = decodeFrame(g, 0, g.length);
      // A damaged length field may also claim more bytes than there are: never a record.
      assert.notEqual(r.kind, 'record', `byte ${i} flipped`);
    }
  });

  it('findFrameMagic finds the next frame after damage', () => {
    const a = frame('a', 1);
    const b = frame('b', 2);
    const buf = Buffer.concat([a, b]);
    assert.equal(findFrameMagic(buf, 1, buf.length), a.length);
    assert.equal(findFrameMagic(buf, a.length + 1, buf.length), -1);
  });

  it('segment header round trip; damage is named', () => {
    const h = encodeSegmentHeader({ firstSeq: 123_456_789_012, createdAtMs: 1_765_000_000_000 });
    assert.equal(h.length, SEGMENT_HEADER_BYTES);
    assert.deepEqual(decodeSegmentHeader(h), { firstSeq: 123_456_789_012, createdAtMs: 1_765_000_000_000 });
    assert.match(decodeSegmentHeader(h.subarray(0, 10)) as string, /truncated/);
    const bad = Buffer.from(h);
    bad[15]! ^= 1;
    assert.match(decodeSegmentHeader(bad) as string, /checksum/);
    assert.match(decodeSegmentHeader(Buffer.alloc(32)) as string, /magic/);
  });

  it('the portable CRC-32 (for Node < 20.15) agrees with zlib.crc32, chained too', () => {
    assert.equal(crc32Portable(Buffer.from('123456789')), 0xcbf43926);
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff));
    for (const cut of [0, 1, 100, 4999, 5000]) {
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      assert.equal(crc32Portable(b, crc32Portable(a)), zlib.crc32(data));
    }
  });

  it('prepareRecord refuses what cannot be framed', () => {
    assert.throws(() => prepareRecord(makeRecord('x'.repeat(70_000))), /id is longer/);
    assert.throws(() => prepareRecord({ ...makeRecord('x'), status: 'nope' as never }), TypeError);
  });
});
