import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeadLetterFile, deadLetterBody, defaultDeadLetterPath, formatDeadLetter, type DeadLetter, type DeadLetterLine } from '../../src/delivery/dead-letter.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';

function record(seq: number, body: Buffer | string, over: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return { seq, id: `id-${seq}`, status: 'processed', interactionId: `i-${seq}`, acceptedAtMs: Date.UTC(2030, 0, 1), body: Buffer.isBuffer(body) ? body : Buffer.from(body), ...over };
}

function entry(r: DeliveryRecord, over: Partial<DeadLetter> = {}): DeadLetter {
  return { sink: 'http', record: r, attempts: 3, error: 'HTTP 400 Bad Request from http://127.0.0.1:1/hook', atMs: Date.UTC(2030, 0, 1, 0, 5), ...over };
}

function readLines(file: string): DeadLetterLine[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as DeadLetterLine);
}

describe('dead-letter file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dead-letter-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('one line per entry: the record, attempts, last error and time; a JSON body as its exact text', () => {
    const body = '{ "interactionId": "i-1",\n  "payload": {"é": "ü"} }';
    const line = formatDeadLetter(entry(record(7, body, { status: 'update' }), { detail: 'downstream said no' }));
    assert.ok(line.endsWith('\n'));
    assert.equal(line.indexOf('\n'), line.length - 1, 'a body with newlines still makes one line');
    const parsed = JSON.parse(line) as DeadLetterLine;
    assert.deepEqual(parsed, {
      time: '2030-01-01T00:05:00.000Z',
      sink: 'http',
      seq: 7,
      id: 'id-7',
      status: 'update',
      interactionId: 'i-7',
      acceptedAt: '2030-01-01T00:00:00.000Z',
      acceptedAtMs: Date.UTC(2030, 0, 1),
      attempts: 3,
      error: 'HTTP 400 Bad Request from http://127.0.0.1:1/hook',
      detail: 'downstream said no',
      bodyEncoding: 'json',
      body,
    });
    assert.deepEqual(deadLetterBody(parsed), Buffer.from(body));
  });

  it('a body that is not valid UTF-8 JSON is kept as base64, byte for byte', () => {
    for (const body of [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), Buffer.from('not json at all'), Buffer.from('{"truncated": ')]) {
      const parsed = JSON.parse(formatDeadLetter(entry(record(1, body)))) as DeadLetterLine;
      assert.equal(parsed.bodyEncoding, 'base64');
      assert.deepEqual(deadLetterBody(parsed), body);
    }
  });

  it('appends (group-committed) create the directory, keep every entry, and are private to the owner', async () => {
    const file = path.join(dir, 'nested', 'outbox', 'dead-letter.ndjson');
    const dlq = new DeadLetterFile(file);
    await Promise.all(Array.from({ length: 50 }, (_, i) => dlq.append(entry(record(i + 1, `{"n":${i}}`)))));
    await dlq.append(entry(record(51, '{"n":50}')));
    await dlq.close();
    const lines = readLines(file);
    assert.deepEqual(lines.map((l) => l.seq), Array.from({ length: 51 }, (_, i) => i + 1));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    await assert.rejects(dlq.append(entry(record(52, '{}'))), /closed/);
  });

  it('an append made the moment the previous one resolves is written too (none stranded between two drains)', async () => {
    const file = path.join(dir, 'chained.ndjson');
    const dlq = new DeadLetterFile(file);
    let chained: Promise<void> | undefined;
    await dlq.append(entry(record(1, '{}'))).then(() => {
      chained = dlq.append(entry(record(2, '{}')));
    });
    await chained;
    await dlq.close();
    assert.deepEqual(readLines(file).map((l) => l.seq), [1, 2]);
  });

  it('a torn last line (crash mid-append) is left alone and the next entry starts on a fresh line', async () => {
    const file = path.join(dir, 'torn.ndjson');
    writeFileSync(file, `${formatDeadLetter(entry(record(1, '{}')))}{"time":"2030-01-01T00:0`);
    const dlq = new DeadLetterFile(file);
    await dlq.append(entry(record(2, '{}')));
    await dlq.close();
    const raw = readFileSync(file, 'utf8').split('\n');
    assert.equal(raw.length, 4);
    assert.equal(JSON.parse(raw[0]!).seq, 1);
    assert.equal(raw[1], '{"time":"2030-01-01T00:0');
    assert.equal(JSON.parse(raw[2]!).seq, 2);
    assert.equal(raw[3], '');
  });

  it('a write that fails rejects (so the record is not acked), and the file works again once the cause is gone', async () => {
    const file = path.join(dir, 'blocked', 'dead-letter.ndjson');
    mkdirSync(file, { recursive: true }); // a directory where the file should be
    const dlq = new DeadLetterFile(file);
    await assert.rejects(dlq.append(entry(record(1, '{}'))), (err: NodeJS.ErrnoException) => err.code === 'EISDIR');
    rmSync(file, { recursive: true });
    await dlq.append(entry(record(2, '{}')));
    await dlq.close();
    assert.deepEqual(readLines(file).map((l) => l.seq), [2]);
  });

  it('the default path sits in the outbox directory', () => {
    assert.equal(defaultDeadLetterPath('/var/lib/cxone-dedup/outbox'), '/var/lib/cxone-dedup/outbox/dead-letter.ndjson');
    assert.throws(() => new DeadLetterFile(''), /non-empty/);
  });
});
