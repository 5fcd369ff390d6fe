/** A tiny raw HTTP/1.1 client over net.Socket, for pipelining, slow and aborted requests. */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: any;
}

/** Parses as many complete responses (Content-Length or chunked) as `buf` holds. */
export function parseResponses(buf: Buffer): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const head = buf.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1]);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let bodyStart = headEnd + 4;
    let body: Buffer;
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p);
        if (lineEnd === -1) break;
        const size = parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16);
        if (buf.length < lineEnd + 2 + size + 2) break;
        if (size === 0) {
          p = lineEnd + 4;
          complete = true;
          break;
        }
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
      bodyStart = p;
      at = p;
    } else {
      const len = Number(headers['content-length'] ?? 0);
      if (buf.length < bodyStart + len) break;
      body = buf.subarray(bodyStart, bodyStart + len);
      at = bodyStart + len;
    }
    const text = body.toString('utf8');
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    responses.push({ status, headers, body: text, json });
  }
  return { responses, rest: buf.subarray(at) };
}

/** Writes `request` in one go and collects `responses` responses (or until close / timeout). */
export function rawExchange(port: number, request: string | Buffer, opts: { responses: number; timeoutMs?: number }): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw exchange timed out with ${parseResponses(buf).responses.length}/${opts.responses} responses`));
    }, opts.timeoutMs ?? 10_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponses(buf).responses);
    };
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (parseResponses(buf).responses.length >= opts.responses) finish();
    });
    socket.on('close', finish);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.write(request);
  });
}

/** An open connection with manual control: write pieces, read what came back, close. */
export class RawConnection {
  private buf = Buffer.alloc(0);
  readonly closed: Promise<{ hadError: boolean; error?: Error }>;
  private socket: net.Socket;
  private lastError: Error | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
    });
    socket.on('error', (err) => {
      this.lastError = err;
    });
    this.closed = new Promise((resolve) => socket.on('close', (hadError) => resolve(this.lastError ? { hadError, error: this.lastError } : { hadError })));
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(data, () => resolve());
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readyState === 'closed';
  }

  /** Everything received so far, as latin1 text. */
  received(): string {
    return this.buf.toString('latin1');
  }

  responses(): RawResponse[] {
    return parseResponses(this.buf).responses;
  }

  async waitForResponses(n: number, timeoutMs = 10_000): Promise<RawResponse[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses().length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} responses (have ${this.responses().length})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.responses();
  }

  destroy(): void {
    this.socket.destroy();
  }

  end(): void {
    this.socket.end();
  }
}
