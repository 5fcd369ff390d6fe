/** The JSON-lines logger: what a field's value becomes on the line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../src/log.js';

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => raw.push(line) });
  return { log, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it('logs a Date as its ISO 8601 string, wherever it sits (not as {})', () => {
    const { log, lines } = capture();
    const at = new Date(Date.UTC(2026, 10, 28, 9, 30, 15, 250));
    log.info('compaction', { timestamp: at, nested: { when: at }, list: [at] });
    log.child({ since: at }).warn('child');
    const [first, second] = lines();
    assert.equal(first!.timestamp, '2026-11-28T09:30:15.250Z');
    assert.deepEqual(first!.nested, { when: '2026-11-28T09:30:15.250Z' });
    assert.deepEqual(first!.list, ['2026-11-28T09:30:15.250Z']);
    assert.equal(second!.since, '2026-11-28T09:30:15.250Z');
  });

  it('an invalid Date says so instead of throwing (toISOString would throw a RangeError)', () => {
    const { log, lines } = capture();
    log.info('x', { at: new Date(Number.NaN) });
    assert.equal(lines()[0]!.at, 'Invalid Date');
  });

  it('other values keep their shape: strings capped, errors named, bigints as text', () => {
    const { log, lines } = capture();
    log.error('x', { s: 'a'.repeat(600), err: Object.assign(new Error('boom'), { code: 'E_X' }), n: 12n, o: { a: 1 } });
    const line = lines()[0]!;
    assert.match(String(line.s), /^a{512}…\(600 chars\)$/);
    assert.deepEqual(line.err, { name: 'Error', message: 'boom', code: 'E_X' });
    assert.equal(line.n, '12');
    assert.deepEqual(line.o, { a: 1 });
  });
});
