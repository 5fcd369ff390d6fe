/**
 * A tiny HTTP stand-in in front of VictoriaMetrics, for the error codes a real server won't produce
 * on demand (401, 404, 503, 400, a hung request). It follows a script, one step per request, and
 * once the script is used up it forwards every request to VictoriaMetrics unchanged, so delivery is
 * still asserted against the real server.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';

export type StandInStep =
  | { status: number; body?: string; headers?: Record<string, string> }
  | 'hang' // accept the request and never answer
  | 'forward';

export interface CapturedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Body as line protocol (gunzipped when it came gzipped). */
  body: string;
  /** What the stand-in did with it. */
  answer: number | 'hang' | 'forward';
}

export interface StandIn {
  readonly url: string;
  readonly requests: CapturedRequest[];
  /** Connections currently open (a hung request keeps one). */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startStandIn(script: StandInStep[], forwardTo: string | undefined): Promise<StandIn> {
  const steps = [...script];
  const requests: CapturedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const step = steps.shift() ?? 'forward';
      const captured: CapturedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        answer: typeof step === 'string' ? step : step.status,
      };
      requests.push(captured);
      if (step === 'hang') return;
      if (step === 'forward') {
        if (!forwardTo) {
          res.writeHead(204).end();
          return;
        }
        const headers: Record<string, string> = { 'content-type': String(req.headers['content-type'] ?? 'text/plain') };
        if (req.headers['content-encoding']) headers['content-encoding'] = String(req.headers['content-encoding']);
        fetch(`${forwardTo}${req.url}`, { method: req.method, headers, body: raw, signal: AbortSignal.timeout(5000) })
          .then(async (upstream) => {
            const text = await upstream.text();
            res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' }).end(text);
          })
          .catch((err: Error) => {
            res.writeHead(502).end(`stand-in could not forward: ${err.message}`);
          });
        return;
      }
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers }).end(step.body ?? '');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('stand-in has no address');

  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
