/** loadConfig reports every problem at once; HOST is validated with the others. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { runCli } from '../helpers/daemon.js';

/** The ConfigError loadConfig throws for this input (fails the test if it does not throw one). */
function problemsOf(env: Record<string, string>, argv: string[] = []): ConfigError {
  try {
    loadConfig(env, argv);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail(`no ConfigError for ${JSON.stringify(env)} ${argv.join(' ')}`);
}

describe('configuration errors', () => {
  it('lists every bad value at once, one per line, each naming its variable and flag', () => {
    const err = problemsOf({ PORT: 'eighty', DEDUP_ERROR_RATE: '1.5', LOG_LEVEL: 'loud' }, ['--state-cache-size', '0', '--unconfirmed-policy=maybe']);
    assert.deepEqual(err.message.split('\n'), err.problems);
    assert.equal(err.problems.length, 5);
    // Environment first (in the order of --help), then the command line in the order given.
    const expected: Array<[RegExp, string]> = [
      [/^PORT \(--port\) must be a whole number between 0 and 65535, got "eighty" \[from environment\]$/, 'PORT'],
      [/^DEDUP_ERROR_RATE \(--dedup-error-rate\) must be a number in \(0, 1\), got "1\.5" \[from environment\]$/, 'DEDUP_ERROR_RATE'],
      [/^LOG_LEVEL \(--log-level\) must be one of debug, info, warn, error, silent, got "loud" \[from environment\]$/, 'LOG_LEVEL'],
      [/^STATE_CACHE_SIZE \(--state-cache-size\) must be a whole number between 1 and 100000000, got "0" \[from command line\]$/, 'STATE_CACHE_SIZE'],
      [/^UNCONFIRMED_POLICY \(--unconfirmed-policy\) must be one of duplicate, new, got "maybe" \[from command line\]$/, 'UNCONFIRMED_POLICY'],
    ];
    expected.forEach(([pattern, what], i) => assert.match(err.problems[i]!, pattern, what));
  });

  it('one problem keeps the one-line message it always had', () => {
    const err = problemsOf({ PORT: '70000' });
    assert.deepEqual(err.problems, [err.message]);
    assert.match(err.message, /^PORT \(--port\) must be a whole number between 0 and 65535, got "70000" \[from environment\]$/);
  });

  it('unknown options, stray arguments and missing values are problems in the same list', () => {
    const err = problemsOf({ MAX_BODY_BYTES: 'lots' }, ['--no-such-flag', 'stray', '--port', '--host', '127.0.0.1', '--dedup-capacity']);
    assert.deepEqual(err.problems, [
      'MAX_BODY_BYTES (--max-body-bytes) must be a whole number between 64 and 67108864, got "lots" [from environment]',
      'unknown option "--no-such-flag"; see --help',
      'unexpected argument "stray"; see --help',
      // `--port --host 127.0.0.1`: the next option is not the port's value, and --host still counts.
      'PORT (--port) needs a value (--port N) [from command line]',
      'DEDUP_CAPACITY (--dedup-capacity) needs a value (--dedup-capacity N) [from command line]',
    ]);
  });

  it('never echoes a secret, bad or not, from the environment or the command line', () => {
    const secrets = {
      CXONE_WEBHOOK_SECRET: 'short-webhook',
      STATE_API_TOKEN: 'token with spaces in it!',
      DELIVERY_SECRET: 'tiny-delivery',
      CXONE_CLIENT_SECRET: 'x'.repeat(5000),
    };
    const err = problemsOf({ ...secrets, PORT: 'nope' }, ['--webhook-secret=cli-short', '--webhook-secrt=misspelt-secret-value-1234']);
    for (const name of ['CXONE_WEBHOOK_SECRET', 'STATE_API_TOKEN', 'DELIVERY_SECRET', 'CXONE_CLIENT_SECRET']) {
      assert.ok(err.problems.some((p) => p.startsWith(`${name} (`)), name);
    }
    assert.ok(err.problems.some((p) => p === 'unknown option "--webhook-secrt"; see --help'));
    for (const value of [...Object.values(secrets), 'cli-short', 'misspelt-secret-value-1234']) {
      assert.ok(!err.message.includes(value.slice(0, 40)), `echoed ${value.slice(0, 20)}`);
    }
  });

  it('still judges combinations of valid settings when other values are bad', () => {
    const err = problemsOf({
      PORT: 'eighty',
      REQUIRE_TIMESTAMP: '1',
      REPLAY_WINDOW_SECONDS: '0',
      INFLUX_URL: 'http://influx.example:8086',
      CXONE_CLIENT_ID: 'client',
    });
    assert.deepEqual(err.problems, [
      'PORT (--port) must be a whole number between 0 and 65535, got "eighty" [from environment]',
      'REQUIRE_TIMESTAMP (--require-timestamp) needs a replay window, but REPLAY_WINDOW_SECONDS (--replay-window) is 0',
      'INFLUX_URL (--influx-url) is set, so INFLUX_ORG and INFLUX_BUCKET must be set too',
      // Each missing CXone companion is its own line, not only the first.
      'CXONE_CLIENT_ID is set, so CXONE_CLIENT_SECRET (--cxone-client-secret) must be set too',
      'CXONE_CLIENT_ID is set, so CXONE_WEBHOOK_URL (--cxone-webhook-url) must be set too',
      'CXONE_CLIENT_ID is set, so CXONE_WEBHOOK_SECRET must be set too (an ephemeral secret would not survive a restart)',
    ]);
  });

  it('does not judge a combination whose own values are bad (no follow-on complaint)', () => {
    assert.deepEqual(problemsOf({ REQUIRE_TIMESTAMP: '1', REPLAY_WINDOW_SECONDS: '-1' }).problems, [
      'REPLAY_WINDOW_SECONDS (--replay-window) must be a number in [0, 604800], got "-1" [from environment]',
    ]);
    assert.equal(problemsOf({ DEDUP_CAPACITY: '0', DEDUP_ERROR_RATE: '1e-300' }).problems.length, 1);
    // A short secret is its own problem, not also "DELIVERY_SECRET is set, so DELIVERY_URL…".
    assert.equal(problemsOf({ DELIVERY_SECRET: 'short' }).problems.length, 1);
    // Valid one by one, impossible together: judged.
    assert.match(problemsOf({ DEDUP_CAPACITY: '1000000000', DEDUP_ERROR_RATE: '1e-300' }).message, /^DEDUP_CAPACITY \(--dedup-capacity\) and DEDUP_ERROR_RATE \(--dedup-error-rate\) give an impossible filter/);
  });
});

describe('HOST', () => {
  it('takes IPv4 and IPv6 addresses (brackets dropped) and host names', () => {
    const cases: Array<[string, string]> = [
      ['127.0.0.1', '127.0.0.1'],
      ['0.0.0.0', '0.0.0.0'],
      ['::', '::'],
      ['::1', '::1'],
      ['[::1]', '::1'],
      [' fe80::1%eth0 ', 'fe80::1%eth0'],
      ['localhost', 'localhost'],
      ['cxone-dedup.internal.example.com.', 'cxone-dedup.internal.example.com.'],
    ];
    for (const [raw, want] of cases) assert.equal(loadConfig({ HOST: raw }).host, want, raw);
    assert.equal(loadConfig({}, ['--host', '[::]']).host, '::');
  });

  it('refuses what is neither, naming HOST (--host)', () => {
    const cases: Array<[string, RegExp]> = [
      ['300.1.2.3', /is not a valid IPv4 address/],
      ['127.1', /is not a valid IPv4 address/],
      ['1:2:3', /is not a valid IPv6 address/],
      ['[::1', /is not a valid IPv6 address/],
      ['my host', /must be an IP address or a host name/],
      ['-leading.example', /must be an IP address or a host name/],
      ['a..b', /must be an IP address or a host name/],
      [`${'a'.repeat(64)}.example`, /must be an IP address or a host name/],
      ['', /must not be empty/],
    ];
    for (const [raw, pattern] of cases) {
      const err = problemsOf({ HOST: raw });
      assert.equal(err.problems.length, 1, raw);
      assert.match(err.message, /^HOST \(--host\) /, raw);
      assert.match(err.message, pattern, raw);
    }
  });
});

describe('cxone-dedup serve with several bad settings', () => {
  it('exits 1 with one JSON error line whose message lists every problem on its own line', async () => {
    const r = await runCli(['serve', '--host', '300.1.2.3', '--bloom', 'natve'], {
      env: { PORT: 'eighty', CXONE_WEBHOOK_SECRET: 'tiny-secret', REQUIRE_TIMESTAMP: 'yes', REPLAY_WINDOW_SECONDS: '0' },
    });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    const line = JSON.parse(lines[0]!) as { level: string; msg: string };
    assert.equal(line.level, 'error');
    const [head, ...problems] = line.msg.split('\n');
    assert.equal(head, 'invalid configuration, 5 problems:');
    assert.deepEqual(
      problems.map((p) => p.split(' ')[0]),
      ['PORT', 'CXONE_WEBHOOK_SECRET', 'HOST', 'BLOOM_IMPLEMENTATION', 'REQUIRE_TIMESTAMP'],
    );
    assert.ok(!r.stderr.includes('tiny-secret'));
  });
});
