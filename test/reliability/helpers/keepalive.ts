/**
 * A small keep-alive HTTP/1.1 client over net.Socket for load and fuzzing: a pool of connections,
 * one request in flight per connection, arbitrary bytes allowed. A connection the server closes
 * (or answers with `Connection: close`) is replaced for the next request.
 */
import net from 'node:net';
import { parseResponses, type RawResponse } from '../../helpers/raw-http.js';

/** A complete request: method, path, headers (Content-Length added) and body bytes. */
export function buildRequest(method: string, pathname: string, headers: Record<string, string>, body: Uint8Array | string = ''): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let head = `${method} ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (method !== 'GET' || bytes.length > 0) head += `Content-Length: ${bytes.length}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), bytes]);
}

class Connection {
  private buf = Buffer.alloc(0);
  private pending: { resolve: (r: RawResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  dead = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      if (this.pending === null) return;
      const { responses, rest } = parseResponses(this.buf);
      if (responses.length === 0) return;
      this.buf = Buffer.from(rest);
      const p = this.pending;
      this.pending = null;
      clearTimeout(p.timer);
      const r = responses[0]!;
      if (/close/i.test(r.headers.connection ?? '')) this.kill();
      p.resolve(r);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.dead = true;
      const p = this.pending;
      this.pending = null;
      if (p) {
        clearTimeout(p.timer);
        p.reject(new Error('connection closed before the response'));
      }
    });
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve(new Connection(s));
      });
      s.once('error', reject);
    });
  }

  send(request: Buffer, timeoutMs: number): Promise<RawResponse> {
    if (this.dead) return Promise.reject(new Error('connection is closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        this.kill();
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = { resolve, reject, timer };
      this.socket.write(request);
    });
  }

  kill(): void {
    this.dead = true;
    this.socket.destroy();
  }
}

export class KeepAlivePool {
  private idle: Connection[] = [];
  private waiters: Array<() => void> = [];
  private open = 0;
  private closed = false;
  /** Connections opened over the pool's life (replacements included). */
  connectionsOpened = 0;

  constructor(
    private readonly port: number,
    private readonly size: number,
    private readonly timeoutMs = 10_000,
  ) {}

  private async acquire(): Promise<Connection> {
    for (;;) {
      if (this.closed) throw new Error('pool is closed');
      const c = this.idle.pop();
      if (c !== undefined) {
        if (!c.dead) return c;
        this.open--;
        continue;
      }
      if (this.open < this.size) {
        this.open++;
        try {
          this.connectionsOpened++;
          return await Connection.open(this.port);
        } catch (err) {
          this.open--;
          throw err;
        }
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private release(c: Connection): void {
    if (c.dead) this.open--;
    else this.idle.push(c);
    this.waiters.shift()?.();
  }

  /** Sends one complete request and resolves with its response. */
  async request(request: Buffer): Promise<RawResponse> {
    const c = await this.acquire();
    try {
      return await c.send(request, this.timeoutMs);
    } finally {
      this.release(c);
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.idle) c.kill();
    this.idle = [];
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at a time; rejects on the first failure. */
export async function runConcurrently(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
