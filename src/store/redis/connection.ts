/**
 * One connection to Redis (a standalone server, or a Cluster through node-redis's cluster client)
 * with the failure behaviour the store needs:
 *
 * - Every command is bounded by `timeoutMs`, queue wait included: node-redis's per-command timeout
 *   takes it out of the queue, and a DeadlineGuard makes the bound unconditional. No call hangs.
 * - While reconnecting, commands wait in node-redis's offline queue (so a blip of a few ms costs
 *   no errors), but only up to `timeoutMs`, and the queue holds at most `maxQueueLength` commands:
 *   it cannot grow without bound.
 * - Commands issued in the same tick are written together (node-redis pipelines automatically),
 *   one write per node.
 * - Anything that goes wrong reaches the caller as a RedisUnavailableError; the connection itself
 *   keeps reconnecting in the background until closed.
 */
import { createClient, createCluster, RESP_TYPES, type RedisClientType, type RedisClusterType } from '@redis/client';
import { silentLogger, type Logger } from '../../log.js';
import { DeadlineGuard } from './deadline.js';
import { RedisUnavailableError, unavailable } from './errors.js';
import { describeTarget, type RedisEndpoint, type RedisTarget } from './settings.js';

export type RedisArg = string | Buffer;

export interface RedisConnectionOptions {
  target: RedisTarget;
  /** Bound on every command, queue wait included. */
  timeoutMs: number;
  /** Commands queued or in flight per server connection before new ones are refused (default 100,000). */
  maxQueueLength?: number;
  /** `CLIENT SETNAME` (default `cxone-dedup`). */
  clientName?: string;
  logger?: Logger;
}

/** Reply decoding: bulk strings as JS strings (default) or as Buffers (exact bytes). */
export type ReplyMode = 'string' | 'buffer';

const BUFFER_MAPPING = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

// Reconnect quickly at first (a restart or failover is often over in well under a second), then
// back off to at most 2 s with jitter so that many replicas do not reconnect in step.
function reconnectDelay(retries: number): number {
  const base = Math.min(2000, 25 * 2 ** Math.min(retries, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

type AnyClient = RedisClientType<Record<string, never>, Record<string, never>, Record<string, never>, 2>;
type AnyCluster = RedisClusterType<Record<string, never>, Record<string, never>, Record<string, never>, 2>;

export class RedisConnection {
  readonly kind: 'standalone' | 'cluster';
  readonly timeoutMs: number;
  /** Where, without credentials: for logs. */
  readonly description: string;
  readonly #guard: DeadlineGuard;
  readonly #log: Logger;
  readonly #client: AnyClient | undefined;
  readonly #cluster: AnyCluster | undefined;
  #closed = false;
  #state: 'new' | 'up' | 'down' = 'new';
  /** performance.now() when the state last became 'down'. */
  #downSince = 0;
  #connecting: Promise<void> | undefined;

  constructor(options: RedisConnectionOptions) {
    const { target, timeoutMs } = options;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`timeoutMs must be a whole number of ms >= 1, got ${String(timeoutMs)}`);
    const maxQueueLength = options.maxQueueLength ?? 100_000;
    if (!Number.isSafeInteger(maxQueueLength) || maxQueueLength < 1) throw new RangeError(`maxQueueLength must be a whole number >= 1, got ${String(maxQueueLength)}`);
    this.kind = target.kind;
    this.timeoutMs = timeoutMs;
    this.description = describeTarget(target);
    this.#guard = new DeadlineGuard(timeoutMs);
    this.#log = (options.logger ?? silentLogger).child({ component: 'redis', redis: this.description });
    const name = options.clientName ?? 'cxone-dedup';

    const socket = (e: RedisEndpoint) => ({
      host: e.host,
      port: e.port,
      // TLS verifies the server's certificate against `host` (Node's default servername).
      ...(e.tls ? { tls: true as const } : {}),
      connectTimeout: Math.max(timeoutMs, 1000),
      reconnectStrategy: reconnectDelay,
    });
    const common = {
      RESP: 2 as const,
      name,
      commandsQueueMaxLength: maxQueueLength,
      disableOfflineQueue: false,
      commandOptions: { timeout: timeoutMs },
    };

    if (target.kind === 'standalone') {
      const e = target.endpoint;
      this.#client = createClient({
        ...common,
        socket: socket(e),
        ...(e.username !== undefined && { username: e.username }),
        ...(e.password !== undefined && { password: e.password }),
        ...(e.database !== 0 && { database: e.database }),
      }) as unknown as AnyClient;
      this.#watch(this.#client);
      // A reconnect completes without any command of ours: notice it (see unreachableForMs).
      this.#client.on('ready', () => this.#markHealthy());
    } else {
      const first = target.nodes[0]!;
      this.#cluster = createCluster({
        RESP: 2,
        commandOptions: { timeout: timeoutMs },
        useReplicas: false,
        rootNodes: target.nodes.map((n) => ({ socket: socket(n) })),
        defaults: {
          name,
          commandsQueueMaxLength: maxQueueLength,
          disableOfflineQueue: false,
          socket: { connectTimeout: Math.max(timeoutMs, 1000), reconnectStrategy: reconnectDelay, ...(first.tls ? { tls: true as const } : {}) },
          ...(first.username !== undefined && { username: first.username }),
          ...(first.password !== undefined && { password: first.password }),
        },
      }) as unknown as AnyCluster;
      this.#watch(this.#cluster);
    }
  }

  /** True after a successful connect or command, false after a connection error until the next success. */
  get healthy(): boolean {
    return this.#state === 'up';
  }

  /**
   * How long a standalone server has been unreachable (since the connection failed, until the
   * client reconnected or a command succeeded), in ms; 0 while reachable. Always 0 for Cluster,
   * where one master being down says nothing about the slots of the others.
   */
  get unreachableForMs(): number {
    return this.#client !== undefined && this.#state === 'down' ? performance.now() - this.#downSince : 0;
  }

  /**
   * Starts connecting (once) and waits until the connection is usable or `waitMs` passed
   * (default: the command timeout). On timeout it throws RedisUnavailableError, but keeps trying
   * in the background: commands sent later succeed as soon as Redis is reachable.
   */
  async connect(waitMs = this.timeoutMs): Promise<void> {
    if (this.#closed) throw new RedisUnavailableError('connect', 'the connection is closed');
    if (this.#connecting === undefined) {
      const attempt = this.#startConnecting();
      this.#connecting = attempt;
      // A refused start (e.g. wrong credentials) may be tried again by a later connect().
      attempt.catch(() => {
        if (this.#connecting === attempt) this.#connecting = undefined;
      });
    }
    const guard = new DeadlineGuard(Math.max(1, waitMs));
    await guard.run(this.#connecting, () => new RedisUnavailableError('connect', `${this.description} not reachable within ${waitMs} ms; still trying`));
  }

  #startConnecting(): Promise<void> {
    if (this.#client) {
      // A standalone client keeps retrying inside connect() until it succeeds or is closed.
      return this.#client.connect().then(
        () => this.#markHealthy(),
        (err: unknown) => {
          throw unavailable('connect', err);
        },
      );
    }
    // The cluster client gives up at once when no root node answers: retry here until closed.
    const cluster = this.#cluster!;
    return (async () => {
      for (let attempt = 0; ; attempt++) {
        if (this.#closed) throw new RedisUnavailableError('connect', 'the connection was closed while connecting');
        try {
          await cluster.connect();
          this.#markHealthy();
          return;
        } catch (err) {
          this.#markUnhealthy(err);
          await new Promise((r) => setTimeout(r, reconnectDelay(attempt)).unref());
        }
      }
    })();
  }

  /**
   * Sends one command, routed (in Cluster) by `firstKey`, bounded by the timeout. Rejects with
   * RedisUnavailableError on anything but a reply, including an error reply.
   */
  send<T>(operation: string, firstKey: RedisArg | undefined, args: RedisArg[], reply: ReplyMode = 'string'): Promise<T> {
    if (this.#closed) return Promise.reject(new RedisUnavailableError(operation, 'the connection is closed'));
    let work: Promise<T>;
    try {
      const options = reply === 'buffer' ? { typeMapping: BUFFER_MAPPING } : undefined;
      work = this.#client
        ? (this.#client.sendCommand(args, options) as Promise<T>)
        : (this.#cluster!.sendCommand(firstKey, false, args, options) as Promise<T>);
    } catch (err) {
      return Promise.reject(unavailable(operation, err));
    }
    return this.#guard.run(work, () => new RedisUnavailableError(operation, `no answer within ${this.timeoutMs} ms`)).then(
      (value) => {
        if (this.#state !== 'up') this.#markHealthy();
        return value;
      },
      (err: unknown) => {
        throw unavailable(operation, err);
      },
    );
  }

  /** Runs `fn` with a plain client for every master (standalone: the one server); e.g. SCRIPT LOAD. */
  async forEachMaster(fn: (send: (args: RedisArg[]) => Promise<unknown>) => Promise<void>): Promise<void> {
    if (this.#client) {
      const client = this.#client;
      await fn((args) => this.#guard.run(client.sendCommand(args), () => new RedisUnavailableError('forEachMaster', `no answer within ${this.timeoutMs} ms`)));
      return;
    }
    const cluster = this.#cluster!;
    await Promise.all(
      cluster.masters.map(async (master) => {
        const client = await cluster.nodeClient(master);
        await fn((args) => this.#guard.run(client.sendCommand(args), () => new RedisUnavailableError('forEachMaster', `no answer within ${this.timeoutMs} ms`)));
      }),
    );
  }

  /** Closes the connection: commands still queued are rejected. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const target = this.#client ?? this.#cluster!;
    // destroy(), not quit(): a quit would wait for replies from a server that may be gone.
    try {
      target.destroy();
    } catch {
      // never opened
    }
  }

  #watch(emitter: { on(event: 'error', listener: (err: Error) => void): unknown }): void {
    // Without a listener, an 'error' event would throw and take the process down.
    emitter.on('error', (err: Error) => this.#markUnhealthy(err));
  }

  #markHealthy(): void {
    if (this.#state === 'up') return;
    if (this.#state === 'down') this.#log.info('redis reachable again');
    this.#state = 'up';
  }

  // Logged once per change of state, not at every reconnect attempt.
  #markUnhealthy(err: unknown): void {
    if (this.#state === 'down') return;
    this.#log.warn('redis unreachable; retrying in the background', { err });
    this.#state = 'down';
    this.#downSince = performance.now();
  }
}
