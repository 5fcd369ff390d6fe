/**
 * The HTTP sink: POSTs each record's exact body bytes to DELIVERY_URL over kept-alive connections
 * and classifies the answer. 2xx = delivered; 408, 429, 5xx, timeouts and network errors = retry;
 * any other status (3xx included: redirects are not followed) = permanent.
 */
import http from 'node:http';
import https from 'node:https';
import { parseRetryAfter } from '../backoff.js';
import { createSignatureVerifier, type SignatureVerifier } from '../cxone/signing.js';
import { excerpt, safeUrl } from '../cxone/http.js';
import { describeError, type DeliveryOutcome, type DeliverySink } from './sink.js';
import type { DeliveryRecord } from './types.js';

export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const DEDUP_STATUS_HEADER = 'X-Dedup-Status';
export const DEDUP_SIGNATURE_HEADER = 'X-Dedup-Signature';
/** Bytes of a non-2xx answer kept for the dead-letter file; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 1024;
/** A 2xx answer's body is read and dropped up to this; a larger one costs the connection instead. */
const MAX_DRAIN_BYTES = 64 * 1024;

export interface HttpSinkOptions {
  /** http: or https: URL; credentials in it are refused (they would end up in logs). */
  url: string;
  /** DELIVERY_SECRET: when set, X-Dedup-Signature carries the hex HMAC-SHA256 of the body. */
  secret?: string | undefined;
  /** Whole attempt, from connecting to the answer's status line (DELIVERY_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Connections kept (sized to the dispatcher's concurrency). */
  maxSockets?: number;
  /** Cursor / stats name; default 'http'. */
  name?: string;
  /** Extra TLS options for https (e.g. `ca` for a private CA); merged into the agent. */
  tls?: https.AgentOptions;
  /** Clock for HTTP-date Retry-After values. */
  now?: () => number;
  userAgent?: string;
}

export class HttpSink implements DeliverySink {
  readonly name: string;
  readonly url: URL;
  private readonly target: string;
  private readonly signer: SignatureVerifier | undefined;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly now: () => number;
  private readonly userAgent: string;

  constructor(options: HttpSinkOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError('delivery URL must be an absolute http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('delivery URL must be an absolute http(s) URL');
    if (url.username !== '' || url.password !== '') throw new TypeError('delivery URL must not carry credentials');
    this.url = url;
    this.target = safeUrl(url.href);
    this.name = options.name ?? 'http';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError(`timeoutMs must be > 0, got ${String(this.timeoutMs)}`);
    if (options.secret !== undefined && options.secret.length < 16) throw new TypeError('delivery secret must be at least 16 characters');
    this.signer = options.secret !== undefined ? createSignatureVerifier(options.secret) : undefined;
    const maxSockets = options.maxSockets ?? 16;
    const agentOptions: http.AgentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' };
    if (url.protocol === 'https:') {
      this.agent = new https.Agent({ ...agentOptions, ...options.tls });
      this.request = https.request;
    } else {
      this.agent = new http.Agent(agentOptions);
      this.request = http.request;
    }
    this.now = options.now ?? Date.now;
    this.userAgent = options.userAgent ?? 'cxone-dedup';
  }

  /** The headers of one delivery (exported for tests and docs). */
  headersFor(record: DeliveryRecord): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(record.body.length),
      'idempotency-key': headerSafe(record.id),
      'x-dedup-status': record.status,
      'user-agent': this.userAgent,
    };
    if (this.signer) headers['x-dedup-signature'] = this.signer.sign(record.body);
    return headers;
  }

  deliver(record: DeliveryRecord, _attempt: number, signal: AbortSignal): Promise<DeliveryOutcome> {
    return new Promise<DeliveryOutcome>((resolve) => {
      let settled = false;
      // The timer outlives the outcome: it also bounds reading the answer's body, so a downstream
      // that never finishes one cannot keep a pooled connection busy forever.
      const finish = (outcome: DeliveryOutcome) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      let req: http.ClientRequest;
      try {
        req = this.request(this.url, { method: 'POST', agent: this.agent, headers: this.headersFor(record) });
      } catch (err) {
        resolve({ kind: 'retry', error: `request to ${this.target} failed: ${describeError(err)}` });
        return;
      }
      const timer = setTimeout(() => {
        req.destroy();
        finish({ kind: 'retry', error: `no answer from ${this.target} within ${this.timeoutMs} ms (DELIVERY_TIMEOUT_MS)` });
      }, this.timeoutMs);
      const onAbort = () => {
        req.destroy();
        finish({ kind: 'retry', error: 'delivery aborted (stopping)' });
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });

      req.on('close', () => clearTimeout(timer));
      req.on('error', (err) => finish({ kind: 'retry', error: `request to ${this.target} failed: ${describeError(err)}` }));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          finish({ kind: 'delivered' });
          drain(res, MAX_DRAIN_BYTES);
          return;
        }
        void readSome(res, MAX_ERROR_BODY_BYTES).then((text) => finish(this.classify(status, res, text)));
      });
      req.end(record.body);
    });
  }

  private classify(status: number, res: http.IncomingMessage, text: string): DeliveryOutcome {
    const reason = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''} from ${this.target}`;
    if (status === 408 || status === 429 || (status >= 500 && status <= 599)) {
      const header = res.headers['retry-after'];
      const retryAfterMs = parseRetryAfter(Array.isArray(header) ? header[0] : header, this.now(), Number.MAX_SAFE_INTEGER);
      return { kind: 'retry', error: reason, retryAfterMs };
    }
    const detail = text.length > 0 ? excerpt(text, 500) : undefined;
    if (status >= 300 && status < 400) {
      const location = res.headers.location;
      let to = '';
      try {
        if (typeof location === 'string') to = ` to ${safeUrl(new URL(location, this.url).href)}`;
      } catch {
        // An unreadable Location changes nothing: the redirect is refused either way.
      }
      return { kind: 'permanent', error: `${reason}: redirect${to} not followed; point DELIVERY_URL at the final address`, detail };
    }
    return { kind: 'permanent', error: reason, detail };
  }

  close(): void {
    this.agent.destroy();
  }
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * Header values must be visible ASCII (Node refuses others outright, and Idempotency-Key is a
 * structured-field string). An id with anything else is sent percent-encoded (UTF-8), the same
 * way on every retry.
 */
export function headerSafe(id: string): string {
  return VISIBLE_ASCII.test(id) ? id : encodeURIComponent(id);
}

/** Reads and drops a response body, destroying the connection if it is longer than `max`. */
function drain(res: http.IncomingMessage, max: number): void {
  let seen = 0;
  res.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > max) res.destroy();
  });
  res.on('error', () => {});
}

/** Up to `max` bytes of a response body as text; the rest is discarded (connection destroyed). */
function readSome(res: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = () => resolve(Buffer.concat(chunks).toString('utf8'));
    res.on('data', (chunk: Buffer) => {
      if (total >= max) return;
      chunks.push(chunk.subarray(0, max - total));
      total += Math.min(chunk.length, max - total);
      if (total >= max) {
        res.destroy();
        done();
      }
    });
    res.on('end', done);
    res.on('close', done);
    res.on('error', done);
  });
}
