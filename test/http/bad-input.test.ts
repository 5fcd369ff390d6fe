/** Every class of bad input gets its status and a JSON error, and changes no state. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { makeEvent, startDaemon, WEBHOOK_PATH, type RunningDaemon } from '../helpers/daemon.js';
import { signRequest } from '../../src/http/signature.js';
import { RawConnection } from '../helpers/raw-http.js';

const LIMIT = 64 * 1024;

/** Streams `total` bytes in 16 KiB chunks with Content-Length (or chunked), collecting the answer or the socket error. */
function streamBody(
  port: number,
  total: number,
  opts: { chunked?: boolean; signature?: string; connection: 'close' | 'keep-alive' },
): Promise<{ status?: number; body?: string; error?: string; sent: number; sentAtResponse?: number }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (opts.signature !== '') headers['x-nice-signature'] = opts.signature ?? 'a'.repeat(64);
    if (!opts.chunked) headers['content-length'] = total;
    const agent = opts.connection === 'close' ? false : new http.Agent({ keepAlive: true });
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: WEBHOOK_PATH, headers, agent });
    let sent = 0;
    let sentAtResponse: number | undefined;
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let done = false;
    const finish = (r: { status?: number; body?: string; error?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      if (agent) agent.destroy();
      resolve({ ...r, sent, ...(sentAtResponse !== undefined && { sentAtResponse }) });
    };
    const timer = setTimeout(() => finish({ error: 'timeout' }), 15_000);
    req.on('response', (res) => {
      sentAtResponse = sent;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => finish({ status: res.statusCode!, body }));
      res.on('error', (e) => finish({ error: `response: ${(e as NodeJS.ErrnoException).code ?? e.message}` }));
    });
    req.on('error', (e) => finish({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    const pump = () => {
      while (!done && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!done) req.end();
    };
    pump();
  });
}

describe('bad input', () => {
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ env: { MAX_BODY_BYTES: String(LIMIT) } });
  });
  after(async () => {
    await d?.stop();
  });

  /** Posts, checks status + JSON error, and that neither state nor processed counters moved. */
  async function rejects(body: unknown, status: number, opts: Parameters<RunningDaemon['post']>[1] & { field?: string; match?: RegExp; id?: string } = {}) {
    const before = await d.stats();
    const res = await d.post(body, opts);
    assert.equal(res.status, status, `status for ${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(res.json)}`);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(typeof res.json?.error, 'string', 'JSON error body');
    assert.ok(res.json.error.length < 300, 'error message stays short');
    if (opts.field) assert.equal(res.json.field, opts.field);
    if (opts.match) assert.match(res.json.error, opts.match);
    const after = await d.stats();
    assert.equal(after.eventsProcessed, before.eventsProcessed);
    assert.equal(after.eventsDeduplicated, before.eventsDeduplicated);
    assert.equal(after.stateCache.size, before.stateCache.size);
    assert.equal(after.filter.activeInsertions, before.filter.activeInsertions);
    assert.equal(after.eventsRejected, before.eventsRejected + 1);
    if (opts.id) assert.equal((await d.get(`/state/${encodeURIComponent(opts.id)}`)).status, 404);
    return res;
  }

  it('403 without X-NICE-Signature, 401 with a wrong or malformed one', async () => {
    const e = makeEvent();
    await rejects(e, 403, { signature: null, id: e.interactionId as string, match: /signature/i });
    await rejects(e, 401, { signature: 'f'.repeat(64), id: e.interactionId as string });
    await rejects(e, 401, { signature: 'not-hex', id: e.interactionId as string });
    await rejects(e, 401, { signature: signRequest(d.secret, JSON.stringify(e)).slice(0, 63), id: e.interactionId as string });
    // Signed with another secret.
    await rejects(e, 401, { signature: signRequest('another-secret-0123456789', JSON.stringify(e)), id: e.interactionId as string });
    // Signature over different bytes than those sent (whitespace added).
    await rejects(JSON.stringify(e) + ' ', 401, { signature: signRequest(d.secret, JSON.stringify(e)), id: e.interactionId as string });
    // Uppercase hex of the right digest is the same bytes: accepted.
    const ok = await d.post(e, { signature: signRequest(d.secret, JSON.stringify(e)).toUpperCase() });
    assert.equal(ok.status, 200);
  });

  it('400 on malformed JSON and on bodies that are not an object', async () => {
    for (const body of ['', '{', '{"interactionId": }', 'null x', '\u0000', Buffer.from([0xff, 0xfe, 0x7b, 0x7d])]) {
      await rejects(body, 400);
    }
    for (const body of ['[]', '"str"', '42', 'null', 'true']) await rejects(body, 400, { match: /object/ });
  });

  it('400 naming the field for each invalid field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ interactionId: undefined }, 'interactionId'],
      [{ interactionId: '' }, 'interactionId'],
      [{ interactionId: 42 }, 'interactionId'],
      [{ interactionId: null }, 'interactionId'],
      [{ interactionId: 'x'.repeat(257) }, 'interactionId'],
      [{ interactionId: 'a\ud800b' }, 'interactionId'],
      [{ dataActionId: '\udc00' }, 'dataActionId'],
      [{ dataActionId: undefined }, 'dataActionId'],
      [{ dataActionId: ['a'] }, 'dataActionId'],
      [{ dataActionId: '' }, 'dataActionId'],
      [{ updatedTimestamp: undefined }, 'updatedTimestamp'],
      [{ updatedTimestamp: 'yesterday' }, 'updatedTimestamp'],
      [{ updatedTimestamp: '2026-02-30T00:00:00Z' }, 'updatedTimestamp'],
      [{ updatedTimestamp: '2026-01-01T24:00:00Z' }, 'updatedTimestamp'],
      [{ updatedTimestamp: '2026-01-01T00:00:00' }, 'updatedTimestamp'],
      [{ updatedTimestamp: 1735689600 }, 'updatedTimestamp'],
      [{ payload: [] }, 'payload'],
      [{ payload: 'text' }, 'payload'],
      [{ payload: null }, 'payload'],
    ];
    for (const [patch, field] of cases) {
      const e = { ...makeEvent(), ...patch };
      const body = JSON.stringify(e);
      await rejects(body, 400, { field, match: new RegExp(field), id: typeof e.interactionId === 'string' && e.interactionId.length > 0 && e.interactionId.length <= 256 && !/[\ud800-\udfff]/.test(e.interactionId) ? e.interactionId : undefined });
    }
  });

  it('accepts payload nested 32 deep, refuses 33 and 10,000 levels', async () => {
    const nest = (n: number) => {
      let p: Record<string, unknown> = {};
      for (let i = 1; i < n; i++) p = { a: p };
      return p;
    };
    const ok = await d.post(makeEvent({ payload: nest(32) }));
    assert.equal(ok.status, 200);
    const e33 = makeEvent({ payload: nest(33) });
    await rejects(e33, 400, { field: 'payload', match: /nest/, id: e33.interactionId as string });
    const deep = `{"interactionId":"deep-1","dataActionId":"d","updatedTimestamp":"2026-01-01T00:00:00Z","payload":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    await rejects(deep, 400, { field: 'payload', id: 'deep-1' });
    const deepObj = `{"payload":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    await rejects(deepObj, 400, { field: 'payload' });
    // Brackets inside strings do not count as nesting.
    const inString = await d.post(makeEvent({ payload: { s: '[[[[{{{{'.repeat(100) } }));
    assert.equal(inString.status, 200);
  });

  it('huge strings get a short error and stay out of the logs', async () => {
    const marker = 'Z'.repeat(40_000);
    const res = await rejects(makeEvent({ interactionId: marker }), 400, { field: 'interactionId' });
    assert.ok(!res.json.error.includes('ZZZZ'));
    await rejects(makeEvent({ updatedTimestamp: marker }), 400, { field: 'updatedTimestamp' });
    assert.ok(!d.logText().includes('ZZZZZZZZ'));
  });

  for (const connection of ['keep-alive', 'close'] as const) {
    it(`413 when Content-Length announces too much, before any body is read (Connection: ${connection})`, async () => {
      const before = await d.stats();
      const total = 50 * 1024 * 1024;
      const r = await streamBody(d.port, total, { connection });
      assert.equal(r.status, 413, JSON.stringify(r));
      assert.equal(typeof JSON.parse(r.body!).error, 'string');
      assert.ok(r.sentAtResponse !== undefined && r.sentAtResponse < total, 'answered while the upload was still going');
      const after = await d.stats();
      assert.equal(after.rejectedByReason.body_too_large, before.rejectedByReason.body_too_large + 1);
      assert.equal((await d.post(makeEvent())).status, 200, 'still serving');
    });

    it(`413 reaches a client still streaming a chunked body past the limit, then the socket closes cleanly (Connection: ${connection})`, async () => {
      const c = await RawConnection.open(d.port);
      await c.write(
        `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nConnection: ${connection}\r\nX-NICE-Signature: ${'a'.repeat(64)}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
      let sent = 0;
      // Just past the limit, then pause: the answer must come without the rest of the upload.
      while (sent <= LIMIT) {
        await c.write(frame);
        sent += chunk.length;
      }
      const deadline = Date.now() + 10_000;
      while (!c.received().includes('413 Payload Too Large') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.match(c.received(), /^HTTP\/1\.1 413 Payload Too Large/, 'answered while the upload is incomplete');
      // A client that ignores the answer and keeps sending is drained, not reset.
      for (let i = 0; i < 64; i++) await c.write(frame);
      await c.write('0\r\n\r\n');
      const [res] = await c.waitForResponses(1);
      assert.equal(res!.status, 413);
      assert.match(res!.json.error, /larger than/);
      if (connection === 'close') {
        const closed = await c.closed;
        assert.equal(closed.error, undefined, 'closed without a reset');
      }
      c.destroy();
    });
  }

  it('403 reaches a client that streams a large unsigned body', async () => {
    const r = await streamBody(d.port, 4 * 1024 * 1024, { connection: 'close', signature: '' });
    assert.equal(r.status, 403, JSON.stringify(r));
  });

  it('a body of exactly the limit passes the size check (and is judged on its signature)', async () => {
    const pad = 'x'.repeat(LIMIT - JSON.stringify(makeEvent({ payload: { pad: '' } })).length);
    const body = JSON.stringify(makeEvent({ payload: { pad } }));
    assert.equal(Buffer.byteLength(body), LIMIT);
    const res = await d.post(body);
    assert.equal(res.status, 200);
  });

  it('survives clients that abort mid-body, and counts them', async () => {
    const before = await d.stats();
    for (let i = 0; i < 20; i++) {
      const c = await RawConnection.open(d.port);
      await c.write(`POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nX-NICE-Signature: ${'a'.repeat(64)}\r\nContent-Length: 1000\r\n\r\n{"interactionId":`);
      c.destroy();
    }
    const deadline = Date.now() + 5000;
    let after = await d.stats();
    while (after.rejectedByReason.aborted < before.rejectedByReason.aborted + 20 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      after = await d.stats();
    }
    assert.equal(after.rejectedByReason.aborted, before.rejectedByReason.aborted + 20);
    assert.equal(after.eventsReceived, after.eventsProcessed + after.eventsDeduplicated + after.eventsRejected);
    assert.equal((await d.post(makeEvent())).status, 200);
  });
});
