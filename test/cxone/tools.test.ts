import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { signBody, signTimestampedBody, verifySignature } from '../../src/cxone/signing.js';
import { WebhookRegistrationError } from '../../src/cxone/webhooks.js';
import { runSend, runSign, runSubscribe, type ToolIO } from '../../src/cli-tools.js';
import { buildEvent, parseEventLines, send, sign, subscribe, ToolError } from '../../src/cxone/tools.js';
import { useCxoneStandin } from '../helpers/cxone-standin.js';

const SECRET = 'tools-test-secret-0123456789';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A small receiver that checks signatures like the daemon and answers like it. */
async function startReceiver(secret = SECRET): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ path: req.url ?? '', headers: { ...req.headers }, body: body.toString('utf8') });
      const sig = req.headers['x-nice-signature'];
      const ts = req.headers['x-nice-timestamp'];
      const ok =
        typeof sig === 'string' &&
        (typeof ts === 'string' ? signTimestampedBody(secret, ts, body) === sig : verifySignature(secret, body, sig));
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { status: 'processed' } : { error: 'bad_signature' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/cxone/webhook/data-action`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// An empty working directory for the tools: no daemon's ephemeral secret there to fall back on.
const EMPTY_DIR = mkdtempSync(path.join(tmpdir(), 'cxone-dedup-tools-'));

function io(env: Record<string, string> = {}, stdin: string | Buffer = '', cwd = EMPTY_DIR): ToolIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { stdin: Readable.from([Buffer.from(stdin)]), stdout: (s) => out.push(s), stderr: (s) => err.push(s), env, cwd, out, err };
}

describe('sign', () => {
  it('signs the exact bytes read from the stream, trailing newline included', async () => {
    const sig = await sign({ secret: SECRET, input: Readable.from([Buffer.from('{"a":'), Buffer.from('1}\n')]) });
    assert.equal(sig, signBody(SECRET, '{"a":1}\n'));
    assert.notEqual(sig, signBody(SECRET, '{"a":1}'));
  });

  it('signs "<timestamp>.<body>" when given a timestamp', async () => {
    assert.equal(await sign({ secret: SECRET, input: Readable.from(['{}']), timestamp: '1700000000' }), signTimestampedBody(SECRET, '1700000000', '{}'));
  });

  it('refuses a missing secret, a bad timestamp and oversized input', async () => {
    await assert.rejects(sign({ secret: '', input: Readable.from(['x']) }), ToolError);
    await assert.rejects(sign({ secret: SECRET, input: Readable.from(['x']), timestamp: 'yesterday' }), /whole seconds/);
    await assert.rejects(sign({ secret: SECRET, input: Readable.from([Buffer.alloc(20)]), maxBytes: 10 }), /larger than 10 bytes/);
  });

  it('runSign prints the signature; the secret defaults to CXONE_WEBHOOK_SECRET', async () => {
    const a = io({ CXONE_WEBHOOK_SECRET: SECRET }, '{"x":1}');
    assert.equal(await runSign([], a), 0);
    assert.deepEqual(a.out, [`${signBody(SECRET, '{"x":1}')}\n`]);
    const b = io({}, '{"x":1}');
    assert.equal(await runSign(['--secret', 'other-secret'], b), 0);
    assert.deepEqual(b.out, [`${signBody('other-secret', '{"x":1}')}\n`]);
  });

  it('runSign falls back on the ephemeral secret a daemon left in the working directory, after the flag and the environment', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cxone-dedup-ephemeral-'));
    try {
      const ephemeral = 'ab'.repeat(32);
      await writeFile(path.join(dir, '.cxone-dedup-secret'), `${ephemeral}\n`, { mode: 0o600 });
      const a = io({}, '{"x":1}', dir);
      assert.equal(await runSign([], a), 0);
      assert.deepEqual(a.out, [`${signBody(ephemeral, '{"x":1}')}\n`]);
      assert.match(a.err.join(''), /using the ephemeral secret .*\.cxone-dedup-secret/);
      assert.ok(!a.err.join('').includes(ephemeral));
      const b = io({ CXONE_WEBHOOK_SECRET: SECRET }, '{"x":1}', dir);
      assert.equal(await runSign([], b), 0);
      assert.deepEqual(b.out, [`${signBody(SECRET, '{"x":1}')}\n`]);
      assert.deepEqual(b.err, []);
      // A file that does not hold a generated secret is not used.
      await writeFile(path.join(dir, '.cxone-dedup-secret'), 'not a secret\n');
      const c = io({}, '{"x":1}', dir);
      assert.equal(await runSign([], c), 2);
      assert.match(c.err.join(''), /a secret is required/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runSign: usage errors exit 2 with the usage text', async () => {
    for (const argv of [['--bogus'], []]) {
      const c = io({}, 'x');
      assert.equal(await runSign(argv, c), 2, argv.join(' '));
      assert.match(c.err.join(''), /Usage: cxone-dedup sign/);
      assert.deepEqual(c.out, []);
    }
  });
});

describe('send', { timeout: 20_000 }, () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dir: string;
  before(async () => {
    receiver = await startReceiver();
    dir = await mkdtemp(path.join(tmpdir(), 'cxone-tools-'));
  });
  after(async () => {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    receiver.received.length = 0;
  });

  it('posts one signed event built from fields and returns the response', async () => {
    const results = await send({
      url: receiver.url,
      secret: SECRET,
      event: { interactionId: 'i-1', dataActionId: 'da-1', updatedTimestamp: '2030-01-01T00:00:00Z', payload: { k: 'v' } },
    });
    assert.deepEqual(results, [{ index: 1, status: 200, body: '{"status":"processed"}', ok: true }]);
    const [r] = receiver.received;
    assert.ok(r);
    assert.equal(r.path, '/cxone/webhook/data-action');
    assert.equal(r.body, JSON.stringify({ interactionId: 'i-1', dataActionId: 'da-1', updatedTimestamp: '2030-01-01T00:00:00Z', payload: { k: 'v' } }));
    assert.equal(r.headers['x-nice-signature'], signBody(SECRET, r.body));
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-nice-timestamp'], undefined);
  });

  it('fills in a random interactionId and the current time', () => {
    const e = buildEvent({}, () => Date.UTC(2030, 0, 2));
    assert.match(e.interactionId, /^[0-9a-f-]{36}$/);
    assert.equal(e.updatedTimestamp, '2030-01-02T00:00:00.000Z');
    assert.equal(e.dataActionId, 'cli');
    assert.notEqual(buildEvent().interactionId, e.interactionId);
  });

  it('sends each line of an NDJSON file exactly as written', async () => {
    const file = path.join(dir, 'events.ndjson');
    const lines = ['{"interactionId":"a","dataActionId":"d","updatedTimestamp":"2030-01-01T00:00:00Z"}', '{ "interactionId" : "b", "dataActionId":"d","updatedTimestamp":"2030-01-01T00:00:01Z" }'];
    await writeFile(file, `${lines[0]}\r\n\n   \n${lines[1]}\n`);
    const results = await send({ url: receiver.url, secret: SECRET, file });
    assert.deepEqual(results.map((r) => [r.index, r.status]), [[1, 200], [2, 200]]);
    assert.deepEqual(receiver.received.map((r) => r.body), lines);
  });

  it('repeats with count, e.g. to watch duplicates', async () => {
    await send({ url: receiver.url, secret: SECRET, events: [{ interactionId: 'x' }], count: 3 });
    assert.equal(receiver.received.length, 3);
    assert.equal(new Set(receiver.received.map((r) => r.body)).size, 1);
  });

  it('adds the timestamp header and signs "<timestamp>.<body>"', async () => {
    const now = Date.UTC(2030, 0, 1, 0, 0, 0, 999);
    const results = await send({ url: receiver.url, secret: SECRET, events: [{ a: 1 }], timestamp: true, now: () => now });
    assert.equal(results[0]!.status, 200);
    const [r] = receiver.received;
    assert.equal(r!.headers['x-nice-timestamp'], String(Math.floor(now / 1000)));
    assert.equal(r!.headers['x-nice-signature'], signTimestampedBody(SECRET, String(Math.floor(now / 1000)), '{"a":1}'));
  });

  it('returns non-2xx responses as they are (wrong secret → 401 from the receiver)', async () => {
    const results = await send({ url: receiver.url, secret: 'a-different-secret-value', events: [{ a: 1 }] });
    assert.deepEqual(results, [{ index: 1, status: 401, body: '{"error":"bad_signature"}', ok: false }]);
  });

  it('validates everything before sending anything', async () => {
    const bad = path.join(dir, 'bad.ndjson');
    await writeFile(bad, '{"ok":1}\n[1,2]\n');
    await assert.rejects(send({ url: receiver.url, secret: SECRET, file: bad }), /bad\.ndjson:2: must be a JSON object/);
    await writeFile(bad, '{"ok":1}\n{oops\n');
    await assert.rejects(send({ url: receiver.url, secret: SECRET, file: bad }), /bad\.ndjson:2: not valid JSON/);
    await assert.rejects(send({ url: receiver.url, secret: SECRET, file: path.join(dir, 'missing.ndjson') }), /cannot read .*ENOENT/);
    await assert.rejects(send({ url: 'not a url', secret: SECRET }), /--url/);
    await assert.rejects(send({ url: 'ftp://127.0.0.1/x', secret: SECRET }), /http/);
    await assert.rejects(send({ url: receiver.url, secret: '' }), /secret is required/);
    await assert.rejects(send({ url: receiver.url, secret: SECRET, count: 0 }), /--count/);
    await assert.rejects(send({ url: receiver.url, secret: SECRET, events: [] }), /no events/);
    await assert.rejects(send({ url: receiver.url, secret: SECRET, events: [{}], file: bad }), /not both/);
    await assert.rejects(send({ url: receiver.url, secret: SECRET, timestampHeader: 'bad header' }), /header name/);
    assert.equal(receiver.received.length, 0);
    assert.throws(() => parseEventLines('\n \n', 'empty.ndjson'), /empty\.ndjson: no events/);
  });

  it('an unreachable daemon is a clear error', async () => {
    const gone = await startReceiver();
    await gone.close();
    await assert.rejects(send({ url: gone.url, secret: SECRET, events: [{ a: 1 }] }), /event 1: could not reach http:\/\/127\.0\.0\.1:\d+\/cxone\/webhook\/data-action/);
  });

  it('runSend prints "<n> <status> <body>" per response; exit 0 only when all are 2xx', async () => {
    const ok = io({ CXONE_WEBHOOK_SECRET: SECRET });
    assert.equal(await runSend(['--url', receiver.url, '--interaction-id', 'i-9', '--payload', '{"s":"open"}', '--count', '2'], ok), 0);
    assert.deepEqual(ok.out, ['1 200 {"status":"processed"}\n', '2 200 {"status":"processed"}\n']);
    assert.equal(JSON.parse(receiver.received[0]!.body).interactionId, 'i-9');
    assert.deepEqual(JSON.parse(receiver.received[0]!.body).payload, { s: 'open' });

    const denied = io({});
    assert.equal(await runSend(['--url', receiver.url, '--secret', 'wrong-secret-000000'], denied), 1);
    assert.match(denied.out.join(''), /^1 401 /);
  });

  it('runSend: bad flags exit 2 and send nothing', async () => {
    for (const argv of [[], ['--url', receiver.url, '--payload', '[1]'], ['--url', receiver.url, '--payload', '{'], ['--url', receiver.url, '--count', 'many'], ['--nope']]) {
      const c = io({ CXONE_WEBHOOK_SECRET: SECRET });
      assert.equal(await runSend(argv, c), 2, argv.join(' '));
      assert.match(c.err.join(''), /Usage: cxone-dedup send/);
    }
    assert.equal(receiver.received.length, 0);
  });
});

describe('subscribe', { timeout: 20_000 }, () => {
  const standin = useCxoneStandin();

  const env = (extra: Record<string, string> = {}) =>
    standin.env({ CXONE_WEBHOOK_URL: 'https://dedup.example.com/hook', CXONE_WEBHOOK_SECRET: SECRET, ...extra });

  it('registers from the environment, then reports that it already exists', async () => {
    assert.deepEqual(await subscribe({ env: env() }), { outcome: 'created', status: 201, attempts: 1, webhookId: 'wh-1' });
    const again = io(env());
    assert.equal(await runSubscribe([], again), 0);
    assert.deepEqual(again.out, ['webhook subscription already exists: HTTP 409 after 1 attempt\n']);
  });

  it('rejects with the reason when CXone refuses', async () => {
    standin.script('webhooks', { status: 403 });
    await assert.rejects(subscribe({ env: env({ CXONE_WEBHOOK_URL: 'https://other.example.com/hook' }) }), (e: unknown) => e instanceof WebhookRegistrationError && e.code === 'forbidden');
    standin.script('webhooks', { status: 403 });
    const c = io(env({ CXONE_WEBHOOK_URL: 'https://other.example.com/hook' }));
    assert.equal(await runSubscribe([], c), 1);
    assert.match(c.err.join(''), /HTTP 403.*CXONE_CLIENT_ID/);
  });

  it('prints retries and honours --max-attempts', async () => {
    standin.script('webhooks', { status: 503, headers: { 'retry-after': '0' } }, { status: 503 });
    const c = io(env({ CXONE_WEBHOOK_URL: 'https://third.example.com/hook' }));
    // The default backoff waits under 0.5 s before the second attempt; the schedule itself is
    // covered in webhooks.test.ts.
    const code = await runSubscribe(['--max-attempts', '2'], c);
    assert.equal(code, 1);
    assert.match(c.err.join(''), /attempt 1\/2 failed: HTTP 503 .*; retrying in \d+\.\d s/);
    assert.match(c.err.join(''), /gave up after 2 attempts/);
  });

  it('missing settings are a usage error naming them', async () => {
    await assert.rejects(subscribe({ env: {} }), (e: unknown) => e instanceof ToolError && /CXONE_CLIENT_ID is not set/.test(e.message));
    const c = io({ CXONE_CLIENT_ID: 'x' });
    assert.equal(await runSubscribe([], c), 2);
    assert.match(c.err.join(''), /CXONE_CLIENT_SECRET is not set/);
    assert.equal(await runSubscribe(['--max-attempts', '0'], io(env())), 2);
  });
});
