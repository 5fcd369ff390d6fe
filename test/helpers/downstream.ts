/**
 * A real HTTP(S) downstream on loopback for delivery tests: records every request (headers and
 * exact body bytes) and answers as told at run time: 2xx, any status (5xx, 429 with Retry-After,
 * 4xx, 3xx), hang (never answer), drop (close without answering) or reset (TCP RST), per request
 * or by a rule, then recover. Port 0; https with a throwaway self-signed certificate from openssl.
 */
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  /** Arrival order, from 0. */
  readonly n: number;
  readonly method: string;
  readonly path: string;
  /** Lowercased names, as node:http reports them. */
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** How it was answered. */
  readonly answer: Behaviour['kind'];
  /** The status sent, when one was. */
  readonly status: number | undefined;
  /** The client connection's remote port (tells kept-alive connections apart). */
  readonly remotePort: number | undefined;
}

export type Behaviour =
  /** Answer 2xx (default 200) with an optional body. */
  | { kind: 'ok'; status?: number; body?: string }
  /** Answer this status, e.g. 503, or 429 with headers { 'retry-after': '2' }. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Never answer (until release() or close()). */
  | { kind: 'hang' }
  /** Close the connection without answering (FIN). */
  | { kind: 'drop' }
  /** Reset the connection without answering (RST). */
  | { kind: 'reset' };

/** Decides per request; return undefined to fall back to the current mode. */
export type Rule = (req: { n: number; headers: http.IncomingHttpHeaders; body: Buffer }) => Behaviour | undefined;

export interface DownstreamOptions {
  https?: boolean;
}

export class Downstream {
  readonly requests: Received[] = [];
  /** PEM of the self-signed certificate (https only), for the client's `ca`. */
  readonly cert: string | undefined;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  /** Hanging responses, with the index of their request in `requests`. */
  private readonly hung = new Map<http.ServerResponse, number>();
  private readonly listeners = new Set<() => void>();
  private scripted: Behaviour[] = [];
  private mode: Behaviour = { kind: 'ok' };
  private rule: Rule | undefined;
  private port = 0;

  private constructor(server: http.Server, cert: string | undefined) {
    this.server = server;
    this.cert = cert;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => this.handle(req, res));
  }

  static async start(options: DownstreamOptions = {}): Promise<Downstream> {
    let server: http.Server;
    let cert: string | undefined;
    if (options.https) {
      const dir = mkdtempSync(path.join(tmpdir(), 'downstream-tls-'));
      try {
        execFileSync('openssl', [
          'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
          '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1',
          '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        ], { stdio: ['ignore', 'ignore', 'pipe'] });
        cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
        server = https.createServer({ cert, key: readFileSync(path.join(dir, 'key.pem'), 'utf8') });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else {
      server = http.createServer();
    }
    const d = new Downstream(server, cert);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    d.port = (server.address() as AddressInfo).port;
    return d;
  }

  get url(): string {
    return `${this.cert ? 'https' : 'http'}://127.0.0.1:${this.port}/hook`;
  }

  /** Answer every following request this way (until told otherwise). */
  behave(mode: Behaviour): this {
    this.mode = mode;
    return this;
  }

  /** Back to answering 200. */
  recover(): this {
    return this.behave({ kind: 'ok' });
  }

  /** One-shot answers for the next requests, in order, before the rule and the mode apply. */
  script(...answers: Behaviour[]): this {
    this.scripted.push(...answers);
    return this;
  }

  /** Per-request decision (e.g. by Idempotency-Key); undefined from it means "use the mode". */
  setRule(rule: Rule | undefined): this {
    this.rule = rule;
    return this;
  }

  /** Requests answered 2xx. */
  accepted(): Received[] {
    return this.requests.filter((r) => r.answer === 'ok');
  }

  /** Requests answered 2xx, by Idempotency-Key, in arrival order. */
  acceptedIds(): string[] {
    return this.accepted().map((r) => String(r.headers['idempotency-key']));
  }

  /** Requests waiting for an answer because they hang. */
  get hanging(): number {
    return this.hung.size;
  }

  /** Answers every hanging request 200 now (their entries in `requests` then read as answered 'ok'). */
  release(): void {
    for (const [res, n] of this.hung) {
      if (res.writableEnded || res.destroyed) continue;
      res.writeHead(200, { 'content-length': 0 }).end();
      this.requests[n] = { ...this.requests[n]!, answer: 'ok', status: 200 };
    }
    this.hung.clear();
  }

  /** Called on every request, after it is recorded (for tests that await a condition). */
  onRequest(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.hung.clear();
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const n = this.requests.length;
      const behaviour = this.scripted.shift() ?? this.rule?.({ n, headers: req.headers, body }) ?? this.mode;
      const status = behaviour.kind === 'ok' ? (behaviour.status ?? 200) : behaviour.kind === 'status' ? behaviour.status : undefined;
      this.requests.push({ n, method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, answer: behaviour.kind, status, remotePort: req.socket.remotePort });
      switch (behaviour.kind) {
        case 'ok':
        case 'status': {
          const text = behaviour.body ?? '';
          res.writeHead(status!, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text), ...(behaviour.kind === 'status' ? behaviour.headers : {}) });
          res.end(text);
          break;
        }
        case 'hang':
          this.hung.set(res, n);
          res.on('close', () => this.hung.delete(res));
          break;
        case 'drop':
          req.socket.destroy();
          break;
        case 'reset':
          req.socket.resetAndDestroy();
          break;
      }
      for (const l of this.listeners) l();
    });
  }
}
