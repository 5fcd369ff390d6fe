/**
 * Redis store measurement (not a test): commands per operation from INFO commandstats, the
 * latency of one operation at a time (one round trip), and rough operations per second from one
 * Node process with automatic pipelining at several concurrency levels, on a redis-server it
 * starts on loopback (Debian's package, installed by the test helper when missing).
 *
 *   node --import tsx bench/redis-store.ts [--seconds 3] [--cluster]
 *
 * Short by design: the machine is shared; each level runs a few seconds.
 */
import { parseTimestamp } from '../src/dedup/timestamp.js';
import { RedisConnection, RedisStore, resolveTarget, type StoreEvent } from '../src/store/redis/index.js';
import { startRedis, startRedisCluster, type RedisServer } from '../test/helpers/redis.js';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1]) || 3;
const useCluster = args.includes('--cluster');
const BODY = Buffer.from(JSON.stringify({ interactionId: 'x'.repeat(36), dataActionId: 'da-1', updatedTimestamp: '2026-01-15T10:30:00.123Z', payload: { a: 'b'.repeat(300) } }));
const TS = parseTimestamp('2026-01-15T10:30:00.123Z')!;

let seq = 0;
function fresh(): StoreEvent {
  const id = `bench-${++seq}`;
  return { interactionId: id, key: id, timestamp: TS, body: BODY };
}

async function commandCounts(nodes: readonly RedisServer[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const n of nodes) {
    for (const [k, v] of await n.info('commandstats')) {
      const calls = Number(/calls=(\d+)/.exec(v)?.[1] ?? 0);
      out.set(k.replace('cmdstat_', ''), (out.get(k.replace('cmdstat_', '')) ?? 0) + calls);
    }
  }
  return out;
}

async function serverCpu(nodes: readonly RedisServer[]): Promise<number> {
  let total = 0;
  for (const n of nodes) {
    const info = await n.info('cpu');
    total += Number(info.get('used_cpu_user') ?? 0) + Number(info.get('used_cpu_sys') ?? 0);
  }
  return total;
}

function diff(a: Map<string, number>, b: Map<string, number>): string {
  const parts: string[] = [];
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (d > 0 && k !== 'info') parts.push(`${k}×${d}`);
  }
  return parts.join(' ') || '-';
}

async function main(): Promise<void> {
  const cluster = useCluster ? await startRedisCluster() : undefined;
  const server = cluster ? undefined : await startRedis();
  const nodes = cluster ? cluster.nodes : [server!];
  const target = cluster ? resolveTarget(undefined, cluster.nodeList, undefined) : resolveTarget(server!.url, undefined, undefined);
  const connection = new RedisConnection({ target, timeoutMs: 5000 });
  const store = new RedisStore({ connection, keyFields: ['interactionId'], windowMs: 600_000, stateTtlMs: 600_000 });
  const streamConn = new RedisConnection({ target, timeoutMs: 5000 });
  const streamStore = new RedisStore({ connection: streamConn, keyPrefix: 'bs:', keyFields: ['interactionId'], windowMs: 600_000, stream: { name: 'bench-stream', maxLen: 100_000, deliver: 'processed' } });
  try {
    await store.open(10_000);
    await streamStore.open(10_000);
    console.log(`# Redis store, ${useCluster ? 'three-master Cluster' : 'standalone'} on loopback, body ${BODY.length} B\n`);

    // Commands per operation: run each operation alone, 100 times, and count what the server ran.
    console.log('## Commands per operation (INFO commandstats, 100 operations each, sequential)\n');
    console.log('| operation | commands the server ran | per operation |\n|---|---|---|');
    const ops: Array<[string, () => Promise<unknown>]> = [
      ['observe (new)', () => store.observe(fresh())],
      ['observe (duplicate)', () => store.observe({ ...fresh(), interactionId: 'dup', key: 'dup' })],
      ['observe + XADD (new)', () => { const e = fresh(); return streamStore.observe(e, e.interactionId); }],
      ['begin (new)', () => store.begin(fresh())],
      ['begin + commit', async () => { const r = await store.begin(fresh()); if (r.status !== 'pending' && r.held) await store.commit([r.claim]); }],
      ['begin + release', async () => { const r = await store.begin(fresh()); if (r.status !== 'pending' && r.held) await store.release(r.claim); }],
      ['getState', () => store.getState('dup')],
    ];
    for (const [name, op] of ops) {
      const before = await commandCounts(nodes);
      for (let i = 0; i < 100; i++) await op();
      const after = await commandCounts(nodes);
      const per = diff(before, after).replace(/×(\d+)/g, (_, n: string) => `×${Number(n) / 100}`);
      console.log(`| ${name} | ${diff(before, after)} | ${per} |`);
    }
    {
      const claims = [];
      for (let i = 0; i < 1000; i++) {
        const r = await store.begin(fresh());
        if (r.status !== 'pending' && r.held) claims.push(r.claim);
      }
      const before = await commandCounts(nodes);
      const t0 = performance.now();
      await store.commit(claims);
      const ms = performance.now() - t0;
      console.log(`| commit of 1,000 claims in one call | ${diff(before, await commandCounts(nodes))} | one pipelined write per node, ${ms.toFixed(1)} ms |`);
    }

    // Latency of one operation at a time = one round trip plus the script.
    console.log('\n## One at a time (latency of a round trip), 2,000 operations\n');
    console.log('| operation | p50 µs | p99 µs |\n|---|---|---|');
    for (const [name, op] of [ops[0]!, ops[1]!, ops[2]!, ops[6]!]) {
      const lat: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const t0 = performance.now();
        await op();
        lat.push((performance.now() - t0) * 1000);
      }
      lat.sort((a, b) => a - b);
      console.log(`| ${name} | ${lat[1000]!.toFixed(0)} | ${lat[1980]!.toFixed(0)} |`);
    }

    // Throughput with automatic pipelining: `concurrency` operations always outstanding.
    console.log(`\n## Throughput, one Node process, automatic pipelining (${seconds} s per row)\n`);
    console.log('| operation | outstanding | ops/s | Node CPU µs/op | redis CPU µs/op |\n|---|---|---|---|---|');
    for (const [name, make] of [
      ['observe (new keys)', () => store.observe(fresh())],
      ['observe + XADD (new keys)', () => { const e = fresh(); return streamStore.observe(e, e.interactionId); }],
    ] as Array<[string, () => Promise<unknown>]>) {
      for (const concurrency of [1, 16, 128, 512]) {
        let done = 0;
        const deadline = performance.now() + seconds * 1000;
        const cpu0 = process.cpuUsage();
        const r0 = await serverCpu(nodes);
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (performance.now() < deadline) {
              await make();
              done++;
            }
          }),
        );
        const elapsed = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const r1 = await serverCpu(nodes);
        console.log(`| ${name} | ${concurrency} | ${Math.round(done / elapsed).toLocaleString('en')} | ${((cpu.user + cpu.system) / done).toFixed(1)} | ${(((r1 - r0) * 1e6) / done).toFixed(1)} |`);
      }
    }
  } finally {
    await store.close();
    await streamStore.close();
    await server?.dispose();
    await cluster?.dispose();
  }
}

await main();
