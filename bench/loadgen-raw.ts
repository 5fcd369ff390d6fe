/**
 * Load generator (child process) on raw keep-alive sockets, with HTTP/1.1 pipelining, sending
 * distinct signed events (BodySource): built as it goes in `closed` mode, so it can send millions;
 * built before the clock starts in `paced` mode, so signing does not slow the schedule. Two modes:
 *
 * - `closed`: every connection keeps `depth` requests in flight until `total` are answered (the
 *   memory benchmark's feeder). Prints {"progress": answered} lines as it goes.
 * - `paced`: open loop at `rate` requests/s for `durationSeconds`, spread over the connections
 *   round-robin; a request's latency runs from its *scheduled* send time, so a slow server cannot
 *   hide its queueing by slowing the generator (no coordinated omission). The scheduler spins
 *   (setImmediate), so this process always shows ~100 % CPU; its lag is reported instead.
 *   With `pipeline: false`, a request goes out only on a connection with nothing in flight (as
 *   most HTTP clients, CXone's included, send); when every connection is busy it waits for the
 *   first to free up, and that wait counts in its latency (it is the server's queue).
 *
 *   node --import tsx bench/loadgen-raw.ts '<RawLoadConfig JSON>'   → one JSON result line
 */
import net from 'node:net';
import { BodySource, rawRequest, type BodyShape, type RepeatKind } from './lib/bodies.js';
import { LatencySamples, type LatencySummaryMs } from './lib/latency.js';

export interface RawLoadConfig {
  port: number;
  path: string;
  secret: string;
  tag: string;
  newRatio: number;
  /** The mix's repeats and body shape (bench/lib/bodies.ts); default: the 50/50 mix's. */
  repeats?: RepeatKind;
  shape?: BodyShape;
  connections: number;
  mode: 'closed' | 'paced';
  /** closed: requests in flight per connection. */
  depth?: number;
  /** closed: requests to send in all. */
  total?: number;
  /** closed: first body sequence number (ids continue from there: `${tag}-${firstSeq}` …). */
  firstSeq?: number;
  /** paced: requests per second over all connections. */
  rate?: number;
  /** paced: several requests in flight per connection (default true), or one at a time. */
  pipeline?: boolean;
  durationSeconds?: number;
  progressEvery?: number;
}

export interface RawLoadResult {
  generator: 'raw-paced' | 'raw-closed';
  sent: number;
  answered: number;
  durationSeconds: number;
  requestsPerSecond: number;
  /** paced: from the scheduled send time (what a client that wanted to send then would see); closed: from the send. */
  latencyMs: LatencySummaryMs;
  /** From the moment the request was actually written: without the generator's own lateness. */
  latencyFromSendMs: LatencySummaryMs;
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  /** paced: how late the scheduler sent requests, at worst (ms); without pipelining, only requests that found a free connection. */
  maxSendLagMs: number;
  /** paced: requests the schedule held (sent + still unsent when the generator stopped waiting). */
  scheduled?: number;
  /** paced without pipelining: requests that waited for a free connection. */
  waitedForConnection?: number;
}

const config = JSON.parse(process.argv[2] ?? '') as RawLoadConfig;
const host = `127.0.0.1:${config.port}`;
const source = new BodySource({ count: 0, newRatio: config.newRatio, repeats: config.repeats, shape: config.shape, secret: config.secret, tag: config.tag, firstSeq: config.firstSeq ?? 0 });
const latency = new LatencySamples();
const latencyFromSend = new LatencySamples();
const statusCodes: Record<string, number> = {};
let answered = 0;
let sent = 0;
let errors = 0;
let non2xx = 0;
let maxSendLagMs = 0;
let lastAnswerAt = 0;
let scheduled: number | undefined;
let waitedForConnection: number | undefined;

function nextRequest(): Buffer {
  const { body, signature } = source.next();
  return rawRequest(config.path, host, body, signature);
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** One keep-alive connection: FIFO of request start times, incremental response parsing. */
class Connection {
  readonly socket: net.Socket;
  readonly started: number[] = [];
  readonly written: number[] = [];
  #head = 0;
  #buf: Buffer = Buffer.alloc(0);
  #bodyLeft = 0;
  onAnswer: () => void = () => {};
  readonly ready: Promise<void>;

  constructor() {
    this.socket = net.connect({ port: config.port, host: '127.0.0.1', noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (d: Buffer) => this.#onData(d));
    this.socket.on('error', () => {
      errors++;
    });
    this.socket.on('close', () => {
      // Anything still in flight is lost.
      errors += this.started.length - this.#head;
      this.#head = this.started.length;
    });
  }

  get inFlight(): number {
    return this.started.length - this.#head;
  }

  send(request: Buffer, startMs: number, writtenMs = startMs): void {
    this.started.push(startMs);
    this.written.push(writtenMs);
    sent++;
    this.socket.write(request);
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    for (;;) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, this.#buf.length);
        this.#bodyLeft -= take;
        this.#buf = this.#buf.subarray(take);
        if (this.#bodyLeft > 0) return;
        this.#answered();
        continue;
      }
      const end = this.#buf.indexOf(CRLFCRLF);
      if (end === -1) return;
      const head = this.#buf.toString('latin1', 0, end);
      const status = head.slice(9, 12);
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (status[0] !== '2') non2xx++;
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      this.#bodyLeft = m ? Number(m[1]) : 0;
      this.#buf = this.#buf.subarray(end + 4);
      if (this.#bodyLeft === 0) this.#answered();
    }
  }

  #answered(): void {
    const start = this.started[this.#head]!;
    const written = this.written[this.#head++]!;
    if (this.#head > 4096 && this.#head * 2 > this.started.length) {
      this.started.splice(0, this.#head);
      this.written.splice(0, this.#head);
      this.#head = 0;
    }
    lastAnswerAt = performance.now();
    latency.record(lastAnswerAt - start);
    latencyFromSend.record(lastAnswerAt - written);
    answered++;
    this.onAnswer();
  }
}

function report(t0: number, t1: number): void {
  const seconds = (t1 - t0) / 1000;
  const out: RawLoadResult = {
    generator: config.mode === 'paced' ? 'raw-paced' : 'raw-closed',
    sent,
    answered,
    durationSeconds: seconds,
    requestsPerSecond: answered / seconds,
    latencyMs: latency.summary(),
    latencyFromSendMs: latencyFromSend.summary(),
    statusCodes,
    non2xx,
    errors,
    maxSendLagMs,
    ...(scheduled !== undefined ? { scheduled } : {}),
    ...(waitedForConnection !== undefined ? { waitedForConnection } : {}),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function closed(conns: Connection[]): Promise<void> {
  const total = config.total ?? 0;
  const depth = config.depth ?? 16;
  const every = config.progressEvery ?? 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const refill = (c: Connection) => {
      while (c.inFlight < depth && sent < total) c.send(nextRequest(), performance.now());
    };
    for (const c of conns) {
      c.onAnswer = () => {
        if (every > 0 && answered % every === 0) process.stdout.write(`${JSON.stringify({ progress: answered })}\n`);
        if (answered + errors >= total) resolve();
        // Refill in groups so that one write carries several pipelined requests.
        else if (c.inFlight <= depth / 2) refill(c);
      };
      refill(c);
    }
  });
  report(t0, performance.now());
}

async function paced(conns: Connection[]): Promise<void> {
  const rate = config.rate ?? 1000;
  const durationMs = (config.durationSeconds ?? 10) * 1000;
  const total = Math.floor((rate * durationMs) / 1000);
  scheduled = total;
  // Built and signed up front (as the wrk script's pool is): signing while pacing made this
  // process, not the server, the bottleneck near 50,000 requests/s on a shared 2-core machine.
  const requests = Array.from({ length: total }, nextRequest);
  const t0 = performance.now();
  // Without pipelining, past the schedule the generator waits (bounded) for connections to send what is left.
  const stopSendingAt = t0 + durationMs + 10_000;
  let i = 0;
  const send = (c: Connection, now: number) => {
    const scheduledAt = t0 + (i * 1000) / rate;
    c.send(requests[i]!, scheduledAt, performance.now());
    requests[i] = EMPTY; // let it be collected
    i++;
    return now - scheduledAt;
  };
  if (config.pipeline !== false) {
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000));
        while (i < due) maxSendLagMs = Math.max(maxSendLagMs, send(conns[i % conns.length]!, now));
        if (i < total) setImmediate(tick);
        else resolve();
      };
      tick();
    });
  } else {
    waitedForConnection = 0;
    const free: Connection[] = [...conns];
    // Requests that became due while no connection was free; they go out as connections free up.
    let backlog = false;
    const dispatch = (now: number) => {
      const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000));
      while (i < due && free.length > 0) {
        const lag = send(free.pop()!, now);
        if (backlog) waitedForConnection!++;
        else maxSendLagMs = Math.max(maxSendLagMs, lag);
      }
      backlog = i < due;
    };
    for (const c of conns) {
      c.onAnswer = () => {
        if (c.inFlight === 0) {
          free.push(c);
          if (backlog) dispatch(performance.now());
        }
      };
    }
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        dispatch(now);
        if (i < total && now < stopSendingAt) setImmediate(tick);
        else resolve();
      };
      tick();
    });
  }
  // Wait (bounded) for the last answers.
  const deadline = Math.max(performance.now(), t0 + durationMs) + 10_000;
  while (answered + errors < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  // Achieved rate: answers over the time until the last one (a server that falls behind the
  // offered rate stretches this beyond the scheduled duration).
  report(t0, Math.max(t0 + durationMs, lastAnswerAt));
}

async function main(): Promise<void> {
  const conns = Array.from({ length: config.connections }, () => new Connection());
  await Promise.all(conns.map((c) => c.ready));
  if (config.mode === 'paced') await paced(conns);
  else await closed(conns);
  for (const c of conns) c.socket.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`raw load generator failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
