import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { WebhookRegistration, type RegisterHooks, type RegistrationStatus } from '../../src/cxone/registration.js';
import { cxoneSettingsFromEnv, resolveCxoneSettings, DEFAULT_TOKEN_URL } from '../../src/cxone/settings.js';
import type { RegisterWebhookResult } from '../../src/cxone/webhooks.js';
import { useCxoneStandin } from '../helpers/cxone-standin.js';

const HOOK_SECRET = 'whsec-registration-0123456789';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
  const records = () => lines.map((l) => JSON.parse(l) as { level: string; msg: string; [k: string]: unknown });
  return { lines, logger, records };
}

describe('CXone settings', () => {
  it('disabled without CXONE_CLIENT_ID', () => {
    assert.equal(cxoneSettingsFromEnv({}).kind, 'disabled');
    assert.equal(cxoneSettingsFromEnv({ CXONE_CLIENT_ID: '  ' }).kind, 'disabled');
  });

  it('defaults: the documented token endpoint and https://<region>/v1', () => {
    const r = cxoneSettingsFromEnv({ CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 's', CXONE_WEBHOOK_URL: 'https://x.example/hook', CXONE_WEBHOOK_SECRET: 'w' });
    assert.equal(r.kind, 'ok');
    assert.equal(r.settings.tokenUrl, DEFAULT_TOKEN_URL);
    assert.equal(r.settings.tokenUrl, 'https://cxone.niceincontact.com/auth/token');
    assert.equal(r.settings.apiBase, 'https://api-us-1.cxone.com/v1');
    const eu = resolveCxoneSettings({ clientId: 'id', clientSecret: 's', webhookUrl: 'https://x.example/hook', webhookSecret: 'w', region: 'api-eu-1.cxone.com' });
    assert.equal(eu.kind === 'ok' && eu.settings.apiBase, 'https://api-eu-1.cxone.com/v1');
  });

  it('overrides, trailing slashes removed from the API base', () => {
    const r = resolveCxoneSettings({
      clientId: 'id',
      clientSecret: 's',
      webhookUrl: 'https://x.example/hook',
      webhookSecret: 'w',
      tokenUrl: 'http://127.0.0.1:9/auth/token',
      apiBase: 'http://127.0.0.1:9/api/v9//',
    });
    assert.equal(r.kind, 'ok');
    assert.equal(r.settings.tokenUrl, 'http://127.0.0.1:9/auth/token');
    assert.equal(r.settings.apiBase, 'http://127.0.0.1:9/api/v9');
  });

  it('lists every problem when enabled but incomplete or malformed', () => {
    const r = cxoneSettingsFromEnv({ CXONE_CLIENT_ID: 'id', CXONE_REGION: 'https://bad/region', CXONE_TOKEN_URL: 'nope' });
    assert.equal(r.kind, 'invalid');
    const all = r.errors.join('\n');
    for (const name of ['CXONE_CLIENT_SECRET', 'CXONE_REGION', 'CXONE_TOKEN_URL', 'CXONE_WEBHOOK_URL', 'CXONE_WEBHOOK_SECRET']) {
      assert.match(all, new RegExp(name));
    }
  });
});

describe('WebhookRegistration', { timeout: 20_000 }, () => {
  const standin = useCxoneStandin();

  const env = () => standin.env({ CXONE_WEBHOOK_URL: 'https://dedup.example.com/hook', CXONE_WEBHOOK_SECRET: HOOK_SECRET });

  it('disabled: one log line says registration is skipped, and nothing is sent', async () => {
    const { logger, records } = capture();
    const reg = new WebhookRegistration({ settings: cxoneSettingsFromEnv({}), logger });
    reg.start();
    reg.start();
    assert.deepEqual(reg.status(), { state: 'disabled', reason: 'CXONE_CLIENT_ID is not set' });
    assert.deepEqual(await reg.settled(), reg.status());
    assert.equal(reg.enabled, false);
    const lines = records();
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 'info');
    assert.match(lines[0]!.msg, /skipped/);
    await reg.stop();
    assert.equal(standin.requests.length, 0);
  });

  it('invalid settings: failed with the reason, nothing is sent', async () => {
    const { logger, records } = capture();
    const reg = new WebhookRegistration({ settings: cxoneSettingsFromEnv({ CXONE_CLIENT_ID: 'x' }), logger });
    reg.start();
    const s = await reg.settled();
    assert.equal(s.state, 'failed');
    assert.equal(s.state === 'failed' && s.code, 'invalid_settings');
    assert.match(s.state === 'failed' ? s.reason : '', /CXONE_CLIENT_SECRET.*CXONE_WEBHOOK_URL.*CXONE_WEBHOOK_SECRET/);
    assert.equal(records().filter((r) => r.level === 'error').length, 1);
  });

  it('start() returns at once; the registration completes in the background', async () => {
    const changes: RegistrationStatus[] = [];
    const reg = new WebhookRegistration({ settings: cxoneSettingsFromEnv(env()), onChange: (s) => changes.push(s) });
    assert.equal(reg.status().state, 'pending');
    reg.start();
    assert.equal(reg.status().state, 'pending', 'start must not block on the network');
    const s = await reg.settled();
    assert.equal(s.state, 'registered');
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s, 'status is JSON-safe');
    assert.deepEqual(
      changes.map((c) => c.state),
      ['pending', 'registered'],
    );
    assert.equal(standin.webhooks.get('https://dedup.example.com/hook')?.secret, HOOK_SECRET);
  });

  it('already registered (409) is a success state', async () => {
    const first = new WebhookRegistration({ settings: cxoneSettingsFromEnv(env()) });
    first.start();
    await first.settled();
    const second = new WebhookRegistration({ settings: cxoneSettingsFromEnv(env()) });
    second.start();
    const s = await second.settled();
    assert.equal(s.state, 'already_registered');
    assert.equal(s.state === 'already_registered' && s.attempts, 1);
  });

  it('reports retrying with the attempt and next retry time, then registered', async () => {
    standin.script('webhooks', { status: 503 }, { status: 429, headers: { 'retry-after': '2' } });
    const seen: RegistrationStatus[] = [];
    const clock = Date.UTC(2030, 5, 1);
    const reg = new WebhookRegistration({
      settings: cxoneSettingsFromEnv(env()),
      now: () => clock,
      random: () => 0.5,
      backoff: { baseMs: 1000, capMs: 10_000 },
      sleep: async () => {},
      onChange: (s) => seen.push(s),
    });
    reg.start();
    await reg.settled();
    const retrying = seen.filter((s) => s.state === 'retrying');
    assert.deepEqual(retrying, [
      { state: 'retrying', attempt: 1, maxAttempts: 8, nextRetryAt: new Date(clock + 500).toISOString(), lastError: retrying[0]!.state === 'retrying' ? retrying[0]!.lastError : '', lastStatus: 503 },
      { state: 'retrying', attempt: 2, maxAttempts: 8, nextRetryAt: new Date(clock + 2000).toISOString(), lastError: retrying[1]!.state === 'retrying' ? retrying[1]!.lastError : '', lastStatus: 429 },
    ]);
    assert.match(retrying[0]!.state === 'retrying' ? retrying[0]!.lastError : '', /HTTP 503/);
    assert.deepEqual(reg.status(), { state: 'registered', at: new Date(clock).toISOString(), attempts: 3, webhookId: reg.status().state === 'registered' ? (reg.status() as { webhookId: string }).webhookId : '' });
  });

  it('403: failed, naming the settings', async () => {
    standin.script('webhooks', { status: 403 });
    const { logger, records } = capture();
    const reg = new WebhookRegistration({ settings: cxoneSettingsFromEnv(env()), logger });
    reg.start();
    const s = await reg.settled();
    assert.equal(s.state, 'failed');
    assert.equal(s.state === 'failed' && s.code, 'forbidden');
    assert.match(s.state === 'failed' ? s.reason : '', /CXONE_CLIENT_ID.*CXONE_CLIENT_SECRET.*webhook:write webhook:read/);
    assert.equal(records().filter((r) => r.level === 'error').length, 1);
  });

  it('stop() during a retry wait ends the registration promptly (shutdown)', async () => {
    standin.script('webhooks', { status: 503 });
    let retried!: () => void;
    const retriedP = new Promise<void>((r) => (retried = r));
    const reg = new WebhookRegistration({
      settings: cxoneSettingsFromEnv(env()),
      backoff: { baseMs: 600_000, capMs: 600_000 },
      random: () => 0.9,
      onChange: (s) => s.state === 'retrying' && retried(),
    });
    reg.start();
    await retriedP;
    assert.equal(reg.status().state, 'retrying');
    await reg.stop();
    const s = reg.status();
    assert.equal(s.state, 'failed');
    assert.equal(s.state === 'failed' && s.code, 'aborted');
    assert.equal(standin.webhookRequests().length, 1);
  });

  it('can be driven by an injected registrar (for daemon-level tests)', async () => {
    let hooks!: RegisterHooks;
    let finish!: (r: RegisterWebhookResult) => void;
    const reg = new WebhookRegistration({
      settings: cxoneSettingsFromEnv(env()),
      now: () => 0,
      registrar: (h) => {
        hooks = h;
        return new Promise((resolve) => (finish = resolve));
      },
    });
    reg.start();
    hooks.onAttempt(1);
    hooks.onRetry({ attempt: 1, maxAttempts: 8, delayMs: 1000, nextAttemptAt: 1000, reason: 'HTTP 503', status: 503 });
    assert.deepEqual(reg.status(), { state: 'retrying', attempt: 1, maxAttempts: 8, nextRetryAt: '1970-01-01T00:00:01.000Z', lastError: 'HTTP 503', lastStatus: 503 });
    hooks.onAttempt(2);
    assert.deepEqual(reg.status(), { state: 'pending', since: '1970-01-01T00:00:00.000Z', attempt: 2 });
    finish({ outcome: 'created', status: 201, attempts: 2 });
    assert.deepEqual(await reg.settled(), { state: 'registered', at: '1970-01-01T00:00:00.000Z', attempts: 2 });
  });

  it('a registrar that throws something unexpected ends as failed, never as an unhandled rejection', async () => {
    const reg = new WebhookRegistration({ settings: cxoneSettingsFromEnv(env()), registrar: async () => Promise.reject(new TypeError('boom')) });
    reg.start();
    const s = await reg.settled();
    assert.equal(s.state, 'failed');
    assert.equal(s.state === 'failed' && s.code, 'internal');
  });

  it('never logs the client secret, the webhook secret or the token', async () => {
    standin.script('webhooks', { status: 503 }, { status: 401 });
    const { lines, logger } = capture();
    const reg = new WebhookRegistration({ settings: cxoneSettingsFromEnv(env()), logger, sleep: async () => {} });
    reg.start();
    await reg.settled();
    const all = lines.join('');
    assert.ok(lines.length >= 3);
    for (const secret of ['standin-secret', HOOK_SECRET, ...standin.issued]) assert.ok(!all.includes(secret), 'a secret leaked into the log');
  });
});
