import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { TokenProvider, type AccessToken, type BearerTokenSource } from '../../src/cxone/oauth.js';
import { sleep as realSleep } from '../../src/backoff.js';
import {
  registerWebhook,
  WebhookRegistrationError,
  type RegisterWebhookOptions,
  type RetryInfo,
} from '../../src/cxone/webhooks.js';
import { useCxoneStandin } from '../helpers/cxone-standin.js';

const HOOK_URL = 'https://dedup.example.com/cxone/webhook/data-action';
const HOOK_SECRET = 'whsec-0123456789abcdef';

const isCode = (code: string) => (e: unknown) => e instanceof WebhookRegistrationError && e.code === code;

describe('registerWebhook against the stand-in', { timeout: 20_000 }, () => {
  const standin = useCxoneStandin();
  let sleeps: number[];
  let retries: RetryInfo[];
  let clock: number;

  beforeEach(() => {
    assert.equal(standin.pending('token') + standin.pending('webhooks'), 0, 'a previous test left scripted answers');
    sleeps = [];
    retries = [];
    clock = Date.UTC(2030, 0, 1, 12, 0, 0);
  });

  const tokens = () => new TokenProvider({ tokenUrl: standin.tokenUrl, clientId: 'standin-client', clientSecret: 'standin-secret' });

  const options = (extra: Partial<RegisterWebhookOptions> = {}): RegisterWebhookOptions => ({
    apiBase: standin.apiBase,
    tokenProvider: tokens(),
    url: HOOK_URL,
    secret: HOOK_SECRET,
    backoff: { baseMs: 100, capMs: 1000 },
    random: () => 0.5,
    // Records the schedule instead of waiting: the retry loop's only clock.
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    now: () => clock,
    onRetry: (info) => retries.push(info),
    ...extra,
  });

  it('posts the subscription with the bearer token and exact JSON body', async () => {
    const result = await registerWebhook(options());
    assert.deepEqual(result, { outcome: 'created', status: 201, attempts: 1, webhookId: 'wh-1' });
    const [req] = standin.webhookRequests();
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/v1/webhooks');
    assert.equal(req.headers.authorization, `Bearer ${standin.issued.at(-1)}`);
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.body, JSON.stringify({ url: HOOK_URL, events: ['data.action.updated'], secret: HOOK_SECRET }));
    assert.deepEqual(standin.webhooks.get(HOOK_URL)?.events, ['data.action.updated']);
    assert.deepEqual(sleeps, []);
  });

  it('409: the subscription already exists, which is success', async () => {
    await registerWebhook(options());
    const again = await registerWebhook(options());
    assert.deepEqual(again, { outcome: 'already_exists', status: 409, attempts: 1 });
    assert.equal(standin.webhooks.size, 1);
  });

  it('retries 5xx with exponential backoff and full jitter', async () => {
    standin.script('webhooks', { status: 503 }, { status: 500 }, { status: 502 });
    const result = await registerWebhook(options());
    assert.equal(result.outcome, 'created');
    assert.equal(result.attempts, 4);
    // base 100 ms, random 0.5: half of 100, 200, 400.
    assert.deepEqual(sleeps, [50, 100, 200]);
    assert.deepEqual(retries.map((r) => [r.attempt, r.status, r.delayMs, r.nextAttemptAt - clock]), [
      [1, 503, 50, 50],
      [2, 500, 100, 100],
      [3, 502, 200, 200],
    ]);
    assert.equal(standin.webhookRequests().length, 4);
  });

  it('honours Retry-After on 429, as delta-seconds and as an HTTP-date', async () => {
    standin.script(
      'webhooks',
      { status: 429, headers: { 'retry-after': '3' } },
      { status: 429, headers: { 'retry-after': new Date(clock + 4000).toUTCString() } },
      { status: 503, headers: { 'retry-after': '86400' } },
    );
    const result = await registerWebhook(options({ backoff: { baseMs: 100, capMs: 1000, maxRetryAfterMs: 60_000 } }));
    assert.equal(result.attempts, 4);
    assert.deepEqual(sleeps, [3000, 4000, 60_000]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    standin.script('webhooks', { status: 503 }, { status: 503 }, { status: 503 });
    await assert.rejects(registerWebhook(options({ maxAttempts: 3 })), (e: unknown) => {
      assert.ok(isCode('exhausted')(e));
      assert.equal((e as WebhookRegistrationError).attempts, 3);
      assert.equal((e as WebhookRegistrationError).status, 503);
      assert.match((e as Error).message, /after 3 attempts.*HTTP 503/);
      return true;
    });
    assert.equal(standin.webhookRequests().length, 3);
    assert.deepEqual(sleeps, [50, 100], 'no wait after the last attempt');
  });

  it('the default bound is 8 attempts', async () => {
    standin.script('webhooks', ...Array.from({ length: 8 }, () => ({ status: 500 })));
    await assert.rejects(registerWebhook(options()), isCode('exhausted'));
    assert.equal(standin.webhookRequests().length, 8);
    assert.equal(sleeps.length, 7);
  });

  it('401 on a cached token: invalidates it and retries once at once with a fresh one', async () => {
    const provider = tokens();
    const stale = await provider.getToken();
    standin.revoke(stale);
    const result = await registerWebhook(options({ tokenProvider: provider }));
    assert.equal(result.outcome, 'created');
    assert.equal(result.attempts, 2);
    const [first, second] = standin.webhookRequests();
    assert.equal(first?.headers.authorization, `Bearer ${stale}`);
    assert.equal(second?.headers.authorization, `Bearer ${standin.issued.at(-1)}`);
    assert.notEqual(standin.issued.at(-1), stale);
    assert.deepEqual(sleeps, [], 'the fresh-token retry does not wait');
    assert.equal(standin.tokenRequests().length, 2);
  });

  it('401 on a fresh token stops at once, naming the settings and scopes', async () => {
    standin.script('webhooks', { status: 401 });
    await assert.rejects(registerWebhook(options()), (e: unknown) => {
      assert.ok(isCode('unauthorized')(e));
      assert.equal((e as WebhookRegistrationError).status, 401);
      assert.match((e as Error).message, /CXONE_CLIENT_ID/);
      assert.match((e as Error).message, /CXONE_CLIENT_SECRET/);
      assert.match((e as Error).message, /webhook:write webhook:read/);
      return true;
    });
    assert.equal(standin.webhookRequests().length, 1);
  });

  it('401 again after the fresh-token retry stops', async () => {
    const provider = tokens();
    await provider.getToken();
    standin.script('webhooks', { status: 401 }, { status: 401 });
    await assert.rejects(registerWebhook(options({ tokenProvider: provider })), isCode('unauthorized'));
    assert.equal(standin.webhookRequests().length, 2);
  });

  it('403 stops at once, naming the settings and scopes', async () => {
    standin.script('webhooks', { status: 403 });
    await assert.rejects(registerWebhook(options()), (e: unknown) => {
      assert.ok(isCode('forbidden')(e));
      assert.match((e as Error).message, /CXONE_CLIENT_ID.*CXONE_CLIENT_SECRET.*webhook:write webhook:read/);
      return true;
    });
    assert.equal(standin.webhookRequests().length, 1);
    assert.deepEqual(sleeps, []);
  });

  it('bad client credentials at the token endpoint stop before any webhook call', async () => {
    const provider = new TokenProvider({ tokenUrl: standin.tokenUrl, clientId: 'standin-client', clientSecret: 'not-the-secret' });
    await assert.rejects(registerWebhook(options({ tokenProvider: provider })), (e: unknown) => {
      assert.ok(isCode('unauthorized')(e));
      assert.match((e as Error).message, /CXONE_CLIENT_SECRET/);
      assert.doesNotMatch((e as Error).message, /not-the-secret/);
      return true;
    });
    assert.equal(standin.webhookRequests().length, 0);
  });

  it('a token endpoint outage is retried like any other', async () => {
    standin.script('token', { status: 503, headers: { 'retry-after': '2' } });
    const result = await registerWebhook(options());
    assert.equal(result.attempts, 2);
    assert.deepEqual(sleeps, [2000]);
  });

  it('retries dropped connections and timeouts', async () => {
    standin.script('webhooks', { destroy: true }, { delayMs: 5000 });
    // 1 s: the successful third attempt must not time out on a slow machine; the 5 s delay still does.
    const result = await registerWebhook(options({ requestTimeoutMs: 1000 }));
    assert.equal(result.outcome, 'created');
    assert.equal(result.attempts, 3);
    assert.match(retries[0]!.reason, /failed/);
    assert.match(retries[1]!.reason, /timed out after 1000 ms/);
  });

  it('other 4xx are rejected without retry, with a hint', async () => {
    standin.script('webhooks', { status: 404, body: { error: 'not_found' } });
    await assert.rejects(registerWebhook(options()), (e: unknown) => isCode('rejected')(e) && /HTTP 404.*CXONE_API_BASE/.test((e as Error).message));
    const bad = await registerWebhook(options({ url: 'http://' })).catch((e: unknown) => e);
    assert.ok(isCode('invalid_options')(bad), 'an unusable webhook URL is refused before sending');
    assert.equal(standin.webhookRequests().length, 1);
  });

  it('the stand-in itself rejects a malformed subscription with 400, and the client reports it', async () => {
    await assert.rejects(
      registerWebhook(options({ events: ['data.action.updated', ''] })),
      isCode('invalid_options'),
    );
    standin.script('webhooks', { status: 400, body: { error: 'invalid_request', message: 'url must be public' } });
    await assert.rejects(registerWebhook(options()), (e: unknown) => isCode('rejected')(e) && /HTTP 400.*url must be public.*CXONE_WEBHOOK_URL/.test((e as Error).message));
  });

  it('abort during the wait between attempts stops at once (shutdown)', async () => {
    standin.script('webhooks', { status: 503 });
    const ac = new AbortController();
    const p = registerWebhook(
      options({
        sleep: realSleep,
        backoff: { baseMs: 600_000, capMs: 600_000 },
        signal: ac.signal,
        onRetry: () => ac.abort(),
      }),
    );
    await assert.rejects(p, isCode('aborted'));
    assert.equal(standin.webhookRequests().length, 1);
  });

  it('abort during a slow request stops at once (shutdown)', async () => {
    standin.script('webhooks', { delayMs: 5000 });
    const ac = new AbortController();
    const p = registerWebhook(options({ signal: ac.signal, requestTimeoutMs: 60_000 }));
    while (standin.webhookRequests().length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await assert.rejects(p, isCode('aborted'));
    assert.deepEqual(sleeps, []);
  });

  it('never sends a request when already aborted', async () => {
    await assert.rejects(registerWebhook(options({ signal: AbortSignal.abort() })), isCode('aborted'));
    assert.equal(standin.requests.length, 0);
  });
});

describe('registerWebhook retry schedule on fake timers', { timeout: 10_000 }, () => {
  it('sends nothing before Retry-After has passed, then retries', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const calls: string[] = [];
    const answers = [
      new Response('{"error":"busy"}', { status: 429, headers: { 'retry-after': '30' } }),
      new Response('{"error":"down"}', { status: 503 }),
      new Response('{"id":"w1"}', { status: 201 }),
    ];
    const tokenSource: BearerTokenSource = {
      getAccessToken: async (): Promise<AccessToken> => ({ token: 't', expiresAt: Infinity, renewAt: Infinity, fromCache: false }),
      invalidate: () => {},
    };
    const flush = async () => {
      for (let i = 0; i < 20; i += 1) await Promise.resolve();
    };
    const p = registerWebhook({
      apiBase: 'https://cxone.invalid/v1',
      tokenProvider: tokenSource,
      url: HOOK_URL,
      secret: HOOK_SECRET,
      random: () => 0.5,
      backoff: { baseMs: 1000, capMs: 10_000 },
      fetch: async (input) => {
        calls.push(String(input));
        return answers.shift()!;
      },
    });
    await flush();
    assert.equal(calls.length, 1);
    t.mock.timers.tick(29_999);
    await flush();
    assert.equal(calls.length, 1, 'no retry before Retry-After');
    t.mock.timers.tick(1);
    await flush();
    assert.equal(calls.length, 2);
    // Second retry: full jitter, attempt 2 → 0.5 × min(10 s, 1 s × 2) = 1000 ms.
    t.mock.timers.tick(999);
    await flush();
    assert.equal(calls.length, 2);
    t.mock.timers.tick(1);
    const result = await p;
    assert.deepEqual(result, { outcome: 'created', status: 201, attempts: 3, webhookId: 'w1' });
    assert.deepEqual(calls, Array(3).fill('https://cxone.invalid/v1/webhooks'));
  });
});
