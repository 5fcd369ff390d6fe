/**
 * Hostile connections on the real daemon: slow clients (headers dribbled byte by byte, bodies
 * never finished or dribbled) are cut off by the server and do not hold up anyone else; a
 * thousand connections dropped mid-body leave nothing behind (in-flight count, sockets, memory).
 *
 * uWebSockets.js enforces the timeouts: an HTTP connection that has not completed its request
 * head within ~10 s is closed (dribbling does not reset the timer), and a body that stops, or
 * arrives at a trickle, is closed the same way (it counts as `aborted`). Measured here, so a
 * uWS upgrade that changed this would fail the test.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../src/http/signature.js';
import { makeEvent, startDaemon, TEST_SECRET, WEBHOOK_PATH, type RunningDaemon } from '../helpers/daemon.js';
import { RawConnection } from '../helpers/raw-http.js';
import { buildRequest, KeepAlivePool, runConcurrently } from './helpers/keepalive.js';

function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // Closed while we looked.
    }
  }
  return n;
}

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  assert.ok(kb !== undefined, 'VmRSS in /proc/<pid>/status');
  return Number(kb) * 1024;
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function signedPost(event: Record<string, unknown>): Buffer {
  const body = JSON.stringify(event);
  return buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', 'x-nice-signature': signRequest(TEST_SECRET, body) }, body);
}

let d: RunningDaemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d.stop();
});

describe('slow clients', () => {
  it('50 slow clients are closed by the server while normal requests keep being answered', async () => {
    const body = JSON.stringify(makeEvent());
    const head = `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-NICE-Signature: ${signRequest(TEST_SECRET, body)}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const before = await d.stats();
    const slow: Array<{ kind: 'header-dribble' | 'body-stalled' | 'body-dribble'; conn: RawConnection; sent: number }> = [];
    for (let i = 0; i < 50; i++) {
      const kind = (['header-dribble', 'body-stalled', 'body-dribble'] as const)[i % 3]!;
      const conn = await RawConnection.open(d.port);
      const entry = { kind, conn, sent: 0 };
      if (kind === 'body-stalled') await conn.write(head + body.slice(0, 10));
      if (kind === 'body-dribble') await conn.write(head);
      slow.push(entry);
    }
    // One byte every 200 ms for the dribblers, never the whole thing.
    const dribble = setInterval(() => {
      for (const s of slow) {
        if (s.conn.isClosed) continue;
        if (s.kind === 'header-dribble' && s.sent < head.length - 2) void s.conn.write(head[s.sent++]!);
        if (s.kind === 'body-dribble' && s.sent < body.length - 1) void s.conn.write(body[s.sent++]!);
      }
    }, 200);
    const pool = new KeepAlivePool(d.port, 4);
    try {
      // Normal traffic while they hang: every request answered.
      let answered = 0;
      for (let round = 0; round < 20; round++) {
        await runConcurrently(5, 5, async () => {
          const r = await pool.request(signedPost(makeEvent()));
          assert.equal(r.status, 200);
          assert.equal(r.json.status, 'processed');
          answered++;
        });
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(answered, 100);
      assert.ok(slow.every((s) => s.conn.responses().length === 0), 'no slow client got an answer');

      // The server closes every one of them (uWS: about 10 s without a complete request).
      await until('the server to close the slow clients', () => slow.every((s) => s.conn.isClosed), 25_000);
      await until('no request in flight', async () => (await d.stats()).inFlight === 0, 5_000);
      const s = await d.stats();
      const withHead = slow.filter((x) => x.kind !== 'header-dribble').length;
      assert.equal(s.rejectedByReason.aborted - before.rejectedByReason.aborted, withHead, 'each request with a complete head counts once, as aborted');
      assert.equal(s.eventsProcessed - before.eventsProcessed, 100);
      assert.equal(s.eventsReceived, s.eventsProcessed + s.eventsDeduplicated + s.eventsRejected);
    } finally {
      clearInterval(dribble);
      pool.close();
      for (const s of slow) s.conn.destroy();
    }
  });
});

describe('connections dropped mid-body', () => {
  it('1,000 dropped uploads leave no request in flight, no socket open and no memory behind', async () => {
    const pid = d.proc.pid!;
    // 64 KiB sent of 128 KiB announced: a leaked request would keep its buffered chunks.
    const partial = Buffer.alloc(64 * 1024, 0x61);
    const head = Buffer.from(`POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nX-NICE-Signature: ${'0'.repeat(64)}\r\nContent-Length: ${2 * partial.length}\r\n\r\n`);

    const round = async () => {
      await runConcurrently(1000, 50, async (i) => {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const so = net.connect(d.port, '127.0.0.1', () => resolve(so));
          so.once('error', reject);
        });
        socket.on('error', () => undefined);
        await new Promise<void>((resolve) => socket.write(Buffer.concat([head, partial]), () => resolve()));
        // Give the server the time to start the request, then vanish: half close, half reset.
        await new Promise((r) => setTimeout(r, 5));
        if (i % 2 === 0) socket.destroy();
        else socket.resetAndDestroy();
      });
    };

    const baseline = await d.stats(); // also opens the keep-alive connection used below
    const baseSockets = socketCount(pid);
    await round();
    await until('round 1 to settle', async () => (await d.stats()).inFlight === 0 && socketCount(pid) <= baseSockets, 10_000);
    const rss1 = rssBytes(pid);
    await round();
    await until('round 2 to settle', async () => (await d.stats()).inFlight === 0 && socketCount(pid) <= baseSockets, 10_000);
    const rss2 = rssBytes(pid);

    const s = await d.stats();
    const received = s.eventsReceived - baseline.eventsReceived;
    assert.equal(s.rejectedByReason.aborted - baseline.rejectedByReason.aborted, received, 'every request that started ended as aborted');
    assert.ok(received >= 1000, `most uploads reached the handler before the drop (${received} of 2000)`);
    assert.equal(s.eventsProcessed, baseline.eventsProcessed);
    assert.equal(s.stateCache.size, baseline.stateCache.size);
    assert.equal(s.eventsReceived, s.eventsProcessed + s.eventsDeduplicated + s.eventsRejected);
    // 1,000 × 64 KiB went through each round: a per-connection leak would show as tens of MB.
    const growth = rss2 - rss1;
    assert.ok(growth < 16 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MB from round 1 to round 2 (${(rss1 / 1048576).toFixed(0)} → ${(rss2 / 1048576).toFixed(0)} MB)`);
    // Still serving.
    assert.equal((await d.post(makeEvent())).json.status, 'processed');
  });
});
