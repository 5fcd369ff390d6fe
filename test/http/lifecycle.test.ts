/** Start-up checks, secrets, the uWS shim guard and graceful shutdown, on the real binary. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
  it('generates an ephemeral secret when none is set: in an owner-only file, never in the log; send uses it; removed at exit', async () => {
    const d = await startDaemon({ secret: null });
    let secret: string;
    try {
      const warn = d.logs.find((l) => l.level === 'warn' && /ephemeral/.test(l.msg));
      assert.ok(warn, 'warning logged');
      const file = path.join(d.cwd, '.cxone-dedup-secret');
      assert.equal(warn.ephemeralSecretFile, file);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      secret = readFileSync(file, 'utf8').trim();
      assert.match(secret, /^[0-9a-f]{64}$/);
      assert.ok(!d.logText().includes(secret), 'the secret is not in the log');
      const body = JSON.stringify(makeEvent());
      const ok = await fetch(d.url + WEBHOOK_PATH, { method: 'POST', body, headers: { 'x-nice-signature': signRequest(secret, body) } });
      assert.equal(ok.status, 200);
      // `send` in the same directory finds it without being told.
      const sent = await runCli(['send', '--url', d.url + WEBHOOK_PATH, '--interaction-id', 'ephemeral-1'], { cwd: d.cwd, env: { CXONE_WEBHOOK_SECRET: undefined } });
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, /^1 200 .*"processed"/);
      assert.match(sent.stderr, /ephemeral secret/);
      assert.ok(!sent.stderr.includes(secret));
      const other = await startDaemon({ secret: null });
      try {
        assert.notEqual(readFileSync(path.join(other.cwd, '.cxone-dedup-secret'), 'utf8').trim(), secret, 'a fresh secret per run');
      } finally {
        await other.stop();
      }
    } finally {
      await d.stop();
    }
    assert.equal(existsSync(path.join(d.cwd, '.cxone-dedup-secret')), false, 'removed when the daemon stopped');
    // Elsewhere, without a secret, send says what it needs.
    const none = await runCli(['send', '--url', d.url + WEBHOOK_PATH, '--interaction-id', 'x'], { cwd: d.cwd, env: { CXONE_WEBHOOK_SECRET: undefined } });
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /a secret is required/);
  });

  it('refuses to start without a secret where the ephemeral one cannot be written', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cxone-dedup-ro-'));
    // A directory in the way of the file: the write fails even for root.
    mkdirSync(path.join(dir, '.cxone-dedup-secret'));
    const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env: { CXONE_WEBHOOK_SECRET: undefined } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ephemeral secret could not be written.*set CXONE_WEBHOOK_SECRET/);
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
