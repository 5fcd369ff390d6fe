/**
 * Restart without forgetting, on the real daemon: a graceful restart keeps dedup memory and
 * state; a SIGKILL in the middle of a snapshot write leaves the previous snapshot usable; bad
 * snapshot files are logged once and ignored, or refused with --strict-snapshot.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../src/http/signature.js';
import { isShimNotice, makeEvent, runCli, startDaemon, TEST_SECRET, WEBHOOK_PATH, type LogLine, type RunningDaemon } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';
import { buildRequest, KeepAlivePool, runConcurrently } from './helpers/keepalive.js';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cxone-restart-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const freshPath = () => path.join(dir, `state-${++files}.snap`);
const snapshotLogs = (d: RunningDaemon): LogLine[] => d.logs.filter((l) => l.component === 'snapshot');

function signedPost(event: Record<string, unknown>): Buffer {
  const body = JSON.stringify(event);
  return buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', 'x-nice-signature': signRequest(TEST_SECRET, body) }, body);
}

describe('restart keeps dedup memory', () => {
  it('events before a SIGTERM are duplicates after the restart, and their state is still served', async () => {
    const snapshot = freshPath();
    const env = { SNAPSHOT_PATH: snapshot };
    const events = [makeEvent(), makeEvent({ payload: { note: 'ünïcødé', list: [1, 2, 3] } }), makeEvent()];
    const first = await startDaemon({ env });
    try {
      assert.ok(snapshotLogs(first).some((l) => /no snapshot yet/.test(l.msg)), 'first start: says there is no snapshot yet');
      for (const e of events) assert.equal((await first.post(e)).json.status, 'processed');
    } finally {
      assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });
    }
    assert.ok(first.logs.some((l) => l.msg === 'final snapshot written' && l.interactions === 3), first.logText());

    const second = await startDaemon({ env });
    try {
      const restored = snapshotLogs(second).find((l) => l.msg === 'snapshot restored');
      assert.ok(restored, second.logText());
      assert.equal(restored.interactions, 3);
      for (const e of events) {
        const r = await second.post(e);
        assert.equal(r.status, 200);
        assert.equal(r.json.status, 'deduplicated', `${e.interactionId} after restart`);
        assert.deepEqual((await second.get(`/state/${encodeURIComponent(e.interactionId as string)}`)).json, e);
      }
      assert.equal((await second.post(makeEvent())).json.status, 'processed');
      const s = await second.stats();
      assert.equal(s.snapshot.enabled, true);
      assert.equal(s.snapshot.restored.interactions, 3);
      assert.equal(s.stateCache.size, 4);
      assert.equal(s.eventsDeduplicated, 3);
    } finally {
      await second.stop();
    }
  });

  it('SIGKILL while a snapshot is being written: the previous snapshot restores, the leftover temp file is removed', async () => {
    const snapshot = freshPath();
    // ~30 MB of state so each write takes long enough to be caught in the act.
    const env = { SNAPSHOT_PATH: snapshot, SNAPSHOT_INTERVAL_SECONDS: '0.2' };
    const big = 'x'.repeat(100_000);
    const old = Array.from({ length: 300 }, (_, i) => makeEvent({ payload: { i, big } }));
    const d = await startDaemon({ env });
    const pool = new KeepAlivePool(d.port, 4);
    let feeding = true;
    let feeder: Promise<void> = Promise.resolve();
    try {
      await runConcurrently(old.length, 4, async (i) => {
        const r = await pool.request(signedPost(old[i]!));
        assert.equal(r.status, 200);
      });
      // A complete snapshot holding every old event exists.
      await until('a snapshot with the old events', async () => {
        const s = (await d.stats()).snapshot;
        return s.last !== null && s.last.interactions >= old.length;
      });
      // Keep changing the state so every interval writes again; kill when a temp file exists.
      feeder = (async () => {
        while (feeding) await pool.request(signedPost(makeEvent({ payload: { big } }))).catch(() => undefined);
      })();
      const prefix = `${path.basename(snapshot)}.tmp-`;
      const temp = await until('a temporary snapshot file', async () => readdirSync(dir).find((f) => f.startsWith(prefix)), 20_000);
      d.proc.kill('SIGKILL');
      assert.equal((await d.exited).signal, 'SIGKILL');
      assert.ok(existsSync(path.join(dir, temp)), 'the interrupted write left its temp file behind');
    } finally {
      feeding = false;
      pool.close();
      await d.stop('SIGKILL');
      await feeder;
    }

    // No periodic writes this time: the file must stay exactly as restored until the final write,
    // which a 10 ms shutdown budget cannot finish (≥ 30 MB to serialize, hash and fsync).
    const again = await startDaemon({ env: { ...env, SNAPSHOT_INTERVAL_SECONDS: '3600', SHUTDOWN_TIMEOUT_SECONDS: '0.01' } });
    const pool2 = new KeepAlivePool(again.port, 4);
    try {
      assert.ok(again.logs.some((l) => /removed temporary snapshot files/.test(l.msg)), again.logText());
      assert.ok(again.logs.some((l) => l.msg === 'took over a stale snapshot lock' && /is not running/.test(String(l.why))), again.logText());
      const restored = snapshotLogs(again).find((l) => l.msg === 'snapshot restored');
      assert.ok(restored && (restored.interactions as number) >= old.length, again.logText());
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
      let duplicates = 0;
      await runConcurrently(old.length, 4, async (i) => {
        const r = await pool2.request(signedPost(old[i]!));
        if (r.json?.status === 'deduplicated') duplicates++;
      });
      assert.equal(duplicates, old.length, 'every event from before the kill is still a duplicate');
    } finally {
      pool2.close();
    }
    // A shutdown budget too short for the final write abandons it cleanly: previous file intact.
    const s = (await again.stats()).snapshot;
    assert.equal(s.written + s.failed + s.skippedBusy, 0, 'no periodic snapshot ran in this daemon');
    const before = createHash('sha256').update(readFileSync(snapshot)).digest('hex');
    assert.deepEqual(await again.stop('SIGTERM'), { code: 0, signal: null });
    assert.ok(again.logs.some((l) => /abandoned/.test(String(l.error))), again.logText());
    assert.equal(createHash('sha256').update(readFileSync(snapshot)).digest('hex'), before);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });
});

describe('one daemon per snapshot file', () => {
  it('a second daemon on the same SNAPSHOT_PATH refuses to start; once the first stops, the next one restores its snapshot', async () => {
    const snapshot = freshPath();
    const first = await startDaemon({ env: { SNAPSHOT_PATH: snapshot } });
    const event = makeEvent();
    try {
      assert.equal((await first.post(event)).json.status, 'processed');
      const second = await runCli(['serve', '--host', '127.0.0.1', '--port', '0'], { env: { CXONE_WEBHOOK_SECRET: TEST_SECRET, SNAPSHOT_PATH: snapshot } });
      assert.equal(second.code, 1, second.stderr);
      const errors = second.stderr.trim().split('\n').map((l) => JSON.parse(l) as LogLine).filter((l) => l.level === 'error');
      assert.equal(errors.length, 1, second.stderr);
      assert.match(errors[0]!.msg, new RegExp(`^cannot start: SNAPSHOT_PATH \\(--snapshot-path\\) .*in use by another cxone-dedup \\(pid ${first.proc.pid} on this host`));
      assert.equal((await first.post(event)).json.status, 'deduplicated', 'the first one is unaffected');
    } finally {
      assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });
    }
    assert.equal(existsSync(`${snapshot}.lock`), false, 'released at shutdown');
    const next = await startDaemon({ env: { SNAPSHOT_PATH: snapshot } });
    try {
      assert.ok(!next.logs.some((l) => /stale snapshot lock/.test(l.msg)), next.logText());
      assert.equal((await next.post(event)).json.status, 'deduplicated');
    } finally {
      await next.stop();
    }
  });
});

describe('snapshot metrics', () => {
  it('/metrics and /stats report the snapshots this daemon wrote', async () => {
    const d = await startDaemon({ env: { SNAPSHOT_PATH: freshPath(), SNAPSHOT_INTERVAL_SECONDS: '0.1' } });
    try {
      const read = (text: string, name: string) => {
        const m = new RegExp(`^cxone_dedup_${name} (\\S+)$`, 'm').exec(text);
        return m ? Number(m[1]) : undefined;
      };
      const metric = async (name: string) => read((await d.get('/metrics')).text, name);
      const first = (await d.get('/metrics')).text;
      assert.equal(read(first, 'snapshot_enabled'), 1);
      // The first tick may already have written the empty engine (there was no file): within one
      // document, the last-success time is there exactly when a snapshot was written.
      assert.equal(read(first, 'snapshot_last_success_timestamp_seconds') === undefined, read(first, 'snapshots_written_total') === 0);
      await d.post(makeEvent());
      await d.post(makeEvent());
      // Nothing changes after these two events, so once one snapshot holds both, no other is written.
      const last = await until('a snapshot with both events', async () => {
        const s = (await d.stats()).snapshot;
        return !s.inProgress && s.last?.interactions === 2 ? s : undefined;
      });
      assert.equal(await metric('snapshots_written_total'), last.written);
      assert.ok(last.written >= 1);
      assert.equal(await metric('snapshots_failed_total'), 0);
      assert.equal(await metric('snapshot_last_interactions'), 2);
      assert.equal(await metric('snapshot_last_bytes'), last.last.bytes);
      assert.equal(await metric('snapshot_last_success_timestamp_seconds'), Date.parse(last.last.at) / 1000);
    } finally {
      await d.stop();
    }
  });
});

describe('snapshots that cannot be restored', () => {
  let good: Buffer;
  const known = makeEvent();

  before(async () => {
    const snapshot = freshPath();
    const d = await startDaemon({ env: { SNAPSHOT_PATH: snapshot } });
    try {
      await d.post(known);
    } finally {
      await d.stop();
    }
    good = readFileSync(snapshot);
  });

  function resealed(edit: (b: Buffer) => void): Buffer {
    const b = Buffer.from(good);
    edit(b);
    createHash('sha256').update(b.subarray(0, b.length - 32)).digest().copy(b, b.length - 32);
    return b;
  }

  const cases: Array<{ name: string; content: () => Buffer; env?: Record<string, string>; message: RegExp }> = [
    { name: 'corrupt (one flipped byte)', content: () => Buffer.from(good).fill(0x55, 1000, 1001), message: /checksum mismatch/ },
    { name: 'truncated', content: () => good.subarray(0, Math.floor(good.length / 3)), message: /checksum mismatch|truncated/ },
    { name: 'empty', content: () => Buffer.alloc(0), message: /truncated/ },
    { name: 'foreign', content: () => Buffer.from('{"not": "a snapshot"}\n'), message: /not a cxone-dedup snapshot/ },
    { name: 'another format version', content: () => resealed((b) => b.writeUInt16LE(9, 8)), message: /format version 9 is not supported/ },
    { name: 'other filter parameters', content: () => good, env: { DEDUP_CAPACITY: '500000' }, message: /incompatible.*capacity 1000000.*capacity 500000/ },
    { name: 'other key fields', content: () => good, env: { DEDUP_KEY_FIELDS: 'interactionId,updatedTimestamp' }, message: /incompatible.*key fields interactionId,updatedTimestamp/ },
  ];

  for (const c of cases) {
    it(`${c.name}: one error line, empty start, file kept aside; --strict-snapshot exits 1 with one message`, async () => {
      const snapshot = freshPath();
      writeFileSync(snapshot, c.content());
      const strict = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--strict-snapshot'], {
        env: { CXONE_WEBHOOK_SECRET: TEST_SECRET, SNAPSHOT_PATH: snapshot, LOG_LEVEL: 'warn', ...c.env },
      });
      assert.equal(strict.code, 1, strict.stderr);
      const lines = strict.stderr.trim().split('\n').map((l) => JSON.parse(l) as LogLine).filter((l) => !isShimNotice(l));
      assert.equal(lines.length, 1, strict.stderr);
      assert.equal(lines[0]!.level, 'error');
      assert.match(lines[0]!.msg, /^cannot start: SNAPSHOT_PATH .*refusing to start \(--strict-snapshot\)$/);
      assert.match(lines[0]!.msg, c.message);
      assert.ok(existsSync(snapshot), 'strict mode leaves the file where it is');

      const d = await startDaemon({ env: { SNAPSHOT_PATH: snapshot, ...c.env } });
      try {
        const errors = d.logs.filter((l) => l.level === 'error');
        assert.equal(errors.length, 1, d.logText());
        assert.match(errors[0]!.msg, /^snapshot not restored, starting empty: /);
        assert.match(errors[0]!.msg, c.message);
        assert.equal(errors[0]!.movedTo, `${snapshot}.rejected`);
        assert.ok(existsSync(`${snapshot}.rejected`) && !existsSync(snapshot));
        const s = await d.stats();
        assert.equal(s.stateCache.size, 0);
        assert.equal(s.snapshot.restored, null);
        assert.equal((await d.post(known)).json.status, 'processed', 'nothing was restored');
      } finally {
        await d.stop();
      }
      assert.ok(existsSync(snapshot), 'a fresh snapshot was written at shutdown');
    });
  }

  it('a missing file is a normal first start, also with --strict-snapshot', async () => {
    const d = await startDaemon({ env: { SNAPSHOT_PATH: freshPath() }, args: ['--strict-snapshot'] });
    try {
      const lines = snapshotLogs(d);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!.level, 'info');
      assert.match(lines[0]!.msg, /no snapshot yet/);
    } finally {
      await d.stop();
    }
  });

  it('a snapshot directory that does not exist or a path that is a directory stops the start', async () => {
    for (const [p, message] of [
      [path.join(dir, 'no-such-dir', 'x.snap'), /does not exist/],
      [dir, /is not a regular file/],
    ] as const) {
      const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0'], { env: { CXONE_WEBHOOK_SECRET: TEST_SECRET, SNAPSHOT_PATH: p, LOG_LEVEL: 'warn' } });
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trim().split('\n').filter((l) => !isShimNotice(JSON.parse(l) as LogLine));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(JSON.parse(lines[0]!).msg, message);
    }
  });
});
