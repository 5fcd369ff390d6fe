/** Start-up checks, secrets, the uWS shim guard and graceful shutdown, on the real binary. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { signRequest } from '../../src/http/signature.js';
import { makeEvent, runCli, startDaemon, TEST_SECRET, WEBHOOK_PATH } from '../helpers/daemon.js';
import { RawConnection } from '../helpers/raw-http.js';
import { until } from '../helpers/wait.js';

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('configuration', () => {
  it('--help lists every setting with its environment variable', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const env of ['PORT', 'HOST', 'CXONE_WEBHOOK_SECRET', 'DEDUP_CAPACITY', 'DEDUP_ERROR_RATE', 'COMPACTION_INTERVAL_SECONDS', 'STATE_CACHE_SIZE', 'MAX_BODY_BYTES', 'DEDUP_KEY_FIELDS', 'UNCONFIRMED_POLICY', 'LOG_LEVEL']) {
      assert.match(r.stdout, new RegExp(`\\b${env}\\b`), env);
    }
    assert.match(r.stdout, /--port N/);
  });

  it('a bad value stops the start with one message naming the setting', async () => {
    const cases: Array<[Record<string, string>, string[], RegExp]> = [
      [{ PORT: 'eighty' }, [], /PORT \(--port\)/],
      [{}, ['--port', '70000'], /PORT \(--port\)/],
      [{ DEDUP_ERROR_RATE: '1.5' }, [], /DEDUP_ERROR_RATE/],
      [{ DEDUP_CAPACITY: '0' }, [], /DEDUP_CAPACITY/],
      [{ COMPACTION_INTERVAL_SECONDS: '-1' }, [], /COMPACTION_INTERVAL_SECONDS/],
      [{ STATE_CACHE_SIZE: '1e3' }, [], /STATE_CACHE_SIZE/],
      [{ MAX_BODY_BYTES: 'lots' }, [], /MAX_BODY_BYTES/],
      [{ DEDUP_KEY_FIELDS: 'interactionId,foo' }, [], /DEDUP_KEY_FIELDS/],
      [{ UNCONFIRMED_POLICY: 'maybe' }, [], /UNCONFIRMED_POLICY/],
      [{ LOG_LEVEL: 'loud' }, [], /LOG_LEVEL/],
      [{}, ['--no-such-flag'], /unknown option "--no-such-flag"/],
      [{ CXONE_WEBHOOK_SECRET: 'short' }, [], /CXONE_WEBHOOK_SECRET/],
    ];
    for (const [env, args, pattern] of cases) {
      const r = await runCli(['serve', '--host', '127.0.0.1', ...args], { env: { PORT: '0', ...env } });
      assert.equal(r.code, 1, `${JSON.stringify(env)} ${args.join(' ')} → exit ${r.code}; ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      const line = JSON.parse(lines[0]!);
      assert.equal(line.level, 'error');
      assert.match(line.msg, pattern);
    }
    // A rejected secret is not echoed.
    const r = await runCli(['serve'], { env: { CXONE_WEBHOOK_SECRET: 'tiny-secret' } });
    assert.ok(!r.stderr.includes('tiny-secret'));
  });
});

describe('secrets', () => {
  it('generates an ephemeral secret when none is set, says so, and accepts it', async () => {
    const d = await startDaemon({ secret: null });
    try {
      const warn = d.logs.find((l) => l.level === 'warn' && /ephemeral/.test(l.msg));
      assert.ok(warn, 'warning logged');
      const secret = warn.ephemeralSecret as string;
      assert.match(secret, /^[0-9a-f]{64}$/);
      const body = JSON.stringify(makeEvent());
      const ok = await fetch(d.url + WEBHOOK_PATH, { method: 'POST', body, headers: { 'x-nice-signature': signRequest(secret, body) } });
      assert.equal(ok.status, 200);
      const other = await startDaemon({ secret: null });
      try {
        const secret2 = other.logs.find((l) => /ephemeral/.test(l.msg))!.ephemeralSecret;
        assert.notEqual(secret2, secret, 'a fresh secret per run');
      } finally {
        await other.stop();
      }
    } finally {
      await d.stop();
    }
  });

  it('never logs, reports or exposes a given secret', async () => {
    const d = await startDaemon({ env: { LOG_LEVEL: 'debug', INFLUX_TOKEN: 'influx-token-value-xyz', CXONE_CLIENT_SECRET: 'client-secret-value-xyz' } });
    try {
      await d.post(makeEvent());
      await d.post(makeEvent(), { signature: 'f'.repeat(64) });
      const texts = [d.logText(), (await d.get('/stats')).text, (await d.get('/metrics')).text, (await d.get('/readyz')).text];
      for (const t of texts) {
        assert.ok(!t.includes(TEST_SECRET));
        assert.ok(!t.includes('influx-token-value-xyz'));
        assert.ok(!t.includes('client-secret-value-xyz'));
      }
    } finally {
      await d.stop();
    }
  });
});

describe('uWebSockets.js runtime', () => {
  it('logs the native runtime at start', async () => {
    const d = await startDaemon();
    try {
      const line = d.logs.find((l) => l.msg === 'HTTP server runtime');
      assert.ok(line);
      assert.match(String(line.runtime), /native/);
    } finally {
      await d.stop();
    }
  });

  it('refuses to start on the JS shim unless allowed', async () => {
    const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0'], { env: { UWS_USE_FALLBACK: '1', CXONE_WEBHOOK_SECRET: TEST_SECRET } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /JS shim/);
    assert.match(r.stderr, /ALLOW_UWS_FALLBACK/);

    const d = await startDaemon({ env: { UWS_USE_FALLBACK: '1' }, args: ['--allow-uws-fallback'] });
    try {
      assert.ok(d.logs.some((l) => l.level === 'warn' && /shim/.test(l.msg)));
    } finally {
      await d.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, finishes in-flight requests, exits 0', async () => {
    const d = await startDaemon();
    const body = JSON.stringify(makeEvent());
    const conn = await RawConnection.open(d.port);
    const half = Math.floor(body.length / 2);
    await conn.write(
      `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nX-NICE-Signature: ${signRequest(d.secret, body)}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
    );
    await until('the request in flight', async () => (await d.stats()).inFlight === 1 || undefined);
    d.proc.kill('SIGTERM');
    await d.waitForLog((l) => l.msg === 'shutting down');
    assert.equal(await connectRefused(d.port), true, 'no new connections after SIGTERM');
    await conn.write(body.slice(half));
    const [res] = await conn.waitForResponses(1);
    assert.equal(res!.status, 200);
    assert.equal(res!.json.status, 'processed');
    const exit = await d.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(d.logs.some((l) => l.msg === 'stopped'));
  });

  it('exits 0 within the shutdown timeout even if a client never finishes', async () => {
    const d = await startDaemon({ env: { SHUTDOWN_TIMEOUT_SECONDS: '1' } });
    const conn = await RawConnection.open(d.port);
    await conn.write(`POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nX-NICE-Signature: ${'a'.repeat(64)}\r\nContent-Length: 100\r\n\r\n{`);
    await until('the request in flight', async () => (await d.stats()).inFlight === 1 || undefined);
    const t0 = Date.now();
    const exit = await d.stop('SIGINT', 10_000);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - t0 < 5000, 'bounded');
    assert.ok(d.logs.some((l) => /timeout/.test(l.msg)));
    conn.destroy();
  });
});
