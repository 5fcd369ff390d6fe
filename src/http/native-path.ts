/**
 * The webhook path of issue 12: one native call per request. For the embedded store with
 * nothing to make durable first (no delivery sink), the addon's `DedupWindow.webhook` checks the
 * HMAC over the raw bytes (constant time, first), the signed timestamp's freshness, parses and
 * validates the body with `parseEvent`'s exact verdicts, hashes the dedup key and records it in
 * the window, in one call that allocates nothing and writes its details into a reused
 * Float64Array. Here: the interactionId is read from its byte range, the state is kept as the
 * received text of the event's object (RawState) when that object has exactly the contract's
 * four fields, and the answer is that text concatenated, with no JSON.stringify.
 *
 * The order of the refusals and their messages are the portable path's (server.ts `evaluate`),
 * so a request is answered alike on either path; test/http/native-path.test.ts compares them.
 */
import {
  keyFieldsCode,
  nativeAddon,
  OUT_EPOCH_SECONDS,
  OUT_FIELD,
  OUT_FIELD_NAMES,
  OUT_FLAG_ASCII_ID,
  OUT_FLAG_CANONICAL,
  OUT_FLAGS,
  OUT_ID_END,
  OUT_ID_START,
  OUT_LEAP,
  OUT_LENGTH,
  OUT_NANOS,
  OUT_OBJECT_END,
  OUT_OBJECT_START,
  OUT_WINDOW,
  WEBHOOK_ACCEPTED,
  WEBHOOK_BAD_SIGNATURE,
  WEBHOOK_FRESH,
  WEBHOOK_OBSERVE,
  WEBHOOK_MALFORMED_JSON,
  WEBHOOK_REPLAYED,
  type NativeDedupWindow,
} from '@cxone-dedup/bloom/factory';
import type { DedupEngine } from '../dedup/engine.js';
import type { DataActionEvent } from '../dedup/event.js';
import { keyNeedsDeliveryId } from '../dedup/key.js';
import { RawState, stateJson, type StateValue } from '../dedup/raw-state.js';
import type { ParsedTimestamp } from '../dedup/timestamp.js';
import { rejection, signatureRejection, type Reply, type SignatureMessages } from './reply.js';
import type { FastWebhookPath } from './server.js';
import type { RequestVerifier } from './signature.js';

export interface NativePathOptions {
  engine: DedupEngine;
  verifier: RequestVerifier;
  /** The webhook secret (the HMAC key). */
  secret: string;
  messages: SignatureMessages;
}


export class NativeWebhookPath implements FastWebhookPath {
  readonly #engine: DedupEngine;
  readonly #verifier: RequestVerifier;
  readonly #messages: SignatureMessages;
  readonly #key: Buffer;
  readonly #keyCode: number;
  readonly #out = new Float64Array(OUT_LENGTH);
  readonly #lastMessage: () => string;
  /** Today's default scheme (the header's value is the hex digest, no timestamp required): no check object per request. */
  readonly #plainHex: boolean;

  private constructor(o: NativePathOptions, keyCode: number, lastMessage: () => string) {
    this.#engine = o.engine;
    this.#verifier = o.verifier;
    this.#messages = o.messages;
    this.#key = Buffer.from(o.secret, 'utf8');
    this.#keyCode = keyCode;
    this.#lastMessage = lastMessage;
    this.#plainHex = o.verifier.takesHexAsIs && !o.verifier.requireTimestamp;
  }

  /**
   * The native path where it applies, else why not (the portable path then answers): the engine's
   * window must be the native one, the HMAC native, and the dedup key made of body fields alone.
   */
  static create(o: NativePathOptions): NativeWebhookPath | string {
    if (o.engine.window.kind !== 'native') return 'the dedup window is the xxhash-wasm fallback';
    if (typeof (o.engine.window as Partial<NativeDedupWindow>).webhook !== 'function') return 'the native addon has no per-webhook call (an older build)';
    if (o.verifier.backend !== 'native') return 'the HMAC is not the native one';
    if (keyNeedsDeliveryId(o.engine.keyFields)) return 'the dedup key reads a request header (deliveryId)';
    return new NativeWebhookPath(o, keyFieldsCode(o.engine.keyFields), nativeAddon().webhookLastMessage);
  }

  evaluate(body: Uint8Array, signature: string, timestamp: string): Reply {
    let claimed: string;
    let prefix: string | undefined;
    let fresh = true;
    let stale: 'replayed' | 'missing_timestamp' = 'replayed';
    if (this.#plainHex && timestamp === '' && signature !== '') {
      claimed = signature;
    } else {
      const check = this.#verifier.prepare(signature, timestamp);
      if ('verdict' in check) return signatureRejection(check.verdict, this.#messages);
      ({ claimed, prefix, fresh, stale } = check);
    }
    const out = this.#out;
    // The engine may have replaced its window (a restored snapshot): ask for it each time.
    const window = this.#engine.window as NativeDedupWindow;
    const code = window.webhook(this.#key, this.#keyCode, body, claimed, prefix, fresh ? WEBHOOK_FRESH | WEBHOOK_OBSERVE : WEBHOOK_OBSERVE, out);
    if (code !== WEBHOOK_ACCEPTED) {
      if (code === WEBHOOK_BAD_SIGNATURE) return signatureRejection('bad_signature', this.#messages);
      if (code === WEBHOOK_REPLAYED) return signatureRejection(stale, this.#messages);
      if (code === WEBHOOK_MALFORMED_JSON) return rejection('malformed_json', this.#lastMessage());
      return rejection('invalid_event', this.#lastMessage(), OUT_FIELD_NAMES[out[OUT_FIELD]!]);
    }

    const bytes = body instanceof Buffer ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const start = out[OUT_ID_START]!;
    const flags = out[OUT_FLAGS]!;
    let doc: Record<string, unknown> | undefined;
    let id: string;
    let idJson: string;
    if (start >= 0) {
      id = bytes.toString((flags & OUT_FLAG_ASCII_ID) !== 0 ? 'latin1' : 'utf8', start, out[OUT_ID_END]);
      // Without escapes in the body the id needs none: this is exactly what JSON.stringify writes.
      idJson = `"${id}"`;
    } else {
      doc = parse(bytes);
      id = doc.interactionId as string;
      idJson = JSON.stringify(id);
    }
    const epochSeconds = out[OUT_EPOCH_SECONDS]!;
    const nanos = out[OUT_NANOS]!;
    const leap = out[OUT_LEAP] === 1;
    const timestamp_: ParsedTimestamp = { epochSeconds, leap, nanos, epochMs: leap ? epochSeconds * 1000 + 999 : epochSeconds * 1000 + Math.floor(nanos / 1e6) };
    // A copy in any case (uWS reuses the body's memory once this returns).
    const state: StateValue =
      (flags & OUT_FLAG_CANONICAL) !== 0 ? new RawState(bytes.toString('utf8', out[OUT_OBJECT_START], out[OUT_OBJECT_END])) : contractFields(doc ?? parse(bytes));

    const r = this.#engine.applyObserved(id, timestamp_, state, out[OUT_WINDOW]!, body.length);
    if (r.status === 'deduplicated') return { status: 200, body: `{"status":"deduplicated","interactionId":${idJson}}` };
    return { status: 200, body: `{"status":"processed","interactionId":${idJson},"state":${stateJson(r.state)}}` };
  }
}

function parse(bytes: Buffer): Record<string, unknown> {
  return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
}

/** The state parseEvent keeps: the four contract fields (payload defaulting to {}), unknown ones dropped. */
function contractFields(doc: Record<string, unknown>): DataActionEvent {
  return {
    interactionId: doc.interactionId as string,
    dataActionId: doc.dataActionId as string,
    updatedTimestamp: doc.updatedTimestamp as string,
    payload: (doc.payload as Record<string, unknown> | undefined) ?? {},
  };
}
