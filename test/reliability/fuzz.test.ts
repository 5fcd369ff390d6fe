/**
 * Fuzzing the webhook over loopback: 10,000 seeded random bodies (some correctly signed so they
 * reach the parser) and a structured fuzz of field types, sizes and JSON oddities. Every request
 * gets a JSON answer (4xx with an error, or 200 for a valid event), the daemon stays up, rejected
 * requests change no state, and the counters reconcile exactly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../src/http/signature.js';
import type { RawResponse } from '../helpers/raw-http.js';
import { startDaemon, suiteOnWorkers, TEST_SECRET, WEBHOOK_PATH, type RunningDaemon } from '../helpers/daemon.js';
import { buildRequest, KeepAlivePool, runConcurrently } from './helpers/keepalive.js';
import { mulberry32 } from '../helpers/prng.js';

const MAX_BODY = 8192;

const prng = mulberry32;

let d: RunningDaemon;
let pool: KeepAlivePool;

before(async () => {
  d = await startDaemon({ env: { MAX_BODY_BYTES: String(MAX_BODY) } });
  pool = new KeepAlivePool(d.port, 16);
});
after(async () => {
  pool.close();
  await d.stop();
});

interface Counts {
  received: number;
  processed: number;
  deduplicated: number;
  rejected: number;
  cache: number;
  internal: number;
}

async function counts(): Promise<Counts> {
  const s = await d.stats();
  return {
    received: s.eventsReceived,
    processed: s.eventsProcessed,
    deduplicated: s.eventsDeduplicated,
    rejected: s.eventsRejected,
    cache: s.stateCache.size,
    internal: s.rejectedByReason.internal_error,
  };
}

function assertJsonAnswer(r: RawResponse, what: string): void {
  assert.equal(r.headers['content-type'], 'application/json', what);
  if (r.status === 200) {
    assert.ok(r.json?.status === 'processed' || r.json?.status === 'deduplicated', `${what}: ${r.body.slice(0, 200)}`);
  } else {
    assert.ok([400, 401, 403, 413].includes(r.status), `${what}: status ${r.status}`);
    assert.equal(typeof r.json?.error, 'string', `${what}: ${r.body.slice(0, 200)}`);
    assert.ok(r.body.length < 400, `${what}: error bodies stay short`);
  }
}

describe('random bodies', () => {
  it('10,000 seeded random bodies: each answered with a JSON 4xx, nothing stored, counts reconcile', async () => {
    const rand = prng(0xc0ffee);
    const int = (n: number) => Math.floor(rand() * n);
    const JSONISH = Buffer.from('{}[]",:0123456789.eE+-truefalsn \\u"interactionId"payload');
    const requests: Buffer[] = [];
    const kinds = { signed: 0, badSig: 0, garbageSig: 0, unsigned: 0, timestamped: 0, oversized: 0 };
    for (let i = 0; i < 10_000; i++) {
      const roll = rand();
      const size = roll < 0.7 ? int(257) : roll < 0.9 ? 256 + int(3840) : roll < 0.98 ? 4096 + int(MAX_BODY - 4096) : MAX_BODY + 1 + int(12_000);
      if (size > MAX_BODY) kinds.oversized++;
      const body = Buffer.allocUnsafe(size);
      const jsonish = rand() < 0.3;
      for (let j = 0; j < size; j++) body[j] = jsonish ? JSONISH[int(JSONISH.length)]! : int(256);
      const headers: Record<string, string> = { 'content-type': rand() < 0.5 ? 'application/json' : 'application/octet-stream' };
      const s = rand();
      if (s < 0.45) {
        headers['x-nice-signature'] = signRequest(TEST_SECRET, body);
        kinds.signed++;
      } else if (s < 0.55) {
        const ts = String(Math.floor(Date.now() / 1000) - int(1000));
        headers['x-nice-timestamp'] = ts;
        headers['x-nice-signature'] = signRequest(TEST_SECRET, body, ts);
        kinds.timestamped++;
      } else if (s < 0.75) {
        headers['x-nice-signature'] = Array.from({ length: 64 }, () => '0123456789abcdef'[int(16)]).join('');
        kinds.badSig++;
      } else if (s < 0.9) {
        headers['x-nice-signature'] = Array.from({ length: 1 + int(100) }, () => String.fromCharCode(0x21 + int(94))).join('');
        kinds.garbageSig++;
      } else {
        kinds.unsigned++;
      }
      requests.push(buildRequest('POST', WEBHOOK_PATH, headers, body));
    }

    const before = await counts();
    const statuses = new Map<number, number>();
    let accepted = 0;
    await runConcurrently(requests.length, 16, async (i) => {
      const r = await pool.request(requests[i]!);
      assertJsonAnswer(r, `random body #${i}`);
      if (r.status === 200) accepted++;
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    });
    const afterCounts = await counts();

    assert.equal(d.proc.exitCode, null, 'still running');
    assert.equal(accepted, 0, 'random bytes never make a valid event');
    assert.equal(afterCounts.received - before.received, requests.length);
    assert.equal(afterCounts.rejected - before.rejected, requests.length);
    assert.equal(afterCounts.processed, before.processed);
    assert.equal(afterCounts.deduplicated, before.deduplicated);
    assert.equal(afterCounts.cache, before.cache);
    assert.equal(afterCounts.internal, 0);
    assert.equal(afterCounts.received, afterCounts.processed + afterCounts.deduplicated + afterCounts.rejected);
    // Every path was exercised.
    for (const status of [400, 401, 403, 413]) assert.ok((statuses.get(status) ?? 0) > 0, `some ${status}s: ${JSON.stringify([...statuses])} ${JSON.stringify(kinds)}`);
  });
});

describe('structured fuzz', () => {
  const TS = '2026-01-01T00:00:00.000Z';
  const base = (id: string) => ({ interactionId: id, dataActionId: 'da-1', updatedTimestamp: TS, payload: { a: 1 } });
  const nest = (depth: number, open: string, close: string, inner = '1') => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
  let seq = 0;
  const uid = (tag: string) => `fuzz-${tag}-${++seq}`;

  interface Case {
    name: string;
    body: string | Buffer;
    status: 200 | 400 | 413;
    /** For 200 cases: the id, to check dedup and /state afterwards. */
    id?: string;
  }

  function valid(name: string, id: string, extra: (o: Record<string, unknown>) => Record<string, unknown> = (o) => o): Case {
    return { name, body: JSON.stringify(extra(base(id))), status: 200, id };
  }
  function invalid(name: string, patch: Record<string, unknown>): Case {
    return { name, body: JSON.stringify({ ...base(uid('x')), ...patch }), status: 400 };
  }
  const raw = (name: string, body: string | Buffer, status: 400 | 413 = 400): Case => ({ name, body, status });

  const values: Array<[string, unknown]> = [
    ['number', 42],
    ['float', 1.5e308],
    ['negative zero', -0],
    ['true', true],
    ['null', null],
    ['array', ['a']],
    ['empty array', []],
    ['object', { a: 'b' }],
    ['empty string', ''],
  ];

  function cases(): Case[] {
    const out: Case[] = [];
    // Field types, for each identifying field.
    for (const field of ['interactionId', 'dataActionId', 'updatedTimestamp']) {
      for (const [name, v] of values) out.push(invalid(`${field} ${name}`, { [field]: v }));
      out.push(invalid(`${field} 7,000 chars`, { [field]: 'x'.repeat(7000) }));
      out.push(invalid(`${field} lone surrogate`, { [field]: '\ud800abc' }));
      out.push({ name: `${field} missing`, body: JSON.stringify(Object.fromEntries(Object.entries(base(uid('x'))).filter(([k]) => k !== field))), status: 400 });
    }
    out.push(invalid('interactionId 257 chars', { interactionId: 'i'.repeat(257) }));
    for (const ts of ['yesterday', '2026-13-01T00:00:00Z', '2026-01-01T00:00:00', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00.1234567891Z', '2026-01-01T24:00:00Z', '20260101T000000Z', ' 2026-01-01T00:00:00Z']) {
      out.push(invalid(`updatedTimestamp ${JSON.stringify(ts)}`, { updatedTimestamp: ts }));
    }
    for (const [name, v] of values) if (name !== 'object') out.push(invalid(`payload ${name}`, { payload: v }));
    // Nesting near and past the limit.
    const id32 = uid('deep32');
    out.push({ name: 'payload 32 levels', body: `{"interactionId":"${id32}","dataActionId":"d","updatedTimestamp":"${TS}","payload":${nest(32, '{"a":', '}')}}`, status: 200, id: id32 });
    out.push(raw('payload 33 levels', `{"interactionId":"${uid('x')}","dataActionId":"d","updatedTimestamp":"${TS}","payload":${nest(33, '{"a":', '}')}}`));
    out.push(raw('payload 3,000 levels of arrays', `{"interactionId":"${uid('x')}","dataActionId":"d","updatedTimestamp":"${TS}","payload":{"a":${nest(3000, '[', ']')}}}`));
    out.push(raw('top level 4,000 arrays', nest(4000, '[', ']')));
    out.push(raw('unbalanced 5,000 opens', '['.repeat(5000)));
    out.push(raw('past the body limit', JSON.stringify({ ...base(uid('x')), payload: { big: 'x'.repeat(MAX_BODY) } }), 413));
    // Top-level shapes and malformed JSON.
    for (const body of ['[]', '"str"', '42', 'null', 'true', '{}', '']) out.push(raw(`top level ${JSON.stringify(body)}`, body));
    for (const body of ['{"interactionId":"a",}', "{'interactionId':'a'}", '{"a":NaN}', '{"a":1}//c', '{"a":1', '{"a":"\\x"}', '{"a":01}', '\ufeff{"a":1}']) out.push(raw(`malformed ${JSON.stringify(body)}`, body));
    out.push(raw('invalid UTF-8 inside a string', Buffer.concat([Buffer.from('{"interactionId":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(`","dataActionId":"d","updatedTimestamp":"${TS}"}`)])));
    out.push(raw('overlong UTF-8', Buffer.concat([Buffer.from('{"interactionId":"'), Buffer.from([0xc0, 0xaf]), Buffer.from(`","dataActionId":"d","updatedTimestamp":"${TS}"}`)])));
    // Duplicate keys: JSON.parse keeps the last one.
    const dupOk = uid('dup');
    out.push({ name: 'duplicate key, last valid', body: `{"interactionId":5,"interactionId":"${dupOk}","dataActionId":"d","updatedTimestamp":"${TS}"}`, status: 200, id: dupOk });
    out.push(raw('duplicate key, last invalid', `{"interactionId":"${uid('x')}","interactionId":5,"dataActionId":"d","updatedTimestamp":"${TS}"}`));
    // Odd but valid.
    out.push(valid('unicode id', `fuzz-ünï-漢字-🎉-${++seq}`));
    out.push(valid('id of 256 chars', `fuzz-${'y'.repeat(251)}`));
    out.push(valid('id with NUL, quotes, slashes and percent', `fuzz-\u0000"/\\%20?#-${++seq}`));
    out.push(valid('id "__proto__"', '__proto__'));
    out.push(valid('id "constructor"', 'constructor'));
    out.push(valid('id "hasOwnProperty"', 'hasOwnProperty'));
    out.push({ name: '__proto__ inside payload and at the top', body: `{"__proto__":{"polluted":1},"interactionId":"${uid('proto')}","dataActionId":"d","updatedTimestamp":"${TS}","payload":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}`, status: 200, id: `fuzz-proto-${seq}` });
    out.push(valid('every JSON type in payload', uid('types'), (o) => ({ ...o, payload: { s: 'é', n: -1.5e-300, i: 9007199254740993, t: true, f: false, z: null, a: [1, 'a', null, [], {}], o: {} } })));
    out.push(valid('payload omitted', uid('nopayload'), ({ payload: _p, ...o }) => o));
    out.push(valid('unknown top-level fields', uid('extra'), (o) => ({ ...o, extra: 'x'.repeat(1000), more: [1, 2] })));
    out.push(valid('payload near the body limit', uid('big'), (o) => ({ ...o, payload: { big: 'b'.repeat(MAX_BODY - 300) } })));
    out.push(valid('offset timestamp with nanoseconds', uid('ts'), (o) => ({ ...o, updatedTimestamp: '2026-01-01T01:00:00.123456789+01:00' })));
    out.push(valid('leap second', uid('leap'), (o) => ({ ...o, updatedTimestamp: '2016-12-31T23:59:60Z' })));
    return out;
  }

  function post(body: string | Buffer): Buffer {
    return buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', 'x-nice-signature': signRequest(TEST_SECRET, body) }, body);
  }

  it('field types, sizes, nesting, duplicate keys, __proto__, unicode: 200 or a 400/413 naming the problem; rejected ones change nothing', async () => {
    const all = cases();
    const validCases = all.filter((c) => c.status === 200);
    assert.ok(all.length >= 80 && validCases.length >= 12, `${all.length} cases, ${validCases.length} valid`);
    const before = await counts();
    await runConcurrently(all.length, 8, async (i) => {
      const c = all[i]!;
      const r = await pool.request(post(c.body));
      assertJsonAnswer(r, c.name);
      assert.equal(r.status, c.status, `${c.name}: ${r.body.slice(0, 200)}`);
      if (c.status === 200) assert.equal(r.json.status, 'processed', c.name);
    });
    const mid = await counts();
    assert.equal(mid.processed - before.processed, validCases.length);
    assert.equal(mid.deduplicated, before.deduplicated);
    // With worker threads the states are in Redis, not in a cache here: GET /state below checks them.
    if (!suiteOnWorkers) assert.equal(mid.cache - before.cache, validCases.length, 'only valid events are stored');
    assert.equal(mid.rejected - before.rejected, all.length - validCases.length);
    assert.equal(mid.internal, 0);

    // The valid ones are remembered exactly: duplicates on resend, state served as sent.
    for (const c of validCases) {
      const r = await pool.request(post(c.body));
      assert.equal(r.json?.status, 'deduplicated', c.name);
      const state = await pool.request(buildRequest('GET', `/state/${encodeURIComponent(c.id!)}`, {}));
      assert.equal(state.status, 200, c.name);
      assert.equal(state.json.interactionId, c.id, c.name);
    }
    const proto = (await pool.request(buildRequest('GET', `/state/${encodeURIComponent(validCases.find((c) => c.name.startsWith('__proto__'))!.id!)}`, {}))).json;
    assert.deepEqual(proto.payload.__proto__, { polluted: 1 }, '__proto__ is kept as plain data');
    assert.equal(proto.polluted, undefined);

    const end = await counts();
    assert.equal(end.deduplicated - mid.deduplicated, validCases.length);
    assert.equal(end.received, end.processed + end.deduplicated + end.rejected);
    assert.equal((await d.get('/healthz')).status, 200);
    assert.ok(!d.logs.some((l) => /uncaught|unhandled|handler failed/.test(l.msg)), d.logText());
  });
});
