/**
 * The native webhook path (one native call: verify, parse, decide) against the portable one
 * (WEBHOOK_FAST_PATH=off), both real daemons: every body of the committed webhook vectors
 * (hand-picked edge cases, random and mutated events), each sent twice, gets the same status, the
 * same answer (as JSON values) and the same counts on both; and what only the native path does
 * (state kept as the received bytes) is pinned down.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../src/http/signature.js';
import { startDaemon, WEBHOOK_PATH, type RunningDaemon } from '../helpers/daemon.js';
import { buildRequest, KeepAlivePool } from '../reliability/helpers/keepalive.js';

interface Vector {
  name: string;
  text?: string;
  hex?: string;
}

/** The event bodies of test/vectors/webhook.json (one vector per line). */
function vectorBodies(): Buffer[] {
  const file = readFileSync(new URL('../vectors/webhook.json', import.meta.url), 'utf8');
  const bodies: Buffer[] = [];
  for (const line of file.split('\n')) {
    const trimmed = line.trim().replace(/,$/, '');
    if (!trimmed.startsWith('{"name"')) continue;
    const v = JSON.parse(trimmed) as Vector;
    if (v.text !== undefined) bodies.push(Buffer.from(v.text, 'utf8'));
    else if (v.hex !== undefined) bodies.push(Buffer.from(v.hex, 'hex'));
  }
  return bodies;
}

/** A JSON value as JSON sees it after one more round trip (1e999 → null, -0 → 0, key order kept aside). */
const normal = (text: string): unknown => {
  try {
    return JSON.parse(JSON.stringify(JSON.parse(text)));
  } catch {
    return text;
  }
};

async function exchange(pool: KeepAlivePool, secret: string, body: Buffer): Promise<[number, unknown]> {
  const r = await pool.request(buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', 'x-nice-signature': signRequest(secret, body) }, body));
  return [r.status, normal(String(r.body))];
}

describe('the native webhook path answers as the portable one', { timeout: 120_000 }, () => {
  for (const keyFields of ['interactionId', 'interactionId,updatedTimestamp']) {
    describe(`DEDUP_KEY_FIELDS=${keyFields}`, () => {
      let native: RunningDaemon;
      let portable: RunningDaemon;
      before(async () => {
        [native, portable] = await Promise.all([
          startDaemon({ env: { DEDUP_KEY_FIELDS: keyFields } }),
          startDaemon({ env: { DEDUP_KEY_FIELDS: keyFields, WEBHOOK_FAST_PATH: 'off' } }),
        ]);
        assert.ok(native.logs.some((l) => l.msg === 'webhook path' && String(l.path).startsWith('native')), 'the native path is in use');
        assert.ok(portable.logs.some((l) => l.msg === 'webhook path' && String(l.path).startsWith('portable')));
      });
      after(async () => {
        await Promise.all([native?.stop(), portable?.stop()]);
      });

      it('every vector body, sent twice: same status, same answer, same counts', async () => {
        const bodies = vectorBodies();
        assert.ok(bodies.length > 2000, `${bodies.length} bodies`);
        const a = new KeepAlivePool(native.port, 1);
        const b = new KeepAlivePool(portable.port, 1);
        let accepted = 0;
        try {
          for (const [i, body] of [...bodies, ...bodies].entries()) {
            const [got, want] = await Promise.all([exchange(a, native.secret, body), exchange(b, portable.secret, body)]);
            assert.deepEqual(got, want, `body ${i % bodies.length}: ${body.toString('utf8').slice(0, 200)}`);
            if (got[0] === 200) accepted++;
          }
        } finally {
          a.close();
          b.close();
        }
        assert.ok(accepted > 1000, `${accepted} accepted`);
        const [sa, sb] = await Promise.all([native.stats(), portable.stats()]);
        for (const k of ['eventsReceived', 'eventsProcessed', 'eventsDeduplicated', 'eventsRejected', 'eventsUnconfirmed'] as const) assert.equal(sa[k], sb[k], k);
        assert.deepEqual(sa.rejectedByReason, sb.rejectedByReason);
        assert.equal(sa.stateCache.size, sb.stateCache.size);
      });
    });
  }
});

describe('the native path keeps the state as the received bytes', () => {
  let d: RunningDaemon;
  before(async () => {
    d = await startDaemon();
  });
  after(async () => {
    await d?.stop();
  });

  it('a canonical event: the answer carries its object byte for byte; GET /state gives the same event', async () => {
    const body = '  {\n  "payload": {"b": 2, "a": [1, 2.50, "x"]},\n  "updatedTimestamp": "2026-03-01T10:00:00+01:00",\n  "dataActionId": "da-1",\n  "interactionId": "bytes-1"\n}\n';
    const r = await d.post(body);
    assert.equal(r.status, 200);
    const object = body.trim();
    const raw = await fetch(`${d.url}${WEBHOOK_PATH}`, {
      method: 'POST',
      body: body.replace('bytes-1', 'bytes-2'),
      headers: { 'x-nice-signature': signRequest(d.secret, body.replace('bytes-1', 'bytes-2')) },
    }).then((x) => x.text());
    assert.equal(raw, `{"status":"processed","interactionId":"bytes-2","state":${object.replace('bytes-1', 'bytes-2')}}`);
    assert.deepEqual((await d.get('/state/bytes-1')).json, JSON.parse(object));
  });

  it('a non-canonical event (an unknown field, no payload, an escaped id): the contract fields only, payload {}', async () => {
    const body = JSON.stringify({ interactionId: 'esc\u00e9\\"aped', dataActionId: 'da', updatedTimestamp: '2026-03-01T10:00:00Z', extra: 1 }).replace('\u00e9', '\\u00e9');
    const r = await d.post(body);
    assert.equal(r.status, 200);
    const state = { interactionId: 'escé\\"aped', dataActionId: 'da', updatedTimestamp: '2026-03-01T10:00:00Z', payload: {} };
    assert.deepEqual(r.json, { status: 'processed', interactionId: state.interactionId, state });
    assert.deepEqual((await d.get(`/state/${encodeURIComponent(state.interactionId)}`)).json, state);
    const again = await d.post(body);
    assert.deepEqual(again.json, { status: 'deduplicated', interactionId: state.interactionId });
  });

  it('a stale event answers with the newer state it could not replace', async () => {
    const newer = JSON.stringify({ interactionId: 'stale-1', dataActionId: 'new', updatedTimestamp: '2026-03-01T10:00:01Z', payload: {} });
    const older = JSON.stringify({ interactionId: 'stale-1', dataActionId: 'old', updatedTimestamp: '2026-03-01T10:00:00Z', payload: {} });
    assert.equal((await d.post(newer)).json.status, 'processed');
    const r = await d.post(older);
    assert.equal(r.json.status, 'deduplicated');
    assert.equal((await d.get('/state/stale-1')).json.dataActionId, 'new');
  });
});
