/**
 * Authentication under attack: constant-time signature checks on every path, replay protection
 * with the signed timestamp header (window, future, tampering, window 0, custom header name,
 * REQUIRE_TIMESTAMP), and no secret anywhere an operator or attacker can read.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RequestVerifier, signRequest, type RequestVerifierOptions } from '../../src/http/signature.js';
import { startCxoneStandin, type CxoneStandin } from '../helpers/cxone-standin.js';
import { makeEvent, runCli, startDaemon, TEST_SECRET, type RunningDaemon } from '../helpers/daemon.js';

const require = createRequire(import.meta.url);
const cjsCrypto = require('node:crypto') as typeof import('node:crypto');

const SECRET = 'verifier-secret-0123456789abcdef';
const NOW_MS = 1_800_000_000_000;
const NOW_S = String(NOW_MS / 1000);
const body = Buffer.from(JSON.stringify({ interactionId: 'a', dataActionId: 'b', updatedTimestamp: '2026-01-01T00:00:00Z' }));
const hex = (key: string, data: string | Buffer) => createHmac('sha256', key).update(data).digest('hex');

type Backend = 'node' | 'native';
const BACKENDS: readonly Backend[] = ['node', 'native'];

describe('RequestVerifier', () => {
  // The HMAC runs in node:crypto or in the native addon (`backend`); every path is checked on both.
  const verifier = (opts: { window?: number; require?: boolean; backend?: Backend } = {}) =>
    new RequestVerifier({
      secret: SECRET,
      replayWindowSeconds: opts.window ?? 300,
      requireTimestamp: opts.require ?? false,
      now: () => NOW_MS,
      ...({ backend: opts.backend ?? 'node' } as object),
    } as RequestVerifierOptions);

  /** Calls to crypto.timingSafeEqual made by `fn`, seen through the module's live ESM binding. */
  function spyTimingSafeEqual<T>(fn: () => T): { result: T; calls: Array<[number, number]> } {
    const original = cjsCrypto.timingSafeEqual;
    const calls: Array<[number, number]> = [];
    cjsCrypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.push([a.byteLength, b.byteLength]);
      return original(a, b);
    }) as typeof original;
    syncBuiltinESMExports();
    try {
      return { result: fn(), calls };
    } finally {
      cjsCrypto.timingSafeEqual = original;
      syncBuiltinESMExports();
    }
  }

  it('node:crypto backend: compares every well-formed signature with timingSafeEqual on two 32-byte digests', () => {
    const v = verifier({ backend: 'node' });
    const good = hex(SECRET, body);
    const wrongValue = good.slice(0, 63) + (good[63] === '0' ? '1' : '0');
    const cases: Array<[string, string, string]> = [
      ['right value', good, 'ok'],
      ['right value, uppercase hex', good.toUpperCase(), 'ok'],
      ['right length, last digit wrong', wrongValue, 'bad_signature'],
      ['right length, all wrong', 'f'.repeat(64), 'bad_signature'],
      ['signed with another secret', hex('another-secret-0123456789', body), 'bad_signature'],
    ];
    for (const [name, signature, verdict] of cases) {
      const { result, calls } = spyTimingSafeEqual(() => v.verify(body, signature, ''));
      assert.equal(result, verdict, name);
      assert.deepEqual(calls, [[32, 32]], `${name}: one constant-time comparison of equal lengths`);
    }
  });

  it('node:crypto backend: refuses malformed signatures before comparing, without throwing', () => {
    const v = verifier({ backend: 'node' });
    const good = hex(SECRET, body);
    const cases: Array<[string, string]> = [
      ['one digit short', good.slice(1)],
      ['one digit long', `${good}0`],
      ['twice as long', good + good],
      ['non-hex at the end', `${good.slice(0, 63)}g`],
      ['whitespace', ` ${good.slice(1)}`],
      ['base64 of the digest', Buffer.from(good, 'hex').toString('base64')],
      ['sha256= prefix', `sha256=${good}`],
      ['the secret itself', SECRET],
      ['unicode', 'é'.repeat(64)],
    ];
    for (const [name, signature] of cases) {
      const { result, calls } = spyTimingSafeEqual(() => v.verify(body, signature, ''));
      assert.equal(result, 'bad_signature', name);
      assert.deepEqual(calls, [], `${name}: nothing to compare`);
    }
    assert.equal(v.verify(body, '', ''), 'missing_signature');
  });

  it('both backends: the same verdict on right, wrong-valued, wrong-length and non-hex signatures', () => {
    const good = hex(SECRET, body);
    const cases: Array<[string, string]> = [
      ['right value', good],
      ['uppercase', good.toUpperCase()],
      ['last digit wrong', good.slice(0, 63) + (good[63] === '0' ? '1' : '0')],
      ['first digit wrong', (good[0] === '0' ? '1' : '0') + good.slice(1)],
      ['one short', good.slice(1)],
      ['one long', `${good}0`],
      ['non-hex', `${good.slice(0, 63)}g`],
      ['unicode', 'é'.repeat(64)],
      ['empty', ''],
      ['huge', 'a'.repeat(100_000)],
    ];
    const expected = ['ok', 'ok', 'bad_signature', 'bad_signature', 'bad_signature', 'bad_signature', 'bad_signature', 'bad_signature', 'missing_signature', 'bad_signature'];
    for (const backend of BACKENDS) {
      const v = verifier({ backend });
      assert.deepEqual(cases.map(([, sig]) => v.verify(body, sig, '')), expected, backend);
    }
  });

  for (const backend of BACKENDS) {
    it(`${backend} backend: covers \`<timestamp>.<body>\` and enforces the window both ways`, () => {
      checkTimestamps(backend);
    });
    it(`${backend} backend: requireTimestamp refuses a correctly signed request without one (and still says bad_signature for forgeries)`, () => {
      const v = verifier({ require: true, backend });
      assert.equal(v.verify(body, hex(SECRET, body), ''), 'missing_timestamp');
      assert.equal(v.verify(body, 'f'.repeat(64), ''), 'bad_signature');
      assert.equal(v.verify(body, hex(SECRET, Buffer.concat([Buffer.from(`${NOW_S}.`), body])), NOW_S), 'ok');
    });
  }

  function checkTimestamps(backend: Backend): void {
    const v = verifier({ window: 300, backend });
    const signed = (ts: string) => hex(SECRET, Buffer.concat([Buffer.from(`${ts}.`), body]));
    assert.equal(v.verify(body, signed(NOW_S), NOW_S), 'ok');
    assert.equal(v.verify(body, signed(String(NOW_MS / 1000 - 300)), String(NOW_MS / 1000 - 300)), 'ok', 'exactly at the edge');
    assert.equal(v.verify(body, signed(String(NOW_MS / 1000 - 301)), String(NOW_MS / 1000 - 301)), 'replayed', 'too old');
    assert.equal(v.verify(body, signed(String(NOW_MS / 1000 + 301)), String(NOW_MS / 1000 + 301)), 'replayed', 'too far ahead');
    // A timestamp changed after signing: the HMAC no longer matches (never 'replayed', never 'ok').
    assert.equal(v.verify(body, signed(String(NOW_MS / 1000 - 1000)), NOW_S), 'bad_signature');
    // The body-only signature does not cover the timestamp.
    assert.equal(v.verify(body, hex(SECRET, body), NOW_S), 'bad_signature');
    for (const ts of ['-1', '1.5', ' 1', '0x10', '1234567890123', 'abc']) {
      assert.equal(v.verify(body, signed(ts), ts), 'bad_signature', `timestamp ${JSON.stringify(ts)}`);
    }
    // Window 0: any correctly signed timestamp passes.
    const off = verifier({ window: 0, backend });
    assert.equal(off.verify(body, signed('1000000000'), '1000000000'), 'ok');
    assert.equal(off.verify(body, signed('99999999999'), '99999999999'), 'ok');
    // The signature is checked before the age: a forged old request is a bad signature, not a replay.
    assert.equal(v.verify(body, 'f'.repeat(64), '1000000000'), 'bad_signature');
  }
});

describe('replay protection, end to end', () => {
  const nowS = () => String(Math.floor(Date.now() / 1000));

  async function expectUnchanged(d: RunningDaemon, fn: () => Promise<void>): Promise<void> {
    const before = await d.stats();
    await fn();
    const after = await d.stats();
    assert.equal(after.eventsProcessed, before.eventsProcessed);
    assert.equal(after.eventsDeduplicated, before.eventsDeduplicated);
    assert.equal(after.stateCache.size, before.stateCache.size);
  }

  it('default window: fresh passes; stale, future and tampered timestamps get 401 and change nothing', async () => {
    const d = await startDaemon();
    try {
      const ok = await d.post(makeEvent(), { timestamp: nowS() });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.status, 'processed');
      await expectUnchanged(d, async () => {
        const old = await d.post(makeEvent(), { timestamp: String(Number(nowS()) - 400) });
        assert.equal(old.status, 401);
        assert.match(old.json.error, /replay window/);
        const future = await d.post(makeEvent(), { timestamp: String(Number(nowS()) + 400) });
        assert.equal(future.status, 401);
        // Signed for one time, sent with another.
        const raw = JSON.stringify(makeEvent());
        const tampered = await d.post(raw, { signature: signRequest(TEST_SECRET, raw, String(Number(nowS()) - 400)), headers: { 'x-nice-timestamp': nowS() } });
        assert.equal(tampered.status, 401);
        assert.match(tampered.json.error, /invalid signature/);
      });
      const s = await d.stats();
      assert.equal(s.rejectedByReason.replayed, 2);
      assert.equal(s.rejectedByReason.bad_signature, 1);
      assert.equal(s.eventsReceived, s.eventsProcessed + s.eventsDeduplicated + s.eventsRejected);
    } finally {
      await d.stop();
    }
  });

  it('REPLAY_WINDOW_SECONDS=0 turns the age check off (the signature still covers the timestamp)', async () => {
    const d = await startDaemon({ env: { REPLAY_WINDOW_SECONDS: '0' } });
    try {
      assert.equal((await d.post(makeEvent(), { timestamp: '1000000000' })).status, 200);
      const raw = JSON.stringify(makeEvent());
      assert.equal((await d.post(raw, { signature: signRequest(TEST_SECRET, raw, '1000000000'), headers: { 'x-nice-timestamp': '1000000001' } })).status, 401);
    } finally {
      await d.stop();
    }
  });

  it('TIMESTAMP_HEADER names the header; REQUIRE_TIMESTAMP refuses requests without it', async () => {
    const d = await startDaemon({ env: { TIMESTAMP_HEADER: 'X-Sent-At', REQUIRE_TIMESTAMP: '1' } });
    try {
      const raw = JSON.stringify(makeEvent());
      const ts = nowS();
      const ok = await d.post(raw, { signature: signRequest(TEST_SECRET, raw, ts), headers: { 'x-sent-at': ts } });
      assert.equal(ok.status, 200);
      await expectUnchanged(d, async () => {
        const bare = await d.post(makeEvent());
        assert.equal(bare.status, 401);
        assert.match(bare.json.error, /missing x-sent-at header/);
        // The default header name means nothing here.
        const other = JSON.stringify(makeEvent());
        assert.equal((await d.post(other, { signature: signRequest(TEST_SECRET, other, ts), headers: { 'x-nice-timestamp': ts } })).status, 401);
        const stale = String(Number(ts) - 400);
        assert.equal((await d.post(other, { signature: signRequest(TEST_SECRET, other, stale), headers: { 'x-sent-at': stale } })).status, 401);
      });
    } finally {
      await d.stop();
    }
  });

  it('REQUIRE_TIMESTAMP with REPLAY_WINDOW_SECONDS=0 is refused at start with one message', async () => {
    const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--require-timestamp'], { env: { REPLAY_WINDOW_SECONDS: '0', CXONE_WEBHOOK_SECRET: TEST_SECRET } });
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(JSON.parse(lines[0]!).msg, /REQUIRE_TIMESTAMP.*REPLAY_WINDOW_SECONDS/);
  });
});

describe('secrets stay secret', () => {
  const INFLUX_TOKEN = 'influx-token-SECRET-7f3a9c1e5b';
  const CLIENT_SECRET = 'cxone-client-SECRET-4d8e2b6a0c';
  const STATE_TOKEN = 'state-api-SECRET-9b1d3f5a7c';
  let influx: Server;
  let influxRequests = 0;
  let standin: CxoneStandin;
  let dir: string;

  before(async () => {
    // A hostile InfluxDB: refuses every write and echoes the Authorization header in its error.
    influx = createServer((req, res) => {
      influxRequests++;
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'unauthorized', message: `bad credentials: ${req.headers.authorization}` }));
    });
    await new Promise<void>((resolve) => influx.listen(0, '127.0.0.1', resolve));
    standin = await startCxoneStandin({ clientSecret: CLIENT_SECRET });
    // The token endpoint first fails (retryably) echoing the secret, then works.
    standin.script('token', { status: 503, body: { error: 'temporarily_unavailable', error_description: `client secret ${CLIENT_SECRET} not checked` } });
    dir = mkdtempSync(path.join(tmpdir(), 'cxone-secrets-'));
  });
  after(async () => {
    await new Promise<void>((resolve) => influx.close(() => resolve()));
    influx.closeAllConnections();
    await standin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no secret, token or bearer in logs (debug), /stats, /metrics, /readyz, error bodies or the snapshot', async () => {
    const port = (influx.address() as AddressInfo).port;
    const snapshot = path.join(dir, 'state.snap');
    const d = await startDaemon({
      env: {
        LOG_LEVEL: 'debug',
        INFLUX_URL: `http://127.0.0.1:${port}`,
        INFLUX_TOKEN,
        INFLUX_ORG: 'org',
        INFLUX_BUCKET: 'bucket',
        METRICS_INTERVAL_SECONDS: '0.1',
        // The exporter keeps retrying its refused points until the shutdown budget runs out.
        SHUTDOWN_TIMEOUT_SECONDS: '2',
        ...standin.env({ CXONE_CLIENT_SECRET: CLIENT_SECRET, CXONE_WEBHOOK_URL: 'https://dedup.example.com/cxone/webhook/data-action' }),
        SNAPSHOT_PATH: snapshot,
        STATE_API_TOKEN: STATE_TOKEN,
      },
    });
    let stopped = false;
    try {
      const bodies: string[] = [];
      bodies.push(JSON.stringify((await d.post(makeEvent())).json));
      bodies.push(JSON.stringify((await d.post(makeEvent(), { signature: TEST_SECRET })).json));
      bodies.push(JSON.stringify((await d.post(makeEvent(), { signature: signRequest(TEST_SECRET, 'other body') })).json));
      bodies.push(JSON.stringify((await d.post(makeEvent(), { timestamp: '1000000000' })).json));
      bodies.push(JSON.stringify((await d.post(`{"interactionId":"${TEST_SECRET}",`)).json));
      // Wait until both outbound paths have used (and been refused with) their credentials.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const s = await d.stats();
        if (s.exporter.writeFailures >= 2 && standin.webhookRequests().length >= 1) break;
        assert.ok(Date.now() < deadline, `exporter failures ${s.exporter.writeFailures}, webhook requests ${standin.webhookRequests().length}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(influxRequests > 0 && standin.tokenRequests().length >= 2, 'the credentials were really used');
      const bearer = standin.issued;
      assert.ok(bearer.length >= 1);
      const readable = [
        ...bodies,
        (await d.get('/stats', { authorization: `Bearer ${STATE_TOKEN}` })).text,
        (await d.get('/metrics')).text,
        (await d.get('/readyz')).text,
        (await d.get('/healthz')).text,
      ];
      for (const authorization of [`Bearer ${STATE_TOKEN}`, `Bearer ${STATE_TOKEN}0`, `Basic ${STATE_TOKEN}`]) {
        const res = await fetch(`${d.url}/state/nobody`, { headers: { authorization } });
        assert.equal(res.status, authorization === `Bearer ${STATE_TOKEN}` ? 404 : 401);
        readable.push(await res.text());
      }
      await d.stop();
      stopped = true;
      readable.push(d.logText(), readFileSync(snapshot).toString('latin1'));
      assert.ok(d.logs.some((l) => l.level === 'debug'), 'debug logging was on');
      for (const text of readable) {
        for (const secret of [TEST_SECRET, INFLUX_TOKEN, CLIENT_SECRET, STATE_TOKEN, ...bearer]) {
          const at = text.indexOf(secret);
          assert.equal(at, -1, `found ${secret.slice(0, 12)}… in: ${text.slice(Math.max(0, at - 400), at + 100)}`);
        }
      }
    } finally {
      if (!stopped) await d.stop();
    }
  });
});
