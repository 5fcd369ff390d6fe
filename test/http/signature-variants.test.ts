/**
 * CXone's signature variants, end to end against the real daemon over loopback: the presets
 * (nice-data-action, nice-expert) and settings that override their parts (hex / base64, with and
 * without `sha256=`, body / timestamp.body), every way a request can fail (403 / 401 / 400), the
 * delivery id as the dedup key, and `cxone-dedup sign` / `send` round trips for each preset.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../helpers/raw-http.js';
import { makeEvent, runCli, startDaemon, TEST_SECRET, WEBHOOK_PATH, type RunningDaemon } from '../helpers/daemon.js';

const nowS = () => String(Math.floor(Date.now() / 1000));
const hmac = (content: string) => createHmac('sha256', TEST_SECRET).update(content).digest();

interface Reply {
  status: number;
  json: any;
}

/** POSTs `body` with exactly these headers (plus Content-Type). */
async function post(d: RunningDaemon, body: string, headers: Record<string, string>): Promise<Reply> {
  const res = await fetch(d.url + WEBHOOK_PATH, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

/** Asserts the request was refused with `status` (and `error` matching) and changed nothing. */
async function refused(d: RunningDaemon, send: () => Promise<Reply>, status: number, error: RegExp, field?: string): Promise<void> {
  const before = await d.stats();
  const r = await send();
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.match(r.json.error, error);
  if (field !== undefined) assert.equal(r.json.field, field);
  const after = await d.stats();
  assert.equal(after.eventsProcessed, before.eventsProcessed);
  assert.equal(after.eventsDeduplicated, before.eventsDeduplicated);
  assert.equal(after.eventsRejected, before.eventsRejected + 1);
}

function balanced(s: any): void {
  assert.equal(s.eventsReceived, s.eventsProcessed + s.eventsDeduplicated + s.eventsRejected);
}

describe('SIGNATURE_PRESET=nice-expert: X-Nexus-Signature-256: sha256=<hex> over <timestamp>.<body>', { timeout: 60_000 }, () => {
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ env: { SIGNATURE_PRESET: 'nice-expert' } });
  });
  after(() => d.stop());

  const expert = (body: string, ts: string, extra: Record<string, string> = {}) => ({
    'X-Nexus-Timestamp': ts,
    'X-Nexus-Signature-256': `sha256=${hmac(`${ts}.${body}`).toString('hex')}`,
    ...extra,
  });

  it('accepts what CXone Mpower Expert documents, in either hex case, and logs the scheme', async () => {
    const body = JSON.stringify(makeEvent());
    const ts = nowS();
    const r = await post(d, body, expert(body, ts, { 'X-Nexus-Delivery-Id': 'dlv-1' }));
    assert.deepEqual([r.status, r.json.status], [200, 'processed']);
    const upper = JSON.stringify(makeEvent());
    const sig = `sha256=${hmac(`${ts}.${upper}`).toString('hex').toUpperCase()}`;
    assert.equal((await post(d, upper, { 'X-Nexus-Timestamp': ts, 'X-Nexus-Signature-256': sig })).status, 200);
    const line = d.logs.find((l) => l.msg === 'signature verification');
    assert.deepEqual(line?.scheme, { header: 'x-nexus-signature-256', encoding: 'hex', prefix: 'required', signedContent: 'timestamp.body', timestampHeader: 'x-nexus-timestamp' });
    assert.equal(line?.preset, 'nice-expert');
  });

  it('wrong or missing prefix, wrong encoding, a body-only signature → 401 bad signature', async () => {
    const body = JSON.stringify(makeEvent());
    const ts = nowS();
    const digest = hmac(`${ts}.${body}`);
    const sig = (value: string) => ({ 'X-Nexus-Timestamp': ts, 'X-Nexus-Signature-256': value });
    await refused(d, () => post(d, body, sig(digest.toString('hex'))), 401, /^invalid signature$/);
    await refused(d, () => post(d, body, sig(`sha1=${digest.toString('hex')}`)), 401, /^invalid signature$/);
    await refused(d, () => post(d, body, sig(`SHA256=${digest.toString('hex')}`)), 401, /^invalid signature$/);
    await refused(d, () => post(d, body, sig(`sha256=${digest.toString('base64')}`)), 401, /^invalid signature$/);
    await refused(d, () => post(d, body, sig(`sha256=${hmac(body).toString('hex')}`)), 401, /^invalid signature$/);
    await refused(d, () => post(d, body, sig(`sha256=${createHmac('sha256', 'another-secret-0123456789').update(`${ts}.${body}`).digest('hex')}`)), 401, /^invalid signature$/);
    const s = await d.stats();
    assert.equal(s.rejectedByReason.bad_signature, 6);
  });

  it('a timestamp outside the replay window → 401 replayed; a missing one → 401 (required by the scheme)', async () => {
    const body = JSON.stringify(makeEvent());
    const stale = String(Number(nowS()) - 301 - 5);
    const future = String(Number(nowS()) + 301 + 5);
    await refused(d, () => post(d, body, expert(body, stale)), 401, /^timestamp outside the replay window$/);
    await refused(d, () => post(d, body, expert(body, future)), 401, /^timestamp outside the replay window$/);
    const { 'X-Nexus-Signature-256': sig } = expert(body, nowS());
    await refused(d, () => post(d, body, { 'X-Nexus-Signature-256': sig }), 401, /^missing x-nexus-timestamp header \(signed timestamps are required\)$/);
    // The other preset's timestamp header is not this scheme's.
    await refused(d, () => post(d, body, { 'X-NICE-Timestamp': nowS(), 'X-Nexus-Signature-256': sig }), 401, /^missing x-nexus-timestamp header/);
    const s = await d.stats();
    assert.equal(s.rejectedByReason.replayed, 4);
  });

  it('no X-Nexus-Signature-256 → 403, even with a valid X-NICE-Signature', async () => {
    const body = JSON.stringify(makeEvent());
    const ts = nowS();
    await refused(d, () => post(d, body, { 'X-Nexus-Timestamp': ts }), 403, /^missing X-Nexus-Signature-256 header$/);
    await refused(d, () => post(d, body, { 'X-NICE-Signature': hmac(body).toString('hex') }), 403, /^missing X-Nexus-Signature-256 header$/);
    balanced(await d.stats());
  });
});

describe('settings over the preset: SIGNATURE_HEADER, SIGNATURE_ENCODING=base64, SIGNATURE_PREFIX=optional, SIGNED_CONTENT=body', { timeout: 60_000 }, () => {
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ env: { SIGNATURE_HEADER: 'X-Signature', SIGNATURE_ENCODING: 'base64', SIGNATURE_PREFIX: 'optional' } });
  });
  after(() => d.stop());

  it('accepts standard padded base64 over the body, with or without sha256=', async () => {
    for (const prefix of ['', 'sha256=']) {
      const body = JSON.stringify(makeEvent());
      const r = await post(d, body, { 'X-Signature': `${prefix}${hmac(body).toString('base64')}` });
      assert.deepEqual([r.status, r.json.status], [200, 'processed'], prefix);
    }
  });

  it('the timestamp header (X-NICE-Timestamp, the preset\'s) still adds replay protection when a sender sends it', async () => {
    const body = JSON.stringify(makeEvent());
    const ts = nowS();
    assert.equal((await post(d, body, { 'X-NICE-Timestamp': ts, 'X-Signature': hmac(`${ts}.${body}`).toString('base64') })).status, 200);
    const stale = String(Number(ts) - 400);
    await refused(d, () => post(d, body, { 'X-NICE-Timestamp': stale, 'X-Signature': hmac(`${stale}.${body}`).toString('base64') }), 401, /replay window/);
    // Signed over the body alone but sent with a timestamp: the signature must cover it.
    await refused(d, () => post(d, body, { 'X-NICE-Timestamp': ts, 'X-Signature': hmac(body).toString('base64') }), 401, /^invalid signature$/);
  });

  it('wrong encoding → 401: hex, base64url, unpadded, non-canonical; a wrong prefix → 401', async () => {
    // A body whose digest has + or / in base64, so base64url really differs.
    let body = '';
    let digest = Buffer.alloc(0);
    for (let i = 0; !/[+/]/.test(digest.toString('base64')); i++) {
      body = JSON.stringify(makeEvent({ payload: { i } }));
      digest = hmac(body);
    }
    const b64 = digest.toString('base64');
    const last = b64.charCodeAt(42);
    for (const value of [
      digest.toString('hex'),
      digest.toString('base64url'),
      `${digest.toString('base64url')}=`,
      b64.slice(0, 43),
      `${b64.slice(0, 42)}${String.fromCharCode(last + 1)}=`,
      `sha512=${b64}`,
      `sha256:${b64}`,
    ]) {
      await refused(d, () => post(d, body, { 'X-Signature': value }), 401, /^invalid signature$/);
    }
    assert.equal((await post(d, body, { 'X-Signature': b64 })).status, 200, 'the right value passes');
  });

  it('the preset\'s header no longer counts: X-NICE-Signature alone → 403 naming X-Signature', async () => {
    const body = JSON.stringify(makeEvent());
    await refused(d, () => post(d, body, { 'X-NICE-Signature': hmac(body).toString('hex') }), 403, /^missing x-signature header$/);
    balanced(await d.stats());
  });
});

describe('nice-expert with SIGNATURE_ENCODING=base64 (sha256=<base64> over <timestamp>.<body>)', { timeout: 60_000 }, () => {
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ args: ['--signature-preset', 'nice-expert', '--signature-encoding', 'base64'] });
  });
  after(() => d.stop());

  it('accepts sha256=<base64>; refuses hex (wrong encoding), no prefix, and no timestamp', async () => {
    const body = JSON.stringify(makeEvent());
    const ts = nowS();
    const digest = hmac(`${ts}.${body}`);
    await refused(d, () => post(d, body, { 'X-Nexus-Timestamp': ts, 'X-Nexus-Signature-256': `sha256=${digest.toString('hex')}` }), 401, /^invalid signature$/);
    await refused(d, () => post(d, body, { 'X-Nexus-Timestamp': ts, 'X-Nexus-Signature-256': digest.toString('base64') }), 401, /^invalid signature$/);
    await refused(d, () => post(d, body, { 'X-Nexus-Signature-256': `sha256=${digest.toString('base64')}` }), 401, /^missing x-nexus-timestamp header/);
    const r = await post(d, body, { 'X-Nexus-Timestamp': ts, 'X-Nexus-Signature-256': `sha256=${digest.toString('base64')}` });
    assert.deepEqual([r.status, r.json.status], [200, 'processed']);
  });
});

describe('DEDUP_KEY_FIELDS=deliveryId (X-Nexus-Delivery-Id)', { timeout: 60_000 }, () => {
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon({ env: { SIGNATURE_PRESET: 'nice-expert', DEDUP_KEY_FIELDS: 'deliveryId' } });
  });
  after(() => d.stop());

  const signed = (body: string, deliveryId?: string): Record<string, string> => {
    const ts = nowS();
    return {
      'X-Nexus-Timestamp': ts,
      'X-Nexus-Signature-256': `sha256=${hmac(`${ts}.${body}`).toString('hex')}`,
      ...(deliveryId !== undefined && { 'X-Nexus-Delivery-Id': deliveryId }),
    };
  };

  it('the same delivery id twice is deduplicated, even with different bodies; another id is new', async () => {
    const first = makeEvent();
    const a = await post(d, JSON.stringify(first), signed(JSON.stringify(first), 'dlv-a'));
    assert.deepEqual([a.status, a.json.status], [200, 'processed']);
    // A redelivery whose body changed (a later update of the same interaction).
    const changed = { ...first, payload: { changed: true }, updatedTimestamp: '2026-06-01T00:00:00Z' };
    const b = await post(d, JSON.stringify(changed), signed(JSON.stringify(changed), 'dlv-a'));
    assert.deepEqual([b.status, b.json.status], [200, 'deduplicated']);
    // The state still takes the newer event.
    assert.deepEqual((await d.get(`/state/${encodeURIComponent(String(first.interactionId))}`)).json.payload, { changed: true });
    // Another interaction under the same delivery id: the window knows the id exactly.
    const other = makeEvent();
    const c = await post(d, JSON.stringify(other), signed(JSON.stringify(other), 'dlv-a'));
    assert.deepEqual([c.status, c.json.status], [200, 'deduplicated']);
    // The very same body under a new delivery id is a new delivery.
    const e = await post(d, JSON.stringify(first), signed(JSON.stringify(first), 'dlv-b'));
    assert.deepEqual([e.status, e.json.status], [200, 'processed']);
    const s = await d.stats();
    assert.equal(s.eventsUnconfirmed, 0);
  });

  it('without the header, or with an invalid one → 400 invalid_event, field deliveryId, nothing changed', async () => {
    const body = JSON.stringify(makeEvent());
    await refused(d, () => post(d, body, signed(body)), 400, /^missing X-Nexus-Delivery-Id header \(the dedup key uses deliveryId\)$/, 'deliveryId');
    await refused(d, () => post(d, body, signed(body, 'x'.repeat(257))), 400, /^X-Nexus-Delivery-Id must be at most 256 characters$/, 'deliveryId');
    assert.equal((await post(d, body, signed(body, 'y'.repeat(256)))).status, 200, '256 characters pass');
    const s = await d.stats();
    assert.equal(s.rejectedByReason.invalid_event, 2);
  });

  it('delivery ids are UTF-8: decoded from the header bytes, invalid UTF-8 refused', async () => {
    const raw = async (body: string, idBytes: Buffer) => {
      const headers = signed(body);
      const head = Buffer.from(
        `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          Object.entries(headers)
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join('') +
          'X-Nexus-Delivery-Id: ',
        'latin1',
      );
      const [r] = await rawExchange(d.port, Buffer.concat([head, idBytes, Buffer.from(`\r\n\r\n${body}`)]), { responses: 1 });
      return { status: r!.status, json: r!.json } as Reply;
    };
    const event = makeEvent();
    const body = JSON.stringify(event);
    const ok = await raw(body, Buffer.from('dlv-é-1', 'utf8'));
    assert.deepEqual([ok.status, ok.json.status], [200, 'processed']);
    // The same id (same bytes) again: a duplicate, so the decoded id is stable.
    const again = JSON.stringify({ ...event, payload: { again: true } });
    assert.equal((await raw(again, Buffer.from('dlv-é-1', 'utf8'))).json.status, 'deduplicated');
    await refused(d, () => raw(body, Buffer.from([0x64, 0xff, 0x31])), 400, /^X-Nexus-Delivery-Id must be valid UTF-8$/, 'deliveryId');
    await refused(d, () => raw(body, Buffer.from([0x64, 0xed, 0xa0, 0x80, 0x31])), 400, /must be valid UTF-8/, 'deliveryId');
  });

  it('the key field is kept in the logged configuration', async () => {
    const line = d.logs.find((l) => l.msg === 'listening') as { config?: { dedupKeyFields?: string[]; deliveryIdHeader?: string } } | undefined;
    assert.deepEqual(line?.config?.dedupKeyFields, ['deliveryId']);
    assert.equal(line?.config?.deliveryIdHeader, 'x-nexus-delivery-id');
    balanced(await d.stats());
  });
});

describe('contradictory signature settings stop the start with one message', { timeout: 60_000 }, () => {
  it('names the settings and the way out', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ SIGNATURE_PRESET: 'nice-expert', REPLAY_WINDOW_SECONDS: '0' }, /SIGNED_CONTENT=timestamp\.body \(from SIGNATURE_PRESET=nice-expert\) requires the timestamp header.*REPLAY_WINDOW_SECONDS/],
      [{ SIGNATURE_PRESET: 'nice-expert', REQUIRE_TIMESTAMP: '0' }, /REQUIRE_TIMESTAMP \(--require-timestamp\) is off, but SIGNED_CONTENT=timestamp\.body/],
      [{ DEDUP_KEY_FIELDS: 'deliveryId' }, /DEDUP_KEY_FIELDS \(--dedup-key-fields\) uses deliveryId, but SIGNATURE_PRESET=nice-data-action has no delivery-id header/],
      [{ SIGNATURE_PRESET: 'nice-cloud' }, /SIGNATURE_PRESET \(--signature-preset\) must be one of nice-data-action, nice-expert/],
    ];
    for (const [env, message] of cases) {
      const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0'], { env: { CXONE_WEBHOOK_SECRET: TEST_SECRET, ...env } });
      assert.equal(r.code, 1, JSON.stringify(env));
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(JSON.parse(lines[0]!).msg, message);
    }
  });
});

describe('cxone-dedup sign and send produce what the daemon accepts, for each preset', { timeout: 90_000 }, () => {
  const secretEnv = { CXONE_WEBHOOK_SECRET: TEST_SECRET };
  const lines = (stdout: string) => stdout.trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' ') + ' ' + JSON.parse(l.split(' ').slice(2).join(' ')).status);

  it('nice-data-action (the default): send, and sign with and without a timestamp', async () => {
    const d = await startDaemon();
    try {
      const sent = await runCli(['send', '--url', d.url + WEBHOOK_PATH, '--interaction-id', `cli-${process.pid}-a`, '--count', '2'], { env: secretEnv });
      assert.equal(sent.code, 0, sent.stderr);
      assert.deepEqual(lines(sent.stdout), ['1 200 processed', '2 200 deduplicated']);
      const withTs = await runCli(['send', '--url', d.url + WEBHOOK_PATH, '--timestamp'], { env: secretEnv });
      assert.deepEqual(lines(withTs.stdout), ['1 200 processed']);
      const body = JSON.stringify(makeEvent());
      const sig = await runCli(['sign'], { env: secretEnv, input: body });
      assert.equal(sig.code, 0, sig.stderr);
      assert.equal((await post(d, body, { 'X-NICE-Signature': sig.stdout.trim() })).status, 200);
      const ts = nowS();
      const body2 = JSON.stringify(makeEvent());
      const sig2 = await runCli(['sign', '--timestamp', ts], { env: secretEnv, input: body2 });
      assert.equal((await post(d, body2, { 'X-NICE-Signature': sig2.stdout.trim(), 'X-NICE-Timestamp': ts })).status, 200);
    } finally {
      await d.stop();
    }
  });

  it('nice-expert keyed by delivery id: send (timestamp and delivery id added), --delivery-id, sign; the default scheme is refused', async () => {
    const d = await startDaemon({ env: { SIGNATURE_PRESET: 'nice-expert', DEDUP_KEY_FIELDS: 'deliveryId' } });
    try {
      const url = d.url + WEBHOOK_PATH;
      const expertEnv = { ...secretEnv, SIGNATURE_PRESET: 'nice-expert' };
      // Repeats of one event are redeliveries: they keep its delivery id.
      const sent = await runCli(['send', '--url', url, '--count', '2'], { env: expertEnv });
      assert.equal(sent.code, 0, sent.stderr);
      assert.deepEqual(lines(sent.stdout), ['1 200 processed', '2 200 deduplicated']);
      // Two different events, one delivery id (flags instead of the environment this time).
      const flags = ['--signature-preset', 'nice-expert', '--delivery-id', `dlv-cli-${process.pid}`];
      const one = await runCli(['send', '--url', url, ...flags, '--payload', '{"n":1}'], { env: secretEnv });
      const two = await runCli(['send', '--url', url, ...flags, '--payload', '{"n":2}'], { env: secretEnv });
      assert.deepEqual([...lines(one.stdout), ...lines(two.stdout)], ['1 200 processed', '1 200 deduplicated']);
      // The tool with the default scheme: the daemon wants X-Nexus-Signature-256.
      const wrong = await runCli(['send', '--url', url], { env: secretEnv });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stdout, /^1 403 /);
      // sign needs the timestamp for this scheme, then its output is accepted.
      const noTs = await runCli(['sign'], { env: expertEnv, input: '{}' });
      assert.equal(noTs.code, 2);
      assert.match(noTs.stderr, /the scheme signs <timestamp>\.<body>: give --timestamp/);
      const ts = nowS();
      const body = JSON.stringify(makeEvent());
      const sig = await runCli(['sign', '--timestamp', ts], { env: expertEnv, input: body });
      assert.match(sig.stdout.trim(), /^sha256=[0-9a-f]{64}$/);
      const r = await post(d, body, { 'X-Nexus-Signature-256': sig.stdout.trim(), 'X-Nexus-Timestamp': ts, 'X-Nexus-Delivery-Id': `dlv-sign-${process.pid}` });
      assert.deepEqual([r.status, r.json.status], [200, 'processed']);
    } finally {
      await d.stop();
    }
  });

  it('parts overridden in the environment (another header, base64, sha256= required, REQUIRE_TIMESTAMP) work the same for the daemon and the tools', async () => {
    const scheme = { SIGNATURE_HEADER: 'X-Signature', SIGNATURE_ENCODING: 'base64', SIGNATURE_PREFIX: 'required', REQUIRE_TIMESTAMP: '1' };
    const d = await startDaemon({ env: scheme });
    try {
      const sent = await runCli(['send', '--url', d.url + WEBHOOK_PATH, '--count', '2'], { env: { ...secretEnv, ...scheme } });
      assert.equal(sent.code, 0, sent.stderr);
      assert.deepEqual(lines(sent.stdout), ['1 200 processed', '2 200 deduplicated']);
      const noTs = await runCli(['sign'], { env: { ...secretEnv, ...scheme }, input: '{}' });
      assert.match(noTs.stderr, /REQUIRE_TIMESTAMP is on: give --timestamp/);
      const ts = nowS();
      const body = JSON.stringify(makeEvent());
      const sig = await runCli(['sign', '--timestamp', ts], { env: { ...secretEnv, ...scheme }, input: body });
      assert.match(sig.stdout.trim(), /^sha256=[A-Za-z0-9+/]{43}=$/);
      assert.equal((await post(d, body, { 'X-Signature': sig.stdout.trim(), 'X-NICE-Timestamp': ts })).status, 200);
      const bad = await runCli(['send', '--url', d.url + WEBHOOK_PATH, '--signature-encoding', 'base32'], { env: { ...secretEnv, ...scheme } });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /SIGNATURE_ENCODING \(--signature-encoding\) must be one of hex, base64/);
    } finally {
      await d.stop();
    }
  });
});
