/**
 * A local stand-in for the CXone API, for tests: the OAuth client-credentials token endpoint
 * (`POST /auth/token`) and the webhook subscription endpoint (`POST /v1/webhooks`), validating
 * requests the way the real ones do, recording every request, and scriptable per test (status,
 * Retry-After, delay, dropped connection, short-lived tokens). Loopback only, port 0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach } from 'node:test';

// Captured at load so tests that enable mock.timers do not freeze the stand-in's own delays.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

export const STANDIN_TOKEN_PATH = '/auth/token';
export const STANDIN_API_PATH = '/v1';

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  path: string;
  /** Lowercased names, as node:http reports them. */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, as UTF-8 text. */
  body: string;
  /** Date.now() when the request was complete. */
  at: number;
}

/** One scripted answer, consumed by the next request to that endpoint. */
export type Scripted =
  /** Answer with this status (and body/headers), skipping validation; after delayMs if given. */
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  /** Wait, then behave normally (validate and answer). */
  | { delayMs: number; expiresIn?: number }
  /** Token endpoint: behave normally but issue a token living this many seconds. */
  | { expiresIn: number }
  /** Close the connection without answering (a network error for the client). */
  | { destroy: true; delayMs?: number };

export type StandinEndpoint = 'token' | 'webhooks';

export interface StandinOptions {
  clientId?: string;
  clientSecret?: string;
  /** Scopes the client may be granted; default webhook:write webhook:read. */
  allowedScopes?: readonly string[];
  /** Lifetime of issued tokens in seconds; default 3600. */
  tokenTtlSeconds?: number;
  /** Clock for token expiry, epoch ms; default Date.now. */
  now?: () => number;
}

interface IssuedToken {
  expiresAt: number;
  scopes: string[];
  revoked: boolean;
}

export interface RegisteredWebhook {
  id: string;
  url: string;
  events: string[];
  secret: string;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** application/x-www-form-urlencoded decoding of one component. */
function formDecode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

const DEFAULT_BODIES: Record<number, unknown> = {
  400: { error: 'invalid_request' },
  401: { error: 'invalid_token', error_description: 'The access token is invalid' },
  403: { error: 'insufficient_scope', error_description: 'webhook:write is required' },
  409: { error: 'conflict', message: 'A webhook with this URL already exists' },
  429: { error: 'too_many_requests', message: 'Rate limit exceeded' },
  500: { error: 'internal_error' },
  502: { error: 'bad_gateway' },
  503: { error: 'service_unavailable' },
  504: { error: 'gateway_timeout' },
};

export class CxoneStandin {
  readonly requests: RecordedRequest[] = [];
  /** Subscriptions created so far, by URL. */
  readonly webhooks = new Map<string, RegisteredWebhook>();
  /** access_token values issued, in order. */
  readonly issued: string[] = [];
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly scripts: Record<StandinEndpoint, Scripted[]> = { token: [], webhooks: [] };
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly allowedScopes: readonly string[];
  private readonly ttl: number;
  private readonly now: () => number;
  private server!: Server;
  private port = 0;

  constructor(options: StandinOptions = {}) {
    this.clientId = options.clientId ?? 'standin-client';
    this.clientSecret = options.clientSecret ?? 'standin-secret';
    this.allowedScopes = options.allowedScopes ?? ['webhook:write', 'webhook:read'];
    this.ttl = options.tokenTtlSeconds ?? 3600;
    this.now = options.now ?? Date.now;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get tokenUrl(): string {
    return `${this.origin}${STANDIN_TOKEN_PATH}`;
  }
  get apiBase(): string {
    return `${this.origin}${STANDIN_API_PATH}`;
  }
  /** Settings for cxoneSettingsFromEnv-style callers. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      CXONE_CLIENT_ID: this.clientId,
      CXONE_CLIENT_SECRET: this.clientSecret,
      CXONE_TOKEN_URL: this.tokenUrl,
      CXONE_API_BASE: this.apiBase,
      ...extra,
    };
  }

  tokenRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.split('?')[0] === STANDIN_TOKEN_PATH);
  }
  webhookRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.split('?')[0] === `${STANDIN_API_PATH}/webhooks`);
  }

  /** Queues answers for the next requests to `endpoint`, in order. */
  script(endpoint: StandinEndpoint, ...answers: Scripted[]): this {
    this.scripts[endpoint].push(...answers);
    return this;
  }

  /** Scripted answers not consumed yet. */
  pending(endpoint: StandinEndpoint): number {
    return this.scripts[endpoint].length;
  }

  /** Forgets the recorded requests and the subscriptions (scripted answers and tokens stay). */
  reset(): void {
    this.requests.length = 0;
    this.webhooks.clear();
  }

  /** Makes a previously issued token invalid (as if revoked server-side). */
  revoke(token: string): void {
    const t = this.tokens.get(token);
    if (t) t.revoked = true;
  }

  async listen(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) json(res, 500, { error: 'standin_failure' });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.timers) realClearTimeout(t);
    this.timers.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private delay(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = realSetTimeout(() => {
        this.timers.delete(timer);
        res.off('close', onClose);
        resolve(true);
      }, ms);
      const onClose = () => {
        realClearTimeout(timer);
        this.timers.delete(timer);
        resolve(false);
      };
      this.timers.add(timer);
      res.once('close', onClose);
    });
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of req) {
      total += (chunk as Buffer).length;
      if (total > 1024 * 1024) throw new Error('body too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readBody(req);
    const path = req.url ?? '/';
    this.requests.push({ method: req.method ?? '', path, headers: { ...req.headers }, body, at: Date.now() });
    const route = path.split('?')[0];
    const endpoint: StandinEndpoint | null =
      route === STANDIN_TOKEN_PATH ? 'token' : route === `${STANDIN_API_PATH}/webhooks` ? 'webhooks' : null;
    if (endpoint === null) return json(res, 404, { error: 'not_found' });

    let expiresIn: number | undefined;
    const scripted = this.scripts[endpoint].shift();
    if (scripted) {
      if ('delayMs' in scripted && scripted.delayMs !== undefined && scripted.delayMs > 0) {
        if (!(await this.delay(scripted.delayMs, res))) return; // the client gave up
      }
      if ('destroy' in scripted) {
        res.socket?.destroy();
        return;
      }
      if ('status' in scripted) {
        const b = scripted.body ?? DEFAULT_BODIES[scripted.status] ?? {};
        return json(res, scripted.status, b, scripted.headers);
      }
      if ('expiresIn' in scripted) expiresIn = scripted.expiresIn;
    }

    if (req.method !== 'POST') return json(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' });
    if (endpoint === 'token') return this.token(req, res, body, expiresIn);
    return this.createWebhook(req, res, body);
  }

  private token(req: IncomingMessage, res: ServerResponse, body: string, expiresIn: number | undefined): void {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      return json(res, 400, { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded' });
    }
    // Client authentication: HTTP Basic with form-encoded id and secret (RFC 6749 §2.3.1).
    const auth = req.headers.authorization ?? '';
    const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(auth);
    const unauthorized = () =>
      json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' }, { 'www-authenticate': 'Basic realm="cxone"' });
    if (!m) return unauthorized();
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return unauthorized();
    const id = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (id !== this.clientId || secret !== this.clientSecret) return unauthorized();

    const params = new URLSearchParams(body);
    if (params.has('client_secret')) {
      return json(res, 400, { error: 'invalid_request', error_description: 'Use one client authentication method' });
    }
    const grant = params.get('grant_type');
    if (grant === null) return json(res, 400, { error: 'invalid_request', error_description: 'grant_type is required' });
    if (grant !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
    const requested = (params.get('scope') ?? this.allowedScopes.join(' ')).split(' ').filter(Boolean);
    const refused = requested.filter((s) => !this.allowedScopes.includes(s));
    if (refused.length > 0) return json(res, 400, { error: 'invalid_scope', error_description: `Scope not allowed: ${refused.join(' ')}` });

    const ttl = expiresIn ?? this.ttl;
    const token = `standin-${this.issued.length + 1}-${randomBytes(12).toString('hex')}`;
    this.issued.push(token);
    this.tokens.set(token, { expiresAt: this.now() + ttl * 1000, scopes: requested, revoked: false });
    return json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: ttl, scope: requested.join(' ') });
  }

  private createWebhook(req: IncomingMessage, res: ServerResponse, body: string): void {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m) {
      return json(res, 401, { error: 'unauthorized', error_description: 'Bearer token required' }, { 'www-authenticate': 'Bearer realm="cxone"' });
    }
    const t = this.tokens.get(m[1]!);
    if (!t || t.revoked || this.now() >= t.expiresAt) {
      return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer realm="cxone", error="invalid_token"' });
    }
    if (!t.scopes.includes('webhook:write')) return json(res, 403, { error: 'insufficient_scope', scope: 'webhook:write' });
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return json(res, 415, { error: 'unsupported_media_type' });
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return json(res, 400, { error: 'invalid_request', message: 'Body must be JSON' });
    }
    const o = (doc && typeof doc === 'object' && !Array.isArray(doc) ? doc : {}) as Record<string, unknown>;
    let target: URL | null = null;
    try {
      target = typeof o.url === 'string' ? new URL(o.url) : null;
    } catch {
      target = null;
    }
    if (!target || (target.protocol !== 'https:' && target.protocol !== 'http:')) {
      return json(res, 400, { error: 'invalid_request', message: 'url must be an absolute http(s) URL' });
    }
    if (!Array.isArray(o.events) || o.events.length === 0 || o.events.some((e) => typeof e !== 'string' || e === '')) {
      return json(res, 400, { error: 'invalid_request', message: 'events must be a non-empty array of event names' });
    }
    if (typeof o.secret !== 'string' || o.secret === '') return json(res, 400, { error: 'invalid_request', message: 'secret is required' });
    const url = o.url as string;
    if (this.webhooks.has(url)) return json(res, 409, DEFAULT_BODIES[409]);
    const hook: RegisteredWebhook = { id: `wh-${this.webhooks.size + 1}`, url, events: o.events as string[], secret: o.secret };
    this.webhooks.set(url, hook);
    return json(res, 201, { id: hook.id, url: hook.url, events: hook.events });
  }
}

/** Starts a stand-in on 127.0.0.1 with an ephemeral port; close() it in `after`/`finally`. */
export async function startCxoneStandin(options: StandinOptions = {}): Promise<CxoneStandin> {
  return new CxoneStandin(options).listen();
}

/**
 * The usual set-up, for the tests of one describe(): one stand-in, listening before the first
 * test, reset() before each, closed after the last. Call it in the describe() body; the stand-in
 * it returns has its URLs once the tests run.
 */
export function useCxoneStandin(options: StandinOptions = {}): CxoneStandin {
  const standin = new CxoneStandin(options);
  before(() => standin.listen());
  beforeEach(() => standin.reset());
  after(() => standin.close());
  return standin;
}
