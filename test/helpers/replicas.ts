/**
 * Several real daemons (replicas) on loopback, each with its own keep-alive connection pool, for
 * the tests that share one Redis between them.
 */
import { signRequest } from '../../src/http/signature.js';
import { buildRequest, KeepAlivePool, runConcurrently } from '../reliability/helpers/keepalive.js';
import { startDaemon, WEBHOOK_PATH, type RunningDaemon } from './daemon.js';
import type { RawResponse } from './raw-http.js';

export { runConcurrently };

export class Replica {
  readonly pool: KeepAlivePool;

  constructor(
    readonly daemon: RunningDaemon,
    readonly name: string,
    poolSize: number,
  ) {
    this.pool = new KeepAlivePool(daemon.port, poolSize);
  }

  /** POSTs `body` (exact bytes) signed to the webhook path. */
  post(body: string): Promise<RawResponse> {
    return this.pool.request(buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', 'x-nice-signature': signRequest(this.daemon.secret, body) }, body));
  }

  async state(interactionId: string): Promise<{ status: number; json: any }> {
    const r = await this.daemon.get(`/state/${encodeURIComponent(interactionId)}`);
    return { status: r.status, json: r.json };
  }

  stats(): Promise<any> {
    return this.daemon.stats();
  }

  async stop(): Promise<void> {
    this.pool.close();
    await this.daemon.stop();
  }
}

/** Starts `n` daemons with the same settings (`env`), each on its own free port. */
export async function startReplicas(n: number, env: Record<string, string>, poolSize = 16): Promise<Replica[]> {
  const replicas: Replica[] = [];
  try {
    for (let i = 0; i < n; i++) replicas.push(new Replica(await startDaemon({ env: { DEDUP_CAPACITY: '100000', ...env } }), `r${i}`, poolSize));
  } catch (err) {
    await stopReplicas(replicas);
    throw err;
  }
  return replicas;
}

export async function stopReplicas(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(replicas.map((r) => r.stop()));
}

/** A webhook body: `second` sets updatedTimestamp (2026-06-01T00:00:<second>Z, fractions allowed). */
export function eventBody(interactionId: string, second: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    interactionId,
    dataActionId: `da-${second}`,
    updatedTimestamp: new Date(Date.UTC(2026, 5, 1, 0, 0, 0) + second * 1000).toISOString(),
    payload: { second, ...extra },
  });
}
