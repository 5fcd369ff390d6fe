/**
 * Load generator (child process): autocannon, programmatic API, posting pre-signed webhook
 * bodies. Each connection cycles through its own slice of the pool, so ids stay new/repeated
 * in the pool's ratio until a connection wraps around its slice.
 *
 *   node --import tsx bench/loadgen-autocannon.ts '<LoadConfig JSON>'   → one LoadResult JSON line
 */
import autocannon from 'autocannon';
import { signedPool } from './lib/bodies.js';
import { LatencySamples } from './lib/latency.js';
import type { LoadConfig, LoadResult } from './lib/loadgen.js';

const config = JSON.parse(process.argv[2] ?? '') as LoadConfig;
const pool = signedPool({ count: config.pool, newRatio: config.newRatio, repeats: config.repeats, shape: config.shape, secret: config.secret, tag: config.tag });

// Connection c gets bodies c, c + C, c + 2C, …: all connections together walk the pool in order.
const perConnection: autocannon.Request[][] = Array.from({ length: config.connections }, () => []);
for (let i = 0; i < pool.bodies.length; i++) {
  perConnection[i % config.connections]!.push({
    method: 'POST',
    path: config.path,
    headers: { 'content-type': 'application/json', 'x-nice-signature': pool.signatures[i]! },
    body: pool.bodies[i]!,
  });
}
let nextConnection = 0;

const latency = new LatencySamples();
let cpuAtStart = process.cpuUsage();
// Until autocannon starts, no response counts (infinity: every response is before it).
let wallAtStart = Number.POSITIVE_INFINITY;
let wallAtEnd = 0;

const instance = autocannon(
  {
    url: config.url,
    connections: config.connections,
    duration: config.durationSeconds,
    ...(config.overallRate ? { overallRate: config.overallRate } : {}),
    // Building every connection's requests blocks this process for a few seconds while the first
    // connections are already open: a short timeout would count that as server timeouts.
    timeout: 30,
    setupClient: (client) => client.setRequests(perConnection[nextConnection++ % perConnection.length]!),
  },
  (err, result) => {
    if (err) {
      process.stderr.write(`autocannon failed: ${err.message}\n`);
      process.exit(1);
    }
    const cpu = process.cpuUsage(cpuAtStart);
    const wallS = (wallAtEnd - wallAtStart) / 1000;
    const statusCodes: Record<string, number> = {};
    for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(v.count);
    const requests = latency.count;
    const out: LoadResult = {
      generator: 'autocannon',
      requests,
      durationSeconds: wallS,
      requestsPerSecond: requests / wallS,
      latencyMs: latency.summary(),
      non2xx: result.non2xx,
      statusCodes,
      errors: result.errors,
      timeouts: result.timeouts,
      cpuCores: (cpu.user + cpu.system) / 1e6 / wallS,
      pool: { bodies: pool.bodies.length, newIds: pool.newIds, repeats: pool.repeats },
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
);
// Timed from autocannon's start (after every connection's requests are built) to the last
// response. The first requests go out while later connections are still being set up, which
// blocks this process for a while: only requests sent after the start count.
instance.once('start', () => {
  cpuAtStart = process.cpuUsage();
  wallAtStart = performance.now();
});
instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
  const now = performance.now();
  if (now - responseTime < wallAtStart) return;
  wallAtEnd = now;
  latency.record(responseTime);
});
