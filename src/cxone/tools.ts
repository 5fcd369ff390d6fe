/**
 * Developer tools behind the CLI subcommands `subscribe`, `sign` and `send`, as plain functions
 * (subscribe, sign, send and their helpers). Their argv runners are in src/cli-tools.ts.
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { DataActionEvent } from '../dedup/event.js';
import { describeNetworkError, readBodyLimited, requestSignal, safeUrl, type FetchLike } from './http.js';
import { createRegistrar, type RegistrarOptions } from './registration.js';
import { cxoneSettingsFromEnv } from './settings.js';
import { DEFAULT_SIGNATURE_SCHEME, headerDisplayName, signWithScheme, type SignatureScheme } from './signature-scheme.js';
import { TIMESTAMP_PATTERN } from './signing.js';
import type { RegisterWebhookResult, RetryInfo } from './webhooks.js';

export type Env = Record<string, string | undefined>;

/** Bad input: the message says what to fix; nothing was sent. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}

const MAX_SIGN_BYTES = 16 * 1024 * 1024;
const MAX_EVENT_FILE_BYTES = 64 * 1024 * 1024;
const MAX_COUNT = 100_000;

// ── subscribe ────────────────────────────────────────────────────────────────────────────────

export interface SubscribeOptions extends RegistrarOptions {
  env?: Env;
  signal?: AbortSignal;
  onRetry?: (info: RetryInfo) => void;
}

/**
 * Registers the webhook from the CXONE_* settings in `env` (default process.env). Resolves with
 * the outcome (created / already_exists); rejects with ToolError when the settings are missing or
 * invalid, WebhookRegistrationError when CXone refused or the attempts ran out.
 */
export async function subscribe(options: SubscribeOptions = {}): Promise<RegisterWebhookResult> {
  const resolved = cxoneSettingsFromEnv(options.env ?? process.env);
  if (resolved.kind === 'disabled') {
    throw new ToolError('CXONE_CLIENT_ID is not set: subscribe needs CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, CXONE_WEBHOOK_URL and CXONE_WEBHOOK_SECRET');
  }
  if (resolved.kind === 'invalid') throw new ToolError(`invalid CXone settings: ${resolved.errors.join('; ')}`);
  const registrar = createRegistrar(resolved.settings, options);
  return registrar({
    signal: options.signal ?? new AbortController().signal,
    onAttempt: () => {},
    onRetry: options.onRetry ?? (() => {}),
  });
}

// ── sign ─────────────────────────────────────────────────────────────────────────────────────

/** Reads a whole stream into one buffer, refusing more than `maxBytes`. */
export async function readAll(input: AsyncIterable<Uint8Array | string>, maxBytes = MAX_SIGN_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    total += buf.byteLength;
    if (total > maxBytes) throw new ToolError(`input is larger than ${maxBytes} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}

export interface SignOptions {
  secret: string;
  /** The body, read to the end; its exact bytes are signed (a trailing newline included). */
  input: AsyncIterable<Uint8Array | string>;
  /** Unix seconds: sign `<timestamp>.<body>` as a sender using the timestamp header must. */
  timestamp?: string;
  /** The daemon's signature scheme (default nice-data-action: hex over the body). */
  scheme?: SignatureScheme;
  /** The daemon refuses requests without a timestamp (REQUIRE_TIMESTAMP): insist on one. */
  requireTimestamp?: boolean;
  maxBytes?: number;
}

/** The signature header's value (X-NICE-Signature by default) for the body read from `input`. */
export async function sign(options: SignOptions): Promise<string> {
  if (!options.secret) throw new ToolError('a secret is required (--secret, CXONE_WEBHOOK_SECRET in the environment, or a daemon started in this directory without one)');
  const scheme = options.scheme ?? DEFAULT_SIGNATURE_SCHEME;
  if (options.timestamp === undefined && (scheme.signedContent === 'timestamp.body' || options.requireTimestamp)) {
    const why = scheme.signedContent === 'timestamp.body' ? 'the scheme signs <timestamp>.<body>' : 'REQUIRE_TIMESTAMP is on';
    throw new ToolError(`${why}: give --timestamp (Unix seconds, then send it in ${headerDisplayName(scheme.timestampHeader)})`);
  }
  if (options.timestamp !== undefined && !TIMESTAMP_PATTERN.test(options.timestamp)) {
    throw new ToolError('--timestamp must be Unix time in whole seconds');
  }
  const body = await readAll(options.input, options.maxBytes);
  return signWithScheme(options.secret, body, scheme, options.timestamp);
}

// ── send ─────────────────────────────────────────────────────────────────────────────────────

export interface EventFields {
  interactionId?: string;
  dataActionId?: string;
  updatedTimestamp?: string;
  payload?: Record<string, unknown>;
}

/** A Data Action event from flags: a random interactionId, 'cli' and now unless given. */
export function buildEvent(fields: EventFields = {}, now: () => number = Date.now): DataActionEvent {
  return {
    interactionId: fields.interactionId ?? randomUUID(),
    dataActionId: fields.dataActionId ?? 'cli',
    updatedTimestamp: fields.updatedTimestamp ?? new Date(now()).toISOString(),
    payload: fields.payload ?? {},
  };
}

/**
 * Splits NDJSON text into request bodies: one JSON object per non-blank line, sent exactly as
 * written (without the line ending). Any bad line is an error naming it, and nothing is sent.
 */
export function parseEventLines(text: string, source = 'input'): string[] {
  const bodies: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch (err) {
      throw new ToolError(`${source}:${i + 1}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ToolError(`${source}:${i + 1}: must be a JSON object`);
    bodies.push(line);
  }
  if (bodies.length === 0) throw new ToolError(`${source}: no events (expected one JSON object per line)`);
  return bodies;
}

/** Reads an NDJSON event file into request bodies (see parseEventLines). */
export async function readEventFile(path: string, maxBytes = MAX_EVENT_FILE_BYTES): Promise<string[]> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ToolError(`${path}: not a regular file`);
    size = s.size;
  } catch (err) {
    if (err instanceof ToolError) throw err;
    throw new ToolError(`cannot read ${path}: ${(err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err))}`);
  }
  if (size > maxBytes) throw new ToolError(`${path}: larger than ${maxBytes} bytes`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ToolError(`cannot read ${path}: ${(err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err))}`);
  }
  return parseEventLines(text, path);
}

export interface SendOptions {
  /** The daemon's webhook URL, e.g. http://127.0.0.1:8080/cxone/webhook/data-action. */
  url: string;
  secret: string;
  /** Event objects to send, serialised with JSON.stringify. */
  events?: readonly object[];
  /** An NDJSON file, one event per line, each line sent as written. */
  file?: string;
  /** Fields of one event built with buildEvent (used when neither events nor file is given). */
  event?: EventFields;
  /** Send each body this many times (default 1), e.g. to watch duplicates being dropped. */
  count?: number;
  /**
   * Add the timestamp header (Unix seconds at send time) and sign `<timestamp>.<body>`; always
   * done when the scheme signs `timestamp.body` or `requireTimestamp` is set.
   */
  timestamp?: boolean;
  /** Default: the scheme's. */
  timestampHeader?: string;
  /** The daemon's signature scheme (default nice-data-action: X-NICE-Signature, hex over the body). */
  scheme?: SignatureScheme;
  /** The daemon refuses requests without a timestamp (REQUIRE_TIMESTAMP): add one. */
  requireTimestamp?: boolean;
  /** Add this header with a delivery id to every request (DELIVERY_ID_HEADER). */
  deliveryIdHeader?: string;
  /** The delivery id; default a random UUID per body, shared by its `count` repeats (redeliveries). */
  deliveryId?: string;
  requestTimeoutMs?: number;
  fetch?: FetchLike;
  signal?: AbortSignal;
  now?: () => number;
  /** Called with each response as it arrives. */
  onResponse?: (result: SendResult) => void;
}

export interface SendResult {
  /** 1-based position in the send order. */
  index: number;
  status: number;
  /** Response body (at most 64 KiB). */
  body: string;
  ok: boolean;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const MAX_DELIVERY_ID_LENGTH = 256;

/** A header value as fetch sends it, byte for byte (latin1): UTF-8 text becomes its UTF-8 bytes. */
function headerValue(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

function checkSendOptions(o: SendOptions): URL {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new ToolError('--url must be an absolute http(s) URL, e.g. http://127.0.0.1:8080/cxone/webhook/data-action');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ToolError(`--url must be http(s), got ${url.protocol}`);
  if (!o.secret) throw new ToolError('a secret is required (--secret, CXONE_WEBHOOK_SECRET in the environment, or a daemon started in this directory without one)');
  const sources = [o.events !== undefined, o.file !== undefined].filter(Boolean).length;
  if (sources > 1) throw new ToolError('give events or a file, not both');
  if ((o.events !== undefined || o.file !== undefined) && o.event !== undefined) {
    throw new ToolError('event fields (--interaction-id, --payload, …) cannot be combined with --file');
  }
  if (o.events !== undefined && o.events.length === 0) throw new ToolError('no events to send');
  const count = o.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) throw new ToolError(`--count must be a whole number from 1 to ${MAX_COUNT}`);
  if (o.timestampHeader !== undefined && !HEADER_NAME.test(o.timestampHeader)) throw new ToolError('--timestamp-header must be a valid header name');
  if (o.deliveryIdHeader !== undefined && !HEADER_NAME.test(o.deliveryIdHeader)) throw new ToolError('--delivery-id-header must be a valid header name');
  if (o.deliveryId !== undefined) {
    if (o.deliveryIdHeader === undefined) throw new ToolError('--delivery-id needs a delivery-id header (DELIVERY_ID_HEADER, or SIGNATURE_PRESET=nice-expert)');
    // As the daemon validates it (src/http/event.ts), and nothing a header cannot carry.
    if (o.deliveryId.length === 0 || o.deliveryId.length > MAX_DELIVERY_ID_LENGTH) throw new ToolError(`--delivery-id must be 1 to ${MAX_DELIVERY_ID_LENGTH} characters`);
    const wellFormed = (o.deliveryId as string & { isWellFormed(): boolean }).isWellFormed();
    if (!wellFormed || /[\x00-\x1f\x7f]/.test(o.deliveryId)) throw new ToolError('--delivery-id must be valid Unicode without control characters');
    // uWebSockets.js trims spaces and non-ASCII bytes at either end of a header value.
    if (!/^[\x21-\x7e](.*[\x21-\x7e])?$/s.test(o.deliveryId)) throw new ToolError('--delivery-id must begin and end with a visible ASCII character');
  }
  if (o.requestTimeoutMs !== undefined && (!Number.isFinite(o.requestTimeoutMs) || o.requestTimeoutMs <= 0)) {
    throw new ToolError('--timeout-ms must be a positive number');
  }
  return url;
}

/**
 * Posts signed events to a running daemon, one at a time, and returns every response. Input is
 * validated before anything is sent. Rejects with ToolError on bad input, or with an Error when
 * the daemon cannot be reached (responses received so far were already passed to onResponse).
 */
export async function send(options: SendOptions): Promise<SendResult[]> {
  const url = checkSendOptions(options);
  let bodies: string[];
  if (options.file !== undefined) bodies = await readEventFile(options.file);
  else if (options.events !== undefined) bodies = options.events.map((e) => JSON.stringify(e));
  else bodies = [JSON.stringify(buildEvent(options.event, options.now))];

  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const scheme = options.scheme ?? DEFAULT_SIGNATURE_SCHEME;
  const withTimestamp = options.timestamp === true || options.requireTimestamp === true || scheme.signedContent === 'timestamp.body';
  const timestampHeader = headerDisplayName(options.timestampHeader ?? scheme.timestampHeader);
  const signatureHeader = headerDisplayName(scheme.header);
  const deliveryIdHeader = options.deliveryIdHeader === undefined ? undefined : headerDisplayName(options.deliveryIdHeader);
  const results: SendResult[] = [];
  const count = options.count ?? 1;
  let index = 0;
  for (const body of bodies) {
    // One delivery per body: its repeats are the sender retrying it, so they keep the id.
    const deliveryId = deliveryIdHeader === undefined ? undefined : headerValue(options.deliveryId ?? randomUUID());
    for (let n = 0; n < count; n += 1) {
      index += 1;
      options.signal?.throwIfAborted();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const ts = withTimestamp ? String(Math.floor(now() / 1000)) : undefined;
      if (ts !== undefined) headers[timestampHeader] = ts;
      if (deliveryId !== undefined) headers[deliveryIdHeader!] = deliveryId;
      headers[signatureHeader] = signWithScheme(options.secret, body, scheme, ts);
      const req = requestSignal(timeoutMs, options.signal);
      try {
        let response: Response;
        try {
          response = await fetchImpl(url, { method: 'POST', headers, body, signal: req.signal, redirect: 'manual' });
        } catch (err) {
          if (options.signal?.aborted) throw err;
          const why = req.timedOut() ? `timed out after ${timeoutMs} ms` : describeNetworkError(err);
          throw new Error(`event ${index}: could not reach ${safeUrl(url.toString())}: ${why}`);
        }
        const text = await readBodyLimited(response);
        const result: SendResult = { index, status: response.status, body: text, ok: response.ok };
        results.push(result);
        options.onResponse?.(result);
      } finally {
        req.dispose();
      }
    }
  }
  return results;
}
