/** Writing responses on a uWS HttpResponse: JSON bodies, status lines, corked. */
import type { HttpResponse } from 'uWebSockets.js';

/** What GET /metrics is served as: the Prometheus text exposition format 0.0.4 (metrics/prometheus.ts renders it). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Unknown`;
}

export interface RespondOptions {
  /** Extra headers, e.g. Allow on a 405. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Ask the client to close after this response. uWS keeps reading (and discarding) any body
   * still in flight instead of resetting the socket, so the client gets to read the response;
   * a client that keeps sending anyway is cut off by uWS's idle timeout.
   */
  connectionClose?: boolean;
  /** Close right after sending; only when no request body is left unread (draining at shutdown). */
  closeAfter?: boolean;
  contentType?: string;
  /** Answer a HEAD request: the same status and headers (Content-Length included), no body. */
  headOnly?: boolean;
}

/** Status line and headers; the caller is corked. */
function writeHead(res: HttpResponse, status: number, opts: RespondOptions): void {
  // uWS writes "200 OK" itself before the first header: one native call less on the hot path.
  if (status !== 200) res.writeStatus(statusLine(status));
  res.writeHeader('Content-Type', opts.contentType ?? 'application/json');
  if (opts.headers) for (const k in opts.headers) res.writeHeader(k, opts.headers[k]!);
  if (opts.connectionClose) res.writeHeader('Connection', 'close');
}

/**
 * Writes a complete response. Call only while the response is still open (not aborted/ended).
 * Always corked, even inside uWS callbacks: without it, under pipelined load every header and
 * body became its own write, and a daemon that kept up with 45,000 requests/s offered fell to
 * ~16,000 (bench/e2e.ts, paced phase).
 */
/**
 * uWebSockets.js's JS shim (Node.js majors the pinned build has no binary for) throws "Not
 * implemented" from endWithoutBody before writing anything; node:http under it drops the body of
 * an answer to HEAD by itself, so end(body) puts the same bytes on the wire there.
 */
function endHead(res: HttpResponse, body: string | Uint8Array): void {
  try {
    res.endWithoutBody();
  } catch (err) {
    if (!(err instanceof Error && err.message === 'Not implemented')) throw err;
    res.end(body);
  }
}

export function send(res: HttpResponse, status: number, body: string | Uint8Array, opts: RespondOptions = {}): void {
  res.cork(() => {
    writeHead(res, status, opts);
    if (opts.headOnly) {
      // Only the argument-less endWithoutBody(): in uWS 20.30 any argument (even undefined)
      // leaves the response open (a pipelined request behind it is never answered) and, without
      // onAborted, aborts the process (uNetworking/uWebSockets#1855). It adds no length header.
      // (closeAfter is only for webhook answers, never HEAD.)
      res.writeHeader('Content-Length', String(Buffer.byteLength(body)));
      endHead(res, body);
    } else {
      res.end(body, opts.closeAfter === true);
    }
  });
}

export function sendJson(res: HttpResponse, status: number, value: unknown, opts: RespondOptions = {}): void {
  send(res, status, JSON.stringify(value), opts);
}

/** Every error body is `{"error": "..."}` (plus optional detail fields). */
export function sendError(res: HttpResponse, status: number, message: string, opts: RespondOptions & { field?: string } = {}): void {
  const body: Record<string, string> = { error: message };
  if (opts.field !== undefined) body.field = opts.field;
  send(res, status, JSON.stringify(body), opts);
}

/**
 * Writes status, headers and the complete body without ending the response (uWS then frames it
 * as chunked); `res.end()` later finishes it. The client can act on the answer at once.
 */
export function sendUnended(res: HttpResponse, status: number, body: string | Uint8Array): void {
  res.cork(() => {
    writeHead(res, status, { connectionClose: true });
    res.write(body);
  });
}
