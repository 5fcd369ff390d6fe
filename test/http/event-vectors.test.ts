/**
 * test/vectors/webhook.json, the differential vectors of the Rust parser (native/webhook,
 * checked by its cargo tests), against the TypeScript it was generated from: regenerated here
 * and compared case by case, so the two implementations cannot drift apart silently. Also
 * checks the byte ranges the generator finds on its own against JSON.parse.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { parseEvent } from '../../src/http/event.js';
import { TIMESTAMP_FORMAT_HINT } from '../../src/dedup/timestamp.js';
import { buildWebhookVectors, COMMITTED_OPTIONS, formatWebhookVectors, type EventVector, type WebhookVectors } from '../vectors/webhook-corpus.js';

const fileText = readFileSync(new URL('../vectors/webhook.json', import.meta.url), 'utf8');
const committed = JSON.parse(fileText) as WebhookVectors;
const bodyOf = (e: EventVector) => (e.text !== undefined ? Buffer.from(e.text, 'utf8') : Buffer.from(e.hex!, 'hex'));

describe('webhook vectors (test/vectors/webhook.json)', () => {
  let fresh: WebhookVectors;
  before(async () => {
    fresh = await buildWebhookVectors(committed.options);
  });

  it('are generated with the committed options and cover every verdict', () => {
    assert.deepEqual(committed.options, COMMITTED_OPTIONS);
    const messages = new Set(committed.events.map((e) => (e.ok ? 'ok' : e.message)));
    for (const m of [
      'ok',
      'malformed JSON: empty body',
      'malformed JSON: body is not valid UTF-8',
      'malformed JSON',
      'payload must not nest deeper than 32 levels',
      'body must be a JSON object',
      'payload must be a JSON object',
    ]) {
      assert.ok(messages.has(m), m);
    }
    for (const field of ['interactionId', 'dataActionId', 'updatedTimestamp']) {
      for (const rule of ['is required', 'must be a string', 'must not be empty', 'must be valid Unicode (no lone surrogates)']) {
        assert.ok(messages.has(`${field} ${rule}`), `${field} ${rule}`);
      }
    }
    const faults = new Set(committed.timestamps.map((t) => (t.ok ? 'ok' : t.fault)));
    for (const fault of ['ok', 'too long', 'bad format', 'month out of range', 'day out of range', 'hour out of range', 'minute out of range', 'second out of range', 'leap second not at 23:59 UTC', 'too many fraction digits', 'offset out of range']) {
      assert.ok(faults.has(fault), fault);
      if (fault !== 'ok') assert.ok(messages.has(`updatedTimestamp must be ${TIMESTAMP_FORMAT_HINT} (${fault})`), `event with ${fault}`);
    }
    assert.ok(committed.events.filter((e) => e.ok).length >= 400);
    assert.ok(committed.timestamps.length >= 1000);
  });

  it('still match what the TypeScript reference answers, case by case', () => {
    assert.equal(fresh.events.length, committed.events.length, 'event count (regenerate: node --import tsx test/vectors/generate-webhook.ts)');
    committed.events.forEach((e, i) => assert.deepEqual(fresh.events[i], e, `event vector #${i} (${e.name})`));
    assert.equal(fresh.timestamps.length, committed.timestamps.length, 'timestamp count');
    committed.timestamps.forEach((t, i) => assert.deepEqual(fresh.timestamps[i], t, `timestamp vector ${JSON.stringify(t.input)}`));
    assert.deepEqual(fresh.keyFieldLists, committed.keyFieldLists);
    assert.deepEqual(fresh.keys, committed.keys);
    assert.equal(formatWebhookVectors(fresh), fileText, 'the file as the generator writes it');
  });

  it('hold byte ranges that JSON.parse reads back as the event, and flags that match the parsed object', () => {
    for (const e of committed.events) {
      if (!e.ok) continue;
      const body = bodyOf(e);
      const r = parseEvent(body);
      assert.ok(r.ok, e.name);
      const slice = (range: [number, number]) => JSON.parse(body.subarray(range[0], range[1]).toString('utf8')) as unknown;
      assert.deepEqual(slice(e.object), JSON.parse(body.toString('utf8')), `${e.name}: object range`);
      assert.deepEqual(e.payload === null ? {} : slice(e.payload), r.event.payload, `${e.name}: payload range`);
      const around = Buffer.concat([body.subarray(0, e.object[0]), body.subarray(e.object[1])]).toString('latin1');
      assert.match(around, /^[ \t\n\r]*$/, `${e.name}: only whitespace around the object`);
      if (e.canonical) {
        assert.deepEqual(Object.keys(JSON.parse(body.toString('utf8')) as object).sort(), ['dataActionId', 'interactionId', 'payload', 'updatedTimestamp'], e.name);
        assert.ok(!e.repeatedFields && e.unknownFields === 0 && e.payload !== null, e.name);
      }
    }
  });
});
