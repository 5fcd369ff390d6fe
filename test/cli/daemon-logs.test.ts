/** What the daemon's start-up and compaction log lines say: the secret's origin, dates, and a refused --bloom native. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isShimNotice, runCli, startDaemon, TEST_SECRET } from '../helpers/daemon.js';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('the listening line', () => {
  it('says webhookSecret "ephemeral" when the secret was generated, "set" when it was given', async () => {
    const generated = await startDaemon({ secret: null });
    try {
      const line = generated.logs.find((l) => l.msg === 'listening')!;
      assert.equal((line.config as Record<string, unknown>).webhookSecret, 'ephemeral');
    } finally {
      await generated.stop();
    }
    const given = await startDaemon();
    try {
      const line = given.logs.find((l) => l.msg === 'listening')!;
      assert.equal((line.config as Record<string, unknown>).webhookSecret, 'set');
      assert.ok(!given.logText().includes(TEST_SECRET));
    } finally {
      await given.stop();
    }
  });
});

describe('the compaction line', () => {
  it('carries its timestamp as an ISO 8601 string (it was {})', async () => {
    const d = await startDaemon({ env: { COMPACTION_INTERVAL_SECONDS: '0.2' } });
    try {
      const before = Date.now();
      const line = await d.waitForLog((l) => l.msg === 'compaction');
      assert.equal(typeof line.timestamp, 'string', JSON.stringify(line));
      assert.match(line.timestamp as string, ISO_8601);
      const at = Date.parse(line.timestamp as string);
      assert.ok(at >= before - 60_000 && at <= Date.now(), `${line.timestamp} is not about now`);
      assert.equal(line.reason, 'interval');
    } finally {
      await d.stop();
    }
  });
});

describe('--bloom native without the addon', () => {
  const missing = path.join('/nonexistent', 'cxone-dedup.node');

  for (const [how, args, env] of [
    ['--bloom native', ['--bloom', 'native'], {}],
    ['BLOOM_IMPLEMENTATION=native', [], { BLOOM_IMPLEMENTATION: 'native' }],
  ] as const) {
    it(`${how}: the refusal is the only complaint (no fallback line, no ephemeral-secret warning first)`, async () => {
      // No CXONE_WEBHOOK_SECRET: the ephemeral-secret warning must not come before the refusal either.
      const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', ...args], {
        env: { CXONE_DEDUP_NATIVE_PATH: missing, CXONE_WEBHOOK_SECRET: undefined, LOG_LEVEL: 'debug', ...env },
      });
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
      const complaints = lines.filter((l) => (l.level === 'warn' || l.level === 'error') && !isShimNotice(l));
      assert.equal(complaints.length, 1, r.stderr);
      assert.equal(complaints[0]!.level, 'error');
      // The loader names the missing file (its wording: 'not found at …' or 'names …, which does not exist').
      assert.match(complaints[0]!.msg, /^cannot start: BLOOM_IMPLEMENTATION=native: native Bloom filter addon could not load: .*\/nonexistent\/cxone-dedup\.node/);
      assert.doesNotMatch(lines.filter((l) => !isShimNotice(l)).map((l) => JSON.stringify(l)).join('\n'), /fallback|xxhash/i);
      assert.doesNotMatch(r.stderr, /ephemeral/);
      assert.equal(r.stdout, '');
    });
  }

  it('auto (the default): one warning, then it starts on the fallback filter', async () => {
    const d = await startDaemon({ env: { CXONE_DEDUP_NATIVE_PATH: missing } });
    try {
      const warnings = d.logs.filter((l) => l.level === 'warn' && !isShimNotice(l));
      assert.equal(warnings.length, 1, d.logText());
      assert.match(warnings[0]!.msg, /using the xxhash-wasm fallback filter/);
      assert.equal(d.logs.find((l) => l.msg === 'listening')!.bloom, 'fallback');
    } finally {
      await d.stop();
    }
  });
});
