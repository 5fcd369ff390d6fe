import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, redactedConfig, settingsHelp } from '../../src/config.js';

const SECRET = 'a-delivery-secret-of-some-length';

describe('delivery settings', () => {
  it('defaults: no HTTP sink, unsigned, 16 in flight, 20 attempts, one day, 10 s per attempt', () => {
    const c = loadConfig({});
    assert.deepEqual(
      [c.deliveryUrl, c.deliverySecret, c.deliveryConcurrency, c.deliveryMaxAttempts, c.deliveryMaxAgeSeconds, c.deliveryTimeoutMs],
      [undefined, undefined, 16, 20, 86_400, 10_000],
    );
  });

  it('reads the environment and flags (flags win); the URL is kept exactly as given', () => {
    const c = loadConfig(
      { DELIVERY_URL: 'https://downstream.example/hooks/cxone/?tenant=7', DELIVERY_SECRET: SECRET, DELIVERY_CONCURRENCY: '64', DELIVERY_MAX_ATTEMPTS: '5', DELIVERY_MAX_AGE_SECONDS: '3600.5', DELIVERY_TIMEOUT_MS: '2500' },
      ['--delivery-concurrency', '8', '--delivery-timeout-ms=30000'],
    );
    assert.deepEqual(
      [c.deliveryUrl, c.deliverySecret, c.deliveryConcurrency, c.deliveryMaxAttempts, c.deliveryMaxAgeSeconds, c.deliveryTimeoutMs],
      ['https://downstream.example/hooks/cxone/?tenant=7', SECRET, 8, 5, 3600.5, 30_000],
    );
    assert.equal(loadConfig({ DELIVERY_URL: '' }).deliveryUrl, undefined);
  });

  it('a bad value names the setting; the secret is never echoed', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ DELIVERY_URL: 'ftp://downstream.example/x' }, /^DELIVERY_URL \(--delivery-url\) must be an absolute http\(s\) URL/],
      [{ DELIVERY_URL: 'downstream.example/x' }, /^DELIVERY_URL .*absolute/],
      [{ DELIVERY_URL: 'https://user:pw@downstream.example/x' }, /^DELIVERY_URL .*credentials/],
      [{ DELIVERY_URL: 'https://d.example/x', DELIVERY_SECRET: 'too-short' }, /^DELIVERY_SECRET \(--delivery-secret\) must be at least 16 characters/],
      [{ DELIVERY_CONCURRENCY: '0' }, /^DELIVERY_CONCURRENCY .*between 1 and 1024/],
      [{ DELIVERY_CONCURRENCY: 'many' }, /^DELIVERY_CONCURRENCY/],
      [{ DELIVERY_MAX_ATTEMPTS: '2.5' }, /^DELIVERY_MAX_ATTEMPTS/],
      [{ DELIVERY_MAX_AGE_SECONDS: '0' }, /^DELIVERY_MAX_AGE_SECONDS/],
      [{ DELIVERY_TIMEOUT_MS: '50' }, /^DELIVERY_TIMEOUT_MS .*between 100 and 600000/],
      [{ DELIVERY_SECRET: SECRET }, /^DELIVERY_SECRET is set, so DELIVERY_URL/],
    ];
    for (const [env, pattern] of cases) {
      assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && pattern.test(err.message), JSON.stringify(env));
    }
    assert.throws(() => loadConfig({ DELIVERY_URL: 'https://d.example/x', DELIVERY_SECRET: 'short-secret' }), (err: unknown) => err instanceof ConfigError && !err.message.includes('short-secret'));
  });

  it('the secret is redacted in the logged configuration and the help', () => {
    const c = loadConfig({ DELIVERY_URL: 'https://d.example/x', DELIVERY_SECRET: SECRET });
    const shown = redactedConfig(c);
    assert.equal(shown.deliverySecret, 'set');
    assert.equal(shown.deliveryUrl, 'https://d.example/x');
    assert.ok(!JSON.stringify(shown).includes(SECRET));
    const help = settingsHelp();
    for (const env of ['DELIVERY_URL', 'DELIVERY_SECRET', 'DELIVERY_CONCURRENCY', 'DELIVERY_MAX_ATTEMPTS', 'DELIVERY_MAX_AGE_SECONDS', 'DELIVERY_TIMEOUT_MS']) assert.match(help, new RegExp(`\\b${env}\\b`));
  });
});

describe('delivery settings → sink and dispatcher options', () => {
  it('no DELIVERY_URL, no HTTP sink; otherwise one built from the settings', async () => {
    const { httpSinkFromConfig, dispatcherLimits } = await import('../../src/delivery/from-config.js');
    assert.equal(httpSinkFromConfig(loadConfig({})), undefined);
    const c = loadConfig({ DELIVERY_URL: 'http://127.0.0.1:9/hook', DELIVERY_SECRET: SECRET, DELIVERY_CONCURRENCY: '4', DELIVERY_MAX_AGE_SECONDS: '1.5' });
    const sink = httpSinkFromConfig(c)!;
    assert.equal(sink.url.href, 'http://127.0.0.1:9/hook');
    assert.match(sink.headersFor({ seq: 1, id: 'k', status: 'processed', interactionId: 'i', acceptedAtMs: 0, body: Buffer.from('{}') })['x-dedup-signature'] ?? '', /^[0-9a-f]{64}$/);
    sink.close();
    assert.deepEqual(dispatcherLimits(c), { concurrency: 4, maxAttempts: 20, maxAgeMs: 1500 });
  });
});
