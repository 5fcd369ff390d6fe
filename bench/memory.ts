/**
 * Memory: the daemon's resident set (VmRSS of its process, from /proc/<pid>/status) after
 * 1,000,000 and after 5,000,000 distinct interactions at default settings, to show that its state
 * is bounded (STATE_CACHE_SIZE = 100,000 entries, two Bloom generations of 1.8 MB, compacted early
 * whenever the active one reaches DEDUP_CAPACITY = 1,000,000 keys).
 *
 * Events are fed over HTTP by bench/loadgen-raw.ts in closed mode: many keep-alive connections,
 * each with several pipelined requests in flight, bodies built and signed on the fly.
 *
 *   npm run build && node --import tsx bench/memory.ts [--quick] [--budget-seconds 600]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { numberArg, parseArgs, switchArg, type ScriptSpec } from './lib/args.js';
import { pinned, placement, procStatusKb, type Placement } from './lib/cpu.js';
import { fmtBytes, fmtInt, fmtRate, markdownTable } from './lib/format.js';
import { machineFacts, machineLine } from './lib/machine.js';
import { Progress } from './lib/progress.js';
import { mergeSection, ROOT } from './lib/results.js';
import { BENCH_SECRET, getJson, startDaemon, WEBHOOK_PATH, type ServerProcess } from './lib/server.js';
import type { RawLoadConfig, RawLoadResult } from './loadgen-raw.js';

const SPEC: ScriptSpec = {
  script: 'bench/memory.ts',
  title: "the daemon's resident memory after 1,000,000 and 5,000,000 distinct interactions",
  about: `The built daemon at default settings is fed distinct interactions over HTTP by
bench/loadgen-raw.ts (keep-alive connections, pipelined requests, signed on the fly); its VmRSS
and VmHWM are read from /proc after each checkpoint. Run \`npm run build\` first (npm run
bench:memory does).`,
  usage: ['npm run bench:memory -- [flags]        (builds first)', 'node --import tsx bench/memory.ts [flags]'],
  flags: [
    { name: 'quick', help: 'checkpoints at 100,000 and 500,000 interactions instead' },
    { name: 'budget-seconds', arg: 'SECONDS', default: '600; 120 with --quick', help: 'fail loudly if feeding would take longer' },
    { name: 'connections', arg: 'N', default: '32', help: 'keep-alive connections feeding the daemon' },
    { name: 'depth', arg: 'N', default: '32', help: 'pipelined requests in flight per connection' },
  ],
  duration: 'about 2 min on the reference machine (2 shared vCPUs), about 20 s with --quick',
};

const args = parseArgs(SPEC);
const quick = switchArg(args, 'quick');
const checkpoints = quick ? [100_000, 500_000] : [1_000_000, 5_000_000];
const budgetSeconds = numberArg(args, 'budget-seconds', quick ? 120 : 600, 10);
const connections = numberArg(args, 'connections', 32, 1);
const depth = numberArg(args, 'depth', 32, 1);
/** Rough feed rate on the reference machine, for the time-left estimate. */
const FEED_PER_SECOND = 40_000;
const progress = new Progress('memory', [
  { what: 'starting the daemon', seconds: 2 },
  ...checkpoints.map((target, i) => {
    const from = i === 0 ? 0 : checkpoints[i - 1]!;
    return { what: `feeding interactions ${fmtInt(from)}..${fmtInt(target)}`, seconds: (target - from) / FEED_PER_SECOND + 1 };
  }),
]);

interface Checkpoint {
  events: number;
  rssBytes: number;
  /** VmRSS sampled every 250 ms while this phase was fed: V8's heap breathes (a GC sawtooth). */
  feedRssMinBytes: number;
  feedRssMaxBytes: number;
  peakRssBytes: number;
  feedSeconds: number;
  eventsPerSecond: number;
  stats: { processed: number; deduplicated: number; rejected: number; compactions: number; stateCacheSize: number; stateCacheBytes: number | null };
}

/** Feeds `count` new interactions starting at sequence `first`; fails the run if the time budget would be exceeded. */
function feed(server: ServerProcess, place: Placement, tag: string, first: number, count: number, deadline: number): Promise<RawLoadResult> {
  const config: RawLoadConfig = {
    port: server.port,
    path: WEBHOOK_PATH,
    secret: BENCH_SECRET,
    tag,
    newRatio: 1,
    connections,
    mode: 'closed',
    depth,
    total: count,
    firstSeq: first,
    progressEvery: 100_000,
  };
  const [cmd, argv] = pinned(place.generator, process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'loadgen-raw.ts'), JSON.stringify(config)]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const t0 = performance.now();
    let out = '';
    let err = '';
    let result: RawLoadResult | undefined;
    let failure: Error | undefined;
    const fail = (e: Error) => {
      failure ??= e;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail(new Error(`feeding did not finish within the ${budgetSeconds} s budget`)), Math.max(0, deadline - Date.now()));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      let i: number;
      while ((i = out.indexOf('\n')) !== -1) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        const msg = JSON.parse(line) as { progress?: number } & Partial<RawLoadResult>;
        if (msg.progress !== undefined) {
          const elapsed = (performance.now() - t0) / 1000;
          const rate = msg.progress / elapsed;
          const projected = Date.now() + ((count - msg.progress) / rate) * 1000;
          process.stderr.write(`memory: ${fmtInt(first + msg.progress)} events fed (${fmtRate(rate)}), RSS ${fmtBytes(procStatusKb(server.pid, 'VmRSS') * 1024)}\n`);
          if (projected > deadline) {
            fail(new Error(`at ${fmtRate(rate)} the remaining ${fmtInt(count - msg.progress)} events would take until ${new Date(projected).toISOString()}, past the ${budgetSeconds} s budget`));
          }
        } else {
          result = msg as RawLoadResult;
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else if (code !== 0 || !result) reject(new Error(`feeder exited ${code ?? signal}; stderr: ${err.slice(-2000)}`));
      else resolve(result);
    });
  });
}

async function checkpoint(server: ServerProcess, events: number, fed: RawLoadResult, rssSamples: number[]): Promise<Checkpoint> {
  // Let timers and any pending GC settle a moment, as a long-running daemon would between bursts.
  await new Promise((r) => setTimeout(r, 1000));
  const s = await getJson(`${server.url}/stats`);
  return {
    events,
    rssBytes: procStatusKb(server.pid, 'VmRSS') * 1024,
    feedRssMinBytes: Math.min(...rssSamples),
    feedRssMaxBytes: Math.max(...rssSamples),
    peakRssBytes: procStatusKb(server.pid, 'VmHWM') * 1024,
    feedSeconds: fed.durationSeconds,
    eventsPerSecond: fed.requestsPerSecond,
    stats: {
      processed: s.eventsProcessed,
      deduplicated: s.eventsDeduplicated,
      rejected: s.eventsRejected,
      compactions: s.compactions,
      stateCacheSize: s.stateCache.size,
      stateCacheBytes: typeof s.stateCache.bytes === 'number' ? s.stateCache.bytes : null,
    },
  };
}

export interface MemoryData {
  placement: Placement;
  connections: number;
  depth: number;
  startRssBytes: number;
  checkpoints: Checkpoint[];
  totalSeconds: number;
}

export function renderMemory(d: MemoryData): string {
  const out: string[] = [];
  out.push(`### Daemon memory at default settings (distinct interactions fed over HTTP, ${d.connections} connections × ${d.depth} pipelined)\n`);
  out.push(
    markdownTable(
      ['after', 'VmRSS', 'VmRSS while feeding (min–max)', 'peak (VmHWM)', 'state cache', 'compactions', 'processed / deduplicated', 'feed rate', 'feed time'],
      [
        ['start (idle)', fmtBytes(d.startRssBytes), '', '', '', '', '', '', ''],
        ...d.checkpoints.map((c) => [
          `${fmtInt(c.events)} events`,
          fmtBytes(c.rssBytes),
          `${fmtBytes(c.feedRssMinBytes)} – ${fmtBytes(c.feedRssMaxBytes)}`,
          fmtBytes(c.peakRssBytes),
          `${fmtInt(c.stats.stateCacheSize)} entries${c.stats.stateCacheBytes !== null ? ` (${fmtBytes(c.stats.stateCacheBytes)})` : ''}`,
          String(c.stats.compactions),
          `${fmtInt(c.stats.processed)} / ${fmtInt(c.stats.deduplicated)}`,
          fmtRate(c.eventsPerSecond),
          `${c.feedSeconds.toFixed(1)} s`,
        ]),
      ],
      [false, true, true, true, true, true, true, true, true],
    ),
  );
  const [a, b] = d.checkpoints;
  if (a && b) {
    out.push(
      `\nFrom ${fmtInt(a.events)} to ${fmtInt(b.events)} events the highest RSS seen while feeding went from ${fmtBytes(a.feedRssMaxBytes)} to ${fmtBytes(b.feedRssMaxBytes)} ` +
        `(${b.feedRssMaxBytes <= a.feedRssMaxBytes * 1.25 ? 'bounded' : '**still growing**'}); single readings vary with where V8's GC cycle is. ` +
        `Total run ${d.totalSeconds.toFixed(0)} s. ${d.placement.note}.`,
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const place = placement();
  const t0 = performance.now();
  const deadline = Date.now() + budgetSeconds * 1000;
  progress.next();
  const server = await startDaemon({ cpus: place.server });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const startRssBytes = procStatusKb(server.pid, 'VmRSS') * 1024;
    const tag = `mem-${randomBytes(4).toString('hex')}`;
    const points: Checkpoint[] = [];
    let fed = 0;
    for (const target of checkpoints) {
      progress.next();
      process.stderr.write(`memory: feeding events ${fmtInt(fed)}..${fmtInt(target)}…\n`);
      const samples: number[] = [];
      const poll = setInterval(() => {
        const kb = procStatusKb(server.pid, 'VmRSS');
        if (Number.isFinite(kb)) samples.push(kb * 1024);
      }, 250);
      let r: RawLoadResult;
      try {
        r = await feed(server, place, tag, fed, target - fed, deadline);
      } finally {
        clearInterval(poll);
      }
      if (r.non2xx > 0 || r.errors > 0) {
        throw new Error(`!!!!!!!! the daemon answered ${r.non2xx} non-2xx and ${r.errors} errors while feeding: ${JSON.stringify(r.statusCodes)} !!!!!!!!`);
      }
      fed = target;
      points.push(await checkpoint(server, fed, r, samples));
    }
    const data: MemoryData = { placement: place, connections, depth, startRssBytes, checkpoints: points, totalSeconds: (performance.now() - t0) / 1000 };
    const markdown = renderMemory(data);
    process.stdout.write(`\n${markdown}\n\nMachine: ${machineLine(machineFacts())}\n`);
    mergeSection('memory', { quick, markdown, data });
    progress.done();
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\n!!!!!!!! memory benchmark failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
