/**
 * The HTTP face of the daemon on uWebSockets.js. One way through for webhooks:
 * request → verify signature (raw bytes) → parse and validate → dedup → respond.
 * Metrics observe from the side through RequestObserver; nothing here awaits.
 */
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from '../log.js';
import type { DataActionEvent, RequestFacts } from '../dedup/event.js';
import { headerDisplayName } from '../cxone/signature-scheme.js';
import type { ParsedTimestamp } from '../dedup/timestamp.js';
import { bearerCheck } from './bearer.js';
import { rejection, signatureRejection, type Reply, type SignatureMessages } from './reply.js';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { explainListenFailure } from './listen-error.js';
import type { RejectReason } from './reject-reason.js';
import { parseDeliveryId, parseEvent, MAX_ID_LENGTH } from './event.js';
import { PROMETHEUS_CONTENT_TYPE, send, sendError, sendJson, sendUnended, type RespondOptions } from './respond.js';
import type { RequestVerifier } from './signature.js';
import { STATUS_PAGE } from './status-page.js';
import type { UwsModule } from './uws.js';

export const WEBHOOK_PATH = '/cxone/webhook/data-action';

export type ProcessOutcome =
  | { status: 'processed'; interactionId: string; state: unknown }
  | { status: 'deduplicated'; interactionId: string }
  /** Not made durable for delivery: nothing was recorded; 503 with Retry-After. */
  | { status: 'unavailable'; interactionId: string; message: string; retryAfterSeconds: number };

/** The dedup engine (and the hand-off downstream), as the server sees it. */
export interface WebhookSink {
  /**
   * `body` is only valid during the call (uWS reuses it): a sink that keeps it copies it.
   * `request`: what the key may read besides the body. A promise when the answer must wait
   * (for the event to be durable, or for an earlier event of its interaction).
   */
  process(event: DataActionEvent, timestamp: ParsedTimestamp, body: Uint8Array, request: RequestFacts): ProcessOutcome | Promise<ProcessOutcome>;
  /**
   * The latest state of an interaction, or undefined: at once from memory, or a promise when it
   * must be fetched (Redis). A StateUnavailable (returned or resolved) is answered 503.
   */
  getState(interactionId: string): unknown;
}

/** GET /state could not be answered now (the store is unreachable): 503 with Retry-After. */
export class StateUnavailable {
  constructor(
    readonly message: string,
    readonly retryAfterSeconds: number,
  ) {}
}

/** A whole webhook decision in one synchronous step (native-path.ts). */
export interface FastWebhookPath {
  evaluate(body: Uint8Array, signature: string, timestamp: string): Reply;
}

/** How the signature verdicts are worded for this scheme. */
export function signatureMessages(scheme: { header: string; timestampHeader: string }): SignatureMessages {
  return {
    missingSignature: `missing ${headerDisplayName(scheme.header)} header`,
    missingTimestamp: `missing ${scheme.timestampHeader.toLowerCase()} header (signed timestamps are required)`,
  };
}

/** Counts and timings, reported as they happen; must be cheap and must not throw. */
export interface RequestObserver {
  received(): void;
  rejected(reason: RejectReason): void;
  /** Webhook request latency in microseconds, from the handler's first line to the response; `nowMs` is performance.now() at the end. */
  latency(us: number, nowMs: number): void;
}

export interface Readiness {
  ready: boolean;
  [detail: string]: unknown;
}

export interface ServerOptions {
  uws: UwsModule;
  host: string;
  port: number;
  maxBodyBytes: number;
  /** Also names the signature and timestamp headers to read (its scheme). */
  verifier: RequestVerifier;
  /**
   * When set, this header's value is the request's deliveryId for the dedup key, and required:
   * a request without a valid one is refused (400, field deliveryId). Unset: not read.
   */
  deliveryIdHeader?: string;
  /** When set, GET/HEAD /state/:interactionId and /stats require `Authorization: Bearer <stateToken>`. */
  stateToken?: string;
  sink: WebhookSink;
  /**
   * When set, webhooks take this path instead of verify → parse → sink: the native per-webhook
   * call (native-path.ts), for the embedded store with nothing to make durable first.
   */
  fastPath?: FastWebhookPath;
  observer: RequestObserver;
  logger: Logger;
  /** A promise when the answer must be gathered first (a worker thread answers for the whole process). */
  stats: () => unknown;
  metrics: () => string | Promise<string>;
  readiness: () => Readiness | Promise<Readiness>;
}

/** The methods the read-only resources answer (the Allow header of their 405). */
const READ_METHODS = 'GET, HEAD';

/** What a request tells the key when no delivery-id header is read. */
const NO_REQUEST_FACTS: RequestFacts = Object.freeze({});

/** How long a rejected upload may keep streaming (discarded) before the answer ends and the socket closes. */
const LINGER_IDLE_MS = 1000;
const LINGER_MAX_MS = 5000;

/** What a read-only JSON resource answers. */
interface JsonAnswer {
  status: number;
  body: unknown;
}

/** A HEAD request's answer has no body, whatever its status. */
function isHead(req: HttpRequest): boolean {
  // uWS gives the method in lowercase; its JS shim (Node.js 22/24 here) as sent.
  return req.getMethod().toLowerCase() === 'head';
}

/** The 200 (or 503) that a sink's outcome makes. */
function replyTo(outcome: ProcessOutcome): Reply {
  switch (outcome.status) {
    case 'processed':
      return { status: 200, body: JSON.stringify({ status: 'processed', interactionId: outcome.interactionId, state: outcome.state }) };
    case 'deduplicated':
      return { status: 200, body: JSON.stringify({ status: 'deduplicated', interactionId: outcome.interactionId }) };
    default:
      return { ...rejection('unavailable', outcome.message), headers: { 'Retry-After': String(outcome.retryAfterSeconds) } };
  }
}

export class WebhookServer {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  private inFlight = 0;
  private draining = false;
  private drainWaiters: Array<() => void> = [];
  private boundPort = 0;
  private readonly stateAuthorized: ((authorization: string) => boolean) | null;
  /** Lowercase, as uWS reads them; the labels are for messages. */
  private readonly signatureHeader: string;
  private readonly timestampHeader: string;
  private readonly deliveryIdHeader: string | null;
  /** How refusals name that header (as configured, e.g. X-Nexus-Delivery-Id). */
  private readonly deliveryIdHeaderName: string;
  private readonly messages: SignatureMessages;
  private readonly fast: FastWebhookPath | null;

  constructor(private readonly options: ServerOptions) {
    this.stateAuthorized = options.stateToken === undefined ? null : bearerCheck(options.stateToken);
    const { scheme } = options.verifier;
    this.signatureHeader = scheme.header.toLowerCase();
    this.timestampHeader = scheme.timestampHeader.toLowerCase();
    this.deliveryIdHeader = options.deliveryIdHeader?.toLowerCase() ?? null;
    this.deliveryIdHeaderName = this.deliveryIdHeader === null ? '' : headerDisplayName(this.deliveryIdHeader);
    this.messages = signatureMessages(scheme);
    this.fast = options.fastPath ?? null;
    this.app = options.uws.App();
    this.routes();
  }

  get port(): number {
    return this.boundPort;
  }

  /** Requests whose response has not been written yet. */
  get pending(): number {
    return this.inFlight;
  }

  async listen(): Promise<number> {
    const { host, port, uws } = this.options;
    // A host name that does not resolve: said before uWS tries (its JS shim would throw it uncaught).
    if (net.isIP(host) === 0) {
      try {
        await lookup(host);
      } catch {
        throw new Error(await explainListenFailure(host, port));
      }
    }
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          // uWS gives no reason: a bind test from node:net tells which.
          void explainListenFailure(host, port).then((reason) => reject(new Error(reason)));
          return;
        }
        this.listenSocket = socket;
        this.boundPort = uws.us_socket_local_port(socket as unknown as Parameters<UwsModule['us_socket_local_port']>[0]);
        resolve(this.boundPort);
      });
    });
  }

  /** Stops accepting connections; requests already under way (and on open connections) are still answered. */
  stopAccepting(): void {
    this.draining = true;
    if (this.listenSocket) {
      this.options.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
  }

  /** Resolves true when no request is in flight, false if `timeoutMs` passes first. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.drainWaiters.push(done);
    });
  }

  /** Closes every socket, idle keep-alive connections included. */
  closeAll(): void {
    this.stopAccepting();
    (this.app as TemplatedApp & { close?: () => void }).close?.();
  }

  private finished(): void {
    if (--this.inFlight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      // Not synchronously: we are inside a uWS callback whose socket is still corked, and the
      // waiter may close every socket; let uWS flush the last response first.
      setImmediate(() => {
        for (const w of waiters) w();
      });
    }
  }

  private routes(): void {
    const { app } = this;
    app.post(WEBHOOK_PATH, (res, req) => this.webhook(res, req));
    app.any(WEBHOOK_PATH, (res, req) => this.methodNotAllowed(res, req, 'POST'));

    app.get('/state/:interactionId', (res, req) => this.state(res, req, {}));
    app.head('/state/:interactionId', (res, req) => this.state(res, req, { headOnly: true }));
    app.any('/state/:interactionId', (res, req) => this.methodNotAllowed(res, req, READ_METHODS));

    this.getJson('/healthz', () => ({ status: 200, body: { status: 'ok' } }));
    this.getJson('/readyz', () => {
      const answer = (r: Readiness) => {
        const ready = r.ready && !this.draining;
        return { status: ready ? 200 : 503, body: { ...r, ready, status: ready ? 'ready' : this.draining ? 'draining' : 'not ready' } };
      };
      const r = this.options.readiness();
      return r instanceof Promise ? r.then(answer) : answer(r);
    });
    // Behind the token too when one is set: /stats names the snapshot path, the exporter's target
    // and its errors, and the status page shows it. (/metrics stays open for scrapers: numbers only.)
    this.getJson('/stats', () => {
      const body = this.options.stats();
      return body instanceof Promise ? body.then((b) => ({ status: 200, body: b })) : { status: 200, body };
    }, true);
    const metrics = (headOnly: boolean) => (res: HttpResponse) =>
      this.guard(res, () => this.answerWhenReady(res, this.options.metrics(), (text) => send(res, 200, text, { contentType: PROMETHEUS_CONTENT_TYPE, headOnly }), { headOnly }));
    app.get('/metrics', metrics(false));
    app.head('/metrics', metrics(true));
    app.any('/metrics', (res, req) => this.methodNotAllowed(res, req, READ_METHODS));
    // The status page holds no data (it fetches /stats), so it loads without the token.
    const statusPage = (headOnly: boolean) => (res: HttpResponse) =>
      this.guard(res, () => send(res, 200, STATUS_PAGE.html, { contentType: STATUS_PAGE.contentType, headers: STATUS_PAGE.headers, headOnly }));
    for (const path of ['/', '/status']) {
      app.get(path, statusPage(false));
      app.head(path, statusPage(true));
      app.any(path, (res, req) => this.methodNotAllowed(res, req, READ_METHODS));
    }

    app.any('/*', (res, req) => {
      const headOnly = isHead(req);
      this.guard(res, () => sendError(res, 404, 'not found', { headOnly }));
    });
  }

  /** A read-only JSON resource: GET, and HEAD with the same status and headers; `bearer`: behind the token when one is set. */
  private getJson(path: string, answer: () => JsonAnswer | Promise<JsonAnswer>, bearer = false): void {
    const handler = (headOnly: boolean) => (res: HttpResponse, req: HttpRequest) => {
      const authorization = bearer && this.stateAuthorized !== null ? req.getHeader('authorization') : '';
      this.guard(res, () => {
        if (bearer && this.stateAuthorized !== null && !this.stateAuthorized(authorization)) {
          this.unauthorized(res, { headOnly });
          return;
        }
        this.answerWhenReady(res, answer(), ({ status, body }) => sendJson(res, status, body, { headOnly }), { headOnly });
      });
    };
    this.app.get(path, handler(false));
    this.app.head(path, handler(true));
    this.app.any(path, (res, req) => this.methodNotAllowed(res, req, READ_METHODS));
  }

  /**
   * Writes the answer now, or once its promise settles: uWS needs onAborted before the handler
   * returns (a client that left gets nothing), and a rejection is a 500.
   */
  private answerWhenReady<T>(res: HttpResponse, answer: T | Promise<T>, write: (value: T) => void, opts: RespondOptions): void {
    if (!(answer instanceof Promise)) {
      write(answer);
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    answer.then(
      (value) => {
        if (!aborted) this.guard(res, () => write(value));
      },
      (err: unknown) => {
        this.options.logger.error('request handler failed', { err });
        if (!aborted) this.guard(res, () => sendError(res, 500, 'internal error', opts));
      },
    );
  }

  private methodNotAllowed(res: HttpResponse, req: HttpRequest, allow: string): void {
    const headOnly = isHead(req);
    this.guard(res, () => sendError(res, 405, 'method not allowed', { headers: { Allow: allow }, headOnly }));
  }

  /** Runs a synchronous GET handler; an unexpected exception becomes a 500, never a crash. */
  private guard(res: HttpResponse, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.logger.error('request handler failed', { err });
      try {
        sendError(res, 500, 'internal error');
      } catch {
        // The response was already written; nothing more to do.
      }
    }
  }

  private unauthorized(res: HttpResponse, opts: RespondOptions): void {
    sendError(res, 401, 'missing or invalid bearer token', { ...opts, headers: { 'WWW-Authenticate': 'Bearer realm="cxone-dedup"' } });
  }

  private state(res: HttpResponse, req: HttpRequest, opts: RespondOptions): void {
    const raw = req.getParameter(0);
    const authorization = this.stateAuthorized === null ? '' : req.getHeader('authorization');
    this.guard(res, () => {
      // Before anything else: an unauthorized caller learns nothing, not even whether the id is valid.
      if (this.stateAuthorized !== null && !this.stateAuthorized(authorization)) {
        this.unauthorized(res, opts);
        return;
      }
      let id: string;
      try {
        id = decodeURIComponent(raw);
      } catch {
        sendError(res, 400, 'interactionId is not valid percent-encoding', { ...opts, field: 'interactionId' });
        return;
      }
      if (id.length === 0 || id.length > MAX_ID_LENGTH) {
        sendError(res, 400, `interactionId must be 1 to ${MAX_ID_LENGTH} characters`, { ...opts, field: 'interactionId' });
        return;
      }
      this.answerWhenReady(res, this.options.sink.getState(id), (state) => this.sendState(res, state, opts), opts);
    });
  }

  private sendState(res: HttpResponse, state: unknown, opts: RespondOptions): void {
    if (state === undefined) sendError(res, 404, 'no state for this interactionId', opts);
    else if (state instanceof StateUnavailable) sendError(res, 503, state.message, { ...opts, headers: { 'Retry-After': String(state.retryAfterSeconds) } });
    else sendJson(res, 200, state, opts);
  }

  private webhook(res: HttpResponse, req: HttpRequest): void {
    const started = performance.now();
    const { maxBodyBytes, observer } = this.options;
    // Headers live only as long as this call: read them now.
    const signature = req.getHeader(this.signatureHeader);
    const timestamp = req.getHeader(this.timestampHeader);
    const deliveryId = this.deliveryIdHeader === null ? '' : req.getHeader(this.deliveryIdHeader);
    const contentLength = req.getHeader('content-length');
    // Only an answer sent before the whole body is read (no signature, a body too large: announced,
    // or found while a chunked upload streams) depends on it; skip the read otherwise.
    const announcedTooLarge = contentLength !== '' && !(Number(contentLength) <= maxBodyBytes);
    const mayAnswerEarly = signature === '' || contentLength === '' || announcedTooLarge;
    const connection = mayAnswerEarly ? req.getHeader('connection') : '';
    const closeRequested = connection !== '' && /(^|,)\s*close\s*($|,)/i.test(connection);

    observer.received();
    this.inFlight++;
    // deciding: the body is complete and its answer is being decided (it may wait for the event to
    // be made durable); from then on the sink's outcome, not an abort, is what the request counts as.
    let phase: 'reading' | 'lingering' | 'deciding' | 'done' = 'reading';
    let aborted = false;
    let lingerIdle: NodeJS.Timeout | undefined;
    let lingerMax: NodeJS.Timeout | undefined;
    const stopLingering = () => {
      clearTimeout(lingerIdle);
      clearTimeout(lingerMax);
      if (phase !== 'lingering') return;
      phase = 'done';
      try {
        res.cork(() => res.end());
      } catch {
        // Aborted meanwhile.
      }
    };

    const answer = (reply: Reply) => {
      if (phase === 'deciding' && aborted) {
        // The client left while its event was decided: count what happened to it, write nothing.
        phase = 'done';
        if (reply.reason !== undefined) observer.rejected(reply.reason);
        this.finished();
        return;
      }
      if (phase !== 'reading' && phase !== 'deciding') return;
      if (reply.bodyUnread && closeRequested) {
        // uWS closes a "Connection: close" socket as soon as the response ends, with the rest of
        // the upload unread: the kernel then sends a reset and the client loses our answer. So
        // send the whole answer now but end it (and close) only once the upload has stopped.
        phase = 'lingering';
        lingerIdle = setTimeout(stopLingering, LINGER_IDLE_MS);
        lingerMax = setTimeout(stopLingering, LINGER_MAX_MS);
        this.reply(res, reply, started, true);
        return;
      }
      phase = 'done';
      this.reply(res, reply, started, false);
    };

    res.onAborted(() => {
      if (phase === 'deciding') {
        aborted = true;
        return;
      }
      if (phase === 'reading') {
        observer.rejected('aborted');
        this.finished();
      }
      phase = 'done';
      clearTimeout(lingerIdle);
      clearTimeout(lingerMax);
    });

    let chunks: Buffer[] | null = null;
    let size = 0;
    res.onData((chunk, isLast) => {
      if (phase === 'lingering') {
        // Discard the rest of a rejected upload; end the answer when it stops.
        if (isLast) stopLingering();
        else lingerIdle?.refresh();
        return;
      }
      if (phase !== 'reading') return;
      size += chunk.byteLength;
      if (size > maxBodyBytes) {
        chunks = null;
        answer(rejection('body_too_large', `body larger than ${maxBodyBytes} bytes`, undefined, !isLast));
        return;
      }
      if (!isLast) {
        // uWS reuses the chunk's memory after this callback: copy.
        (chunks ??= []).push(Buffer.from(new Uint8Array(chunk)));
        return;
      }
      // Most webhook bodies arrive in one chunk: use it in place, synchronously.
      const last = Buffer.from(chunk);
      const body = chunks === null ? last : Buffer.concat([...chunks, last], size);
      chunks = null;
      const reply = this.fast === null ? this.evaluate(body, signature, timestamp, deliveryId) : this.evaluateFast(body, signature, timestamp);
      if (!(reply instanceof Promise)) {
        answer(reply);
        return;
      }
      phase = 'deciding';
      reply.then(answer, (err: unknown) => {
        this.options.logger.error('webhook handler failed', { err });
        answer(rejection('internal_error', 'internal error'));
      });
    });

    if (signature === '') {
      // Answered before reading the body, which is then discarded as it arrives. Only this
      // answer needs to know whether a body follows, so only it reads Transfer-Encoding.
      const hasBody = contentLength !== '0' && (contentLength !== '' || req.getHeader('transfer-encoding') !== '');
      answer(rejection('missing_signature', this.messages.missingSignature, undefined, hasBody));
    } else if (announcedTooLarge) {
      answer(rejection('body_too_large', `body larger than ${maxBodyBytes} bytes`, undefined, true));
    }
  }

  /** Verify → delivery id (when the key uses it) → parse → dedup; returns the reply. Never throws. */
  private evaluate(body: Uint8Array, signature: string, timestamp: string, deliveryIdHeader: string): Reply | Promise<Reply> {
    try {
      const verdict = this.options.verifier.verify(body, signature, timestamp);
      if (verdict !== 'ok') return signatureRejection(verdict, this.messages);
      let request = NO_REQUEST_FACTS;
      if (this.deliveryIdHeader !== null) {
        const id = parseDeliveryId(deliveryIdHeader, this.deliveryIdHeaderName);
        if (!id.ok) return rejection('invalid_event', id.message, 'deliveryId');
        request = { deliveryId: id.deliveryId };
      }
      const parsed = parseEvent(body);
      if (!parsed.ok) return rejection(parsed.reason, parsed.message, parsed.reason === 'invalid_event' ? parsed.field : undefined);
      const outcome = this.options.sink.process(parsed.event, parsed.timestamp, body, request);
      return outcome instanceof Promise ? outcome.then(replyTo) : replyTo(outcome);
    } catch (err) {
      this.options.logger.error('webhook handler failed', { err });
      return rejection('internal_error', 'internal error');
    }
  }

  /** The native path (one call: verify, parse, dedup); never throws. */
  private evaluateFast(body: Uint8Array, signature: string, timestamp: string): Reply {
    try {
      return this.fast!.evaluate(body, signature, timestamp);
    } catch (err) {
      this.options.logger.error('webhook handler failed', { err });
      return rejection('internal_error', 'internal error');
    }
  }

  /** Writes the reply; with `keepOpen`, everything but the end of the response (see lingering). */
  private reply(res: HttpResponse, reply: Reply, started: number, keepOpen: boolean): void {
    const { observer } = this.options;
    if (reply.reason !== undefined) observer.rejected(reply.reason);
    const base: RespondOptions = reply.bodyUnread ? { connectionClose: true } : this.draining ? { closeAfter: true } : {};
    const opts: RespondOptions = reply.headers === undefined ? base : { ...base, headers: reply.headers };
    try {
      if (keepOpen) sendUnended(res, reply.status, reply.body);
      else send(res, reply.status, reply.body, opts);
    } catch (err) {
      this.options.logger.error('writing a response failed', { err });
    }
    const end = performance.now();
    observer.latency((end - started) * 1000, end);
    this.finished();
  }
}
