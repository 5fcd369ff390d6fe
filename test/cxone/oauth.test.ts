import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import {
  TokenProvider,
  TokenError,
  basicClientAuth,
  parseTokenResponse,
  renewDelayMs,
  tokenRequestBody,
  WEBHOOK_SCOPES,
} from '../../src/cxone/oauth.js';
import { startCxoneStandin, useCxoneStandin } from '../helpers/cxone-standin.js';

const ID = 'standin-client';
const SECRET = 'standin-secret';

describe('token request format', () => {
  it('form body with the webhook scopes, exactly', () => {
    assert.equal(tokenRequestBody(WEBHOOK_SCOPES), 'grant_type=client_credentials&scope=webhook%3Awrite+webhook%3Aread');
  });

  it('Basic auth over form-encoded id and secret (RFC 6749 §2.3.1)', () => {
    assert.equal(basicClientAuth('abc', 'xyz'), `Basic ${Buffer.from('abc:xyz').toString('base64')}`);
    const header = basicClientAuth('id:with space', 'p@ss+wörd/=');
    assert.equal(Buffer.from(header.slice(6), 'base64').toString(), 'id%3Awith+space:p%40ss%2Bw%C3%B6rd%2F%3D');
  });

  it('renews at 85 % of the lifetime or 60 s before expiry, never in the first half', () => {
    assert.equal(renewDelayMs(3_600_000), 3_060_000);
    assert.equal(renewDelayMs(300_000), 240_000);
    assert.equal(renewDelayMs(100_000), 50_000);
    assert.equal(renewDelayMs(10_000), 5_000);
  });
});

describe('parseTokenResponse', () => {
  it('accepts a proper Bearer token response', () => {
    assert.deepEqual(parseTokenResponse('{"access_token":"abc","token_type":"bearer","expires_in":3600}'), { accessToken: 'abc', expiresIn: 3600 });
  });

  it('caps an absurd lifetime at one day', () => {
    assert.equal(parseTokenResponse('{"access_token":"a","token_type":"Bearer","expires_in":1e12}').expiresIn, 86_400);
  });

  it('rejects anything else with invalid_response', () => {
    const bad = [
      'not json',
      '[]',
      '{"token_type":"Bearer","expires_in":3600}',
      '{"access_token":"","token_type":"Bearer","expires_in":3600}',
      '{"access_token":"a b","token_type":"Bearer","expires_in":3600}',
      '{"access_token":"a","token_type":"mac","expires_in":3600}',
      '{"access_token":"a","expires_in":3600}',
      '{"access_token":"a","token_type":"Bearer"}',
      '{"access_token":"a","token_type":"Bearer","expires_in":"3600"}',
      '{"access_token":"a","token_type":"Bearer","expires_in":0}',
      '{"access_token":"a","token_type":"Bearer","expires_in":-5}',
    ];
    for (const text of bad) {
      assert.throws(() => parseTokenResponse(text), (e: unknown) => e instanceof TokenError && e.code === 'invalid_response' && !e.retryable, text);
    }
  });
});

describe('TokenProvider against the stand-in', { timeout: 20_000 }, () => {
  let clock: number;
  const now = () => clock;
  const standin = useCxoneStandin({ now: () => clock });
  beforeEach(() => {
    clock = Date.UTC(2030, 0, 1);
  });

  const provider = (extra: Partial<ConstructorParameters<typeof TokenProvider>[0]> = {}) =>
    new TokenProvider({ tokenUrl: standin.tokenUrl, clientId: ID, clientSecret: SECRET, now, ...extra });

  it('sends the exact client-credentials request', async () => {
    const token = await provider().getToken();
    assert.equal(token, standin.issued.at(-1));
    const [req] = standin.tokenRequests();
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/auth/token');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from(`${ID}:${SECRET}`).toString('base64')}`);
    assert.equal(req.body, 'grant_type=client_credentials&scope=webhook%3Awrite+webhook%3Aread');
    assert.equal(req.headers.accept, 'application/json');
  });

  it('encodes special characters in the credentials so the server can decode them', async () => {
    const odd = await startCxoneStandin({ clientId: 'id:with space', clientSecret: 'p@ss+wörd/=%' });
    try {
      const p = new TokenProvider({ tokenUrl: odd.tokenUrl, clientId: 'id:with space', clientSecret: 'p@ss+wörd/=%' });
      assert.equal(await p.getToken(), odd.issued[0]);
    } finally {
      await odd.close();
    }
  });

  it('caches the token until its renewal time, then renews', async () => {
    const p = provider();
    const first = await p.getAccessToken();
    assert.equal(first.fromCache, false);
    clock += 3_059_000; // renewal at 85 % of 3600 s = 3060 s
    const second = await p.getAccessToken();
    assert.equal(second.fromCache, true);
    assert.equal(second.token, first.token);
    assert.equal(standin.tokenRequests().length, 1);
    clock += 2000;
    const third = await p.getAccessToken();
    assert.equal(third.fromCache, false);
    assert.notEqual(third.token, first.token);
    assert.equal(standin.tokenRequests().length, 2);
  });

  it('renews a short-lived token halfway through its life', async () => {
    standin.script('token', { expiresIn: 4 });
    const p = provider();
    const first = await p.getToken();
    clock += 1999;
    assert.equal(await p.getToken(), first);
    clock += 2;
    assert.notEqual(await p.getToken(), first);
    assert.equal(standin.tokenRequests().length, 2);
  });

  it('sends one token request for many concurrent callers', async () => {
    standin.script('token', { delayMs: 100 });
    const p = provider();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => p.getToken()));
    assert.equal(new Set(tokens).size, 1);
    assert.equal(standin.tokenRequests().length, 1);
    assert.equal(p.requestCount, 1);
  });

  it('sends one renewal for concurrent callers once the token is due', async () => {
    const p = provider();
    const old = await p.getToken();
    clock += 3_500_000;
    standin.script('token', { delayMs: 50 });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => p.getToken()));
    assert.equal(new Set(tokens).size, 1);
    assert.notEqual(tokens[0], old);
    assert.equal(standin.tokenRequests().length, 2);
  });

  it('keeps serving the current token when a renewal fails before expiry, and fails after it', async () => {
    const p = provider();
    const old = await p.getToken();
    clock += 3_300_000; // due for renewal, not expired
    standin.script('token', { status: 503 });
    const served = await p.getAccessToken();
    assert.equal(served.token, old);
    assert.equal(served.fromCache, true);
    clock += 400_000; // now past expiry
    standin.script('token', { status: 503 });
    await assert.rejects(p.getToken(), (e: unknown) => e instanceof TokenError && e.status === 503 && e.retryable);
  });

  it('invalidate() drops only the matching cached token', async () => {
    const p = provider();
    const t1 = await p.getToken();
    p.invalidate('some-other-token');
    assert.equal(await p.getToken(), t1);
    p.invalidate(t1);
    const t2 = await p.getToken();
    assert.notEqual(t2, t1);
    assert.equal(standin.tokenRequests().length, 2);
  });

  it('bad client credentials: 401 invalid_client, not retryable, names the settings, never the secret', async () => {
    const lines: string[] = [];
    const p = new TokenProvider({
      tokenUrl: standin.tokenUrl,
      clientId: ID,
      clientSecret: 'wrong-secret-value',
      logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    });
    const err = await p.getToken().then(
      () => assert.fail('expected a TokenError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TokenError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'invalid_client');
    assert.equal(err.retryable, false);
    assert.match(err.message, /CXONE_CLIENT_ID and CXONE_CLIENT_SECRET/);
    assert.doesNotMatch(err.message + lines.join(''), /wrong-secret-value/);
  });

  it('a scope the client may not have: invalid_scope naming the scopes', async () => {
    const narrow = await startCxoneStandin({ allowedScopes: ['webhook:read'] });
    try {
      const p = new TokenProvider({ tokenUrl: narrow.tokenUrl, clientId: ID, clientSecret: SECRET });
      await assert.rejects(p.getToken(), (e: unknown) => e instanceof TokenError && e.code === 'invalid_scope' && /webhook:write webhook:read/.test(e.message));
    } finally {
      await narrow.close();
    }
  });

  it('429 and 5xx are retryable and carry Retry-After', async () => {
    standin.script('token', { status: 429, headers: { 'retry-after': '7' } }, { status: 500 });
    const p = provider();
    await assert.rejects(p.getToken(), (e: unknown) => e instanceof TokenError && e.status === 429 && e.retryable && e.retryAfterMs === 7000);
    await assert.rejects(p.getToken(), (e: unknown) => e instanceof TokenError && e.status === 500 && e.retryable && e.retryAfterMs === undefined);
    assert.equal(standin.pending('token'), 0);
  });

  it('a malformed token response is not retried blindly', async () => {
    standin.script('token', { status: 200, body: { access_token: 'x', token_type: 'mac', expires_in: 60 } });
    await assert.rejects(provider().getToken(), (e: unknown) => e instanceof TokenError && e.code === 'invalid_response' && !e.retryable);
  });

  it('times out a slow token endpoint', async () => {
    standin.script('token', { delayMs: 5000 });
    await assert.rejects(provider({ requestTimeoutMs: 100 }).getToken(), (e: unknown) => e instanceof TokenError && e.code === 'timeout' && e.retryable);
  });

  it('a dropped connection is a retryable network error', async () => {
    standin.script('token', { destroy: true });
    await assert.rejects(provider().getToken(), (e: unknown) => e instanceof TokenError && e.code === 'network' && e.retryable);
  });

  it("a caller's abort stops only that caller; the shared request completes for the others", async () => {
    standin.script('token', { delayMs: 200 });
    const p = provider();
    const ac = new AbortController();
    const quitter = p.getToken(ac.signal);
    const stayer = p.getToken();
    ac.abort();
    await assert.rejects(quitter, (e: unknown) => e instanceof TokenError && e.code === 'aborted');
    assert.equal(await stayer, standin.issued.at(-1));
    assert.equal(standin.tokenRequests().length, 1);
  });

  it("the provider's own signal aborts the request in flight (shutdown)", async () => {
    standin.script('token', { delayMs: 5000 });
    const ac = new AbortController();
    const p = provider({ signal: ac.signal });
    const pending = p.getToken();
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(pending, (e: unknown) => e instanceof TokenError && e.code === 'aborted');
  });

  it('never logs the secret or the token', async () => {
    const lines: string[] = [];
    const p = provider({ logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
    const token = await p.getToken();
    assert.ok(lines.length > 0, 'expected a debug line');
    assert.doesNotMatch(lines.join(''), new RegExp(`${SECRET}|${token}`));
  });

  it('refuses bad construction arguments with clear errors', () => {
    assert.throws(() => new TokenProvider({ tokenUrl: 'not a url', clientId: ID, clientSecret: SECRET }), /CXONE_TOKEN_URL/);
    assert.throws(() => new TokenProvider({ tokenUrl: 'ftp://x/y', clientId: ID, clientSecret: SECRET }), /http/);
    assert.throws(() => new TokenProvider({ tokenUrl: standin.tokenUrl, clientId: '', clientSecret: SECRET }), /CXONE_CLIENT_ID/);
    assert.throws(() => new TokenProvider({ tokenUrl: standin.tokenUrl, clientId: ID, clientSecret: '' }), /CXONE_CLIENT_SECRET/);
  });
});

describe('the stand-in validates like the real token endpoint', { timeout: 10_000 }, () => {
  const standin = useCxoneStandin();

  const post = (body: string, headers: Record<string, string>) =>
    fetch(standin.tokenUrl, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  const basic = `Basic ${Buffer.from(`${ID}:${SECRET}`).toString('base64')}`;

  it('wrong grant type → 400 unsupported_grant_type', async () => {
    const r = await post('grant_type=password&username=a&password=b', { authorization: basic });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: string }).error, 'unsupported_grant_type');
  });

  it('missing or wrong client authentication → 401 invalid_client', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: `Basic ${Buffer.from(`${ID}:nope`).toString('base64')}` }]) {
      const r = await post('grant_type=client_credentials', headers);
      assert.equal(r.status, 401);
      assert.equal(((await r.json()) as { error: string }).error, 'invalid_client');
    }
  });

  it('webhooks without a bearer token → 401', async () => {
    const r = await fetch(`${standin.apiBase}/webhooks`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 401);
    await r.body?.cancel();
  });
});
