/**
 * End to end: signed webhook posts over loopback to the real built daemon, against the same load
 * on a bare uWebSockets.js server (bench/bare-uws.ts), the ceiling, on two mixes (issue 12), with
 * the daemon's variants next to the plain daemon (delivery sinks, issue 10; Redis store and worker
 * threads, issue 11). The load generator runs in its own process; where taskset works, server and
 * generator are pinned to different CPUs.
 *
 *   npm run build && node --import tsx bench/e2e.ts [--quick] [--mix 50/50,70/30]
 *        [--variants http-sink,redis-stream,redis-store,workers-2|none] [--paced none|daemon|all]
 *        [--duration 10] [--connections 64] [--generator auto|autocannon|wrk] [--new-ratio R] [--pool N]
 *
 * For each mix: (1) closed loop, as fast as the server answers: bare, the plain daemon, then each
 * variant → requests/s, latency and CPU-µs per webhook at saturation; (2) open loop at half the
 * bare ceiling's rate (and at half the daemon's own maximum) → latency at that load. The
 * generator's own CPU use is measured: a generator using ≥ 90 % of its CPU is the bottleneck.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { numberArg, parseArgs, stringArg, switchArg, USAGE_EXIT, usageError, type ScriptSpec } from './lib/args.js';
import { MIXES, meanBytes, signedPool, type Mix, type MixName } from './lib/bodies.js';
import { removeTempDir, stopAllOnExit, tempDir, track } from './lib/children.js';
import { machineBusySeconds, pinned, placement, processCpuSeconds, type Placement } from './lib/cpu.js';
import { countsBetween, deliveryBetween, readStats, type StatsDoc } from './lib/daemon-stats.js';
import { renderE2e, SATURATED, type E2eData, type Generator, type MixSummary, type Phase, type Run, type Skipped } from './lib/e2e-report.js';
import { fmtInt, fmtMs, fmtRate } from './lib/format.js';
import type { LatencySummaryMs } from './lib/latency.js';
import type { LoadConfig, LoadResult } from './lib/loadgen.js';
import { machineFacts, machineLine } from './lib/machine.js';
import { Progress, type PlannedPart } from './lib/progress.js';
import { startBenchRedis, type BenchRedis } from './lib/redis.js';
import { mergeSection, ROOT } from './lib/results.js';
import { BENCH_SECRET, getJson, startBareUws, startDaemon, startDownstream, WEBHOOK_PATH, type ServerProcess } from './lib/server.js';
import { BENCH_STREAM, daemonHelp, missingSettings, refusedAsUnknown, VARIANT_NAMES, VARIANTS, variantSpec, type VariantName, type VariantSpec } from './lib/variants.js';
import type { RawLoadConfig, RawLoadResult } from './loadgen-raw.js';
import { freePort } from '../test/helpers/ports.js';

const MIX_NAMES = Object.keys(MIXES) as MixName[];

const SPEC: ScriptSpec = {
  script: 'bench/e2e.ts',
  title: 'end to end: signed webhook POSTs to the built daemon over loopback, against a bare uWebSockets.js server',
  about: `For each mix: (1) saturation, closed loop: requests/s, latency and CPU-µs per webhook of the
bare uWS.js server (the ceiling), the plain daemon, and each daemon variant, with autocannon and,
when installed, wrk; (2) latency at a given load, open loop (bench/loadgen-raw.ts): the daemon at
half the bare ceiling's rate and at half its own maximum.
Mixes:
${MIX_NAMES.map((m) => `  ${m}: ${MIXES[m].about}`).join('\n')}
Variants (each next to the plain daemon: memory store, no sink):
${VARIANTS.map((v) => `  ${v.name}: ${v.about}`).join('\n')}
A variant runs when \`node dist/cli.js --help\` lists its settings; by default the others are
reported "not in this build", and asking for one explicitly is an error (exit 2). Server and
generator are pinned to different CPUs where taskset works; the downstream and redis-server share
the generator's. Run \`npm run build\` first (npm run bench:e2e does).`,
  usage: ['npm run bench:e2e -- [flags]        (builds first)', 'node --import tsx bench/e2e.ts [flags]'],
  flags: [
    { name: 'quick', help: 'short runs (development; numbers are rough)' },
    { name: 'mix', arg: 'LIST', default: MIX_NAMES.join(','), help: `comma-separated mixes: ${MIX_NAMES.join(', ')}` },
    { name: 'variants', arg: 'LIST', default: 'every variant this build supports', help: `comma-separated daemon variants next to the plain daemon: ${VARIANT_NAMES.join(', ')}; or none` },
    { name: 'paced', arg: 'none|daemon|all', default: 'all; daemon with --quick', help: 'open-loop runs: none, the plain daemon only, or also the sink variants (http-sink, redis-stream)' },
    { name: 'duration', arg: 'SECONDS', default: '10; 3 with --quick', help: 'length of each measured run' },
    { name: 'connections', arg: 'N', default: '64', help: 'concurrent keep-alive connections' },
    { name: 'new-ratio', arg: 'R', default: "each mix's own: 0.5 and 0.7", help: 'share of requests with a new interactionId, for every mix (the rest repeat recent ones)' },
    { name: 'generator', arg: 'auto|autocannon|wrk', default: 'auto', help: 'load generator for the saturation runs; auto = autocannon, and wrk too when installed (chosen on the first mix)' },
    { name: 'pool', arg: 'N', default: '600000; 100000 with --quick', help: 'pre-signed request bodies per run' },
  ],
  duration: 'about 7 min on the reference machine (2 shared vCPUs) with every variant, about 2 min with --quick',
};

const args = parseArgs(SPEC);
const quick = switchArg(args, 'quick');
const durationSeconds = numberArg(args, 'duration', quick ? 3 : 10, 1);
const warmupSeconds = quick ? 1 : 3;
const connections = numberArg(args, 'connections', 64, 1);
const newRatioOverride = args.values.has('new-ratio') ? numberArg(args, 'new-ratio', 0.5, 0, 1) : undefined;
const generatorChoice = stringArg(args, 'generator', 'auto', ['auto', 'autocannon', 'wrk']);
/** Pre-signed bodies per run: enough that ids stay fresh for the whole run at ~60 k requests/s. */
const poolSize = numberArg(args, 'pool', quick ? 100_000 : 600_000, 1000);
const pacedChoice = stringArg(args, 'paced', quick ? 'daemon' : 'all', ['none', 'daemon', 'all']) as 'none' | 'daemon' | 'all';

function listArg<T extends string>(name: string, fallback: readonly T[], choices: readonly T[], none: boolean): T[] {
  const raw = stringArg(args, name, fallback.join(','));
  if (none && raw === 'none') return [];
  const items = raw.split(',').map((s) => s.trim());
  const bad = items.filter((i) => !(choices as readonly string[]).includes(i));
  if (bad.length > 0 || items.length === 0) usageError(SPEC, `--${name}: unknown ${bad.map((b) => JSON.stringify(b.slice(0, 40))).join(', ')}; choose from ${choices.join(', ')}${none ? ', or none' : ''}`);
  return [...new Set(items as T[])];
}
const mixes: Mix[] = listArg<MixName>('mix', MIX_NAMES, MIX_NAMES, false).map((m) => ({ ...MIXES[m], newRatio: newRatioOverride ?? MIXES[m].newRatio }));
const variantsExplicit = args.values.has('variants');
const variantsRequested = listArg<VariantName>('variants', VARIANT_NAMES, VARIANT_NAMES, true);

/** Which requested variants this build has; exits 2 on an explicitly requested one it lacks. */
function checkBuild(): { run: VariantSpec[]; skipped: Skipped[] } {
  const help = daemonHelp();
  if (help instanceof Error) {
    process.stderr.write(`bench/e2e.ts: cannot read the daemon's settings (${help.message}): run \`npm run build\` first (npm run bench:e2e does)\n`);
    process.exit(1);
  }
  const run: VariantSpec[] = [];
  const skipped: Skipped[] = [];
  for (const name of variantsRequested) {
    const spec = variantSpec(name);
    const missing = missingSettings(spec, help);
    if (missing.length === 0) {
      run.push(spec);
      continue;
    }
    const detail = `node dist/cli.js --help lists no ${missing.join(', ')}`;
    if (variantsExplicit) {
      process.stderr.write(`bench/e2e.ts: --variants ${name}: not in this build (${detail})\n`);
      process.exit(USAGE_EXIT);
    }
    skipped.push({ variant: name, reason: 'not in this build', detail });
  }
  return { run, skipped };
}
const build = checkBuild();

/** Sink variants, which the paced phase also measures with --paced all. */
const pacedVariant = (v: VariantSpec) => pacedChoice === 'all' && v.sink !== undefined;

/** The runs main() will make, in order: each starts a server, warms it up and measures. */
function plan(haveWrk: boolean, variants: readonly VariantSpec[]): PlannedPart[] {
  // Server start, warm-up and the run, plus building and signing the pool (a few µs per body).
  const run = 1 + warmupSeconds + durationSeconds + poolSize * 5e-6;
  const firstGenerators = generatorChoice === 'wrk' ? ['wrk'] : generatorChoice === 'auto' && haveWrk ? ['autocannon', 'wrk'] : ['autocannon'];
  const final = firstGenerators[firstGenerators.length - 1]!;
  const parts: PlannedPart[] = [];
  mixes.forEach((mix, i) => {
    for (const g of i === 0 ? firstGenerators : [final]) {
      parts.push({ what: `${mix.name}: bare uWS.js, saturation, ${g}`, seconds: run });
      parts.push({ what: `${mix.name}: daemon, saturation, ${g}`, seconds: run });
    }
    for (const v of variants) parts.push({ what: `${mix.name}: daemon (${v.name}), saturation`, seconds: run + 1 });
    if (pacedChoice !== 'none') {
      // Paced runs wait for stragglers after the run (up to 10 s when the daemon falls behind).
      parts.push({ what: `${mix.name}: daemon, half the bare ceiling's rate, paced`, seconds: run + 3 });
      if (!quick) parts.push({ what: `${mix.name}: daemon, half its own maximum, paced`, seconds: run + 3 });
      const sinks = variants.filter(pacedVariant);
      if (sinks.length > 0) parts.push({ what: `${mix.name}: daemon, half the bare ceiling's rate, paced one request per connection`, seconds: run + 3 });
      for (const v of sinks) parts.push({ what: `${mix.name}: daemon (${v.name}), half the bare ceiling's rate, paced one request per connection`, seconds: run + 4 });
    }
  });
  return parts;
}
let progress: Progress;

function wrkAvailable(): boolean {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return !r.error && /wrk/i.test(`${r.stdout}${r.stderr}`);
}

// ---- the processes under load -------------------------------------------------------------

/** A helper process of a variant, whose CPU is measured too. */
interface Helper {
  name: 'downstream' | 'redis-server';
  pid: number;
}

/** A server under load with whatever its variant needs (downstream, redis-server, outbox dir). */
interface Rig {
  server: ServerProcess;
  kind: 'bare' | 'daemon';
  variant: VariantSpec | null;
  helpers: Helper[];
  downstream?: ServerProcess;
  redis?: BenchRedis;
}

/** A variant the build turned out not to have (the daemon refused its settings as unknown). */
class NotInBuild extends Error {}

async function stopRig(rig: Partial<Rig>, outboxDir: string | undefined): Promise<void> {
  // The daemon first (it may still be delivering to the others), then its helpers.
  const steps: Array<() => Promise<void>> = [
    async () => rig.server?.stop(),
    async () => rig.downstream?.stop(),
    async () => rig.redis?.stop(),
    async () => {
      if (outboxDir) removeTempDir(outboxDir);
    },
  ];
  const errors: unknown[] = [];
  for (const step of steps) await step().catch((err: unknown) => errors.push(err));
  if (errors.length > 0) throw errors[0];
}

async function withRig<T>(kind: 'bare' | 'daemon', variant: VariantSpec | null, place: Placement, fn: (rig: Rig) => Promise<T>): Promise<T> {
  const rig: Partial<Rig> & { helpers: Helper[] } = { kind, variant, helpers: [] };
  let outboxDir: string | undefined;
  try {
    if (kind === 'bare') {
      rig.server = await startBareUws({ cpus: place.server });
    } else {
      // Helpers share the generator's CPU: see helperPlacement.
      if (variant?.downstream) {
        rig.downstream = await startDownstream({ cpus: place.generator });
        rig.helpers.push({ name: 'downstream', pid: rig.downstream.pid });
      }
      if (variant?.redis) {
        rig.redis = await startBenchRedis(place.generator);
        rig.helpers.push({ name: 'redis-server', pid: rig.redis.pid });
      }
      if (variant?.sink === 'http') outboxDir = tempDir('cxone-bench-outbox-');
      const env = variant ? variant.env({ downstreamUrl: rig.downstream?.url, outboxDir, redisUrl: rig.redis?.url }) : {};
      const port = variant?.fixedPort ? await freePort() : 0;
      try {
        rig.server = await startDaemon({ cpus: place.server, env, port, name: variant ? `daemon (${variant.name})` : 'daemon' });
      } catch (err) {
        if (variant && refusedAsUnknown(variant, (err as Error).message)) throw new NotInBuild(`the daemon refused ${variant.settings.join(', ')}: ${(err as Error).message.split('\n')[0]}`);
        throw err;
      }
    }
    return await fn(rig as Rig);
  } finally {
    await stopRig(rig, outboxDir);
  }
}

// ---- load and CPU ---------------------------------------------------------------------------

/** CPU use (in cores) during a load phase: the generator, the server, its helpers, and everything else. */
interface CpuUse {
  generator: number;
  server: number;
  helpers: Record<string, number>;
  others: number;
}

interface Watched {
  server: number;
  helpers: Helper[];
}

/**
 * Samples the generator's, the server's, the helpers' and the whole machine's CPU seconds every
 * 100 ms until the generator exits, then returns the averages over its last `windowSeconds`
 * (trimmed at both ends): the load phase, without the generator's start-up.
 */
function watchCpu(generatorPid: number, watched: Watched): (windowSeconds: number) => CpuUse {
  const pids = [generatorPid, watched.server, ...watched.helpers.map((h) => h.pid)];
  const samples: number[][] = [];
  const sample = () => {
    const g = processCpuSeconds(generatorPid);
    if (Number.isFinite(g)) samples.push([performance.now() / 1000, ...pids.map((p) => processCpuSeconds(p)), machineBusySeconds()]);
  };
  sample();
  const timer = setInterval(sample, 100);
  const none = (): CpuUse => ({ generator: Number.NaN, server: Number.NaN, helpers: {}, others: Number.NaN });
  return (windowSeconds) => {
    clearInterval(timer);
    const end = samples[samples.length - 1];
    if (!end) return none();
    const to = samples.filter((s) => s[0]! <= end[0]! - 0.3).pop() ?? end;
    const from = samples.find((s) => s[0]! >= to[0]! - windowSeconds + 0.6) ?? samples[0]!;
    const dt = to[0]! - from[0]!;
    if (!(dt > 0)) return none();
    const rate = (i: number) => (to[i]! - from[i]!) / dt;
    const helpers: Record<string, number> = {};
    watched.helpers.forEach((h, i) => (helpers[h.name] = rate(3 + i)));
    const generator = rate(1);
    const server = rate(2);
    const machine = rate(pids.length + 1);
    const helperSum = Object.values(helpers).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    return { generator, server, helpers, others: Math.max(0, machine - generator - server - helperSum) };
  };
}

function runChild(cmd: string, argv: string[], timeoutMs: number, loadSeconds: number, watched: Watched): Promise<{ stdout: string; stderr: string; cpu: CpuUse }> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    const stopCpu = watchCpu(child.pid!, watched);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${argv.slice(0, 3).join(' ')} … timed out after ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      stopCpu(loadSeconds);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const cpu = stopCpu(loadSeconds);
      if (code !== 0) reject(new Error(`${cmd} exited ${code ?? signal}; stderr: ${stderr.slice(-2000)}`));
      else resolve({ stdout, stderr, cpu });
    });
  });
}

function lastJsonLine<T>(text: string, what: string): T {
  const line = text.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${what} printed no result line; output: ${text.slice(-2000)}`);
  return JSON.parse(line) as T;
}

async function runAutocannon(place: Placement, config: LoadConfig, watched: Watched): Promise<{ result: LoadResult; cpu: CpuUse }> {
  const [cmd, argv] = pinned(place.generator, process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'loadgen-autocannon.ts'), JSON.stringify(config)]);
  const r = await runChild(cmd, argv, (config.durationSeconds + 120) * 1000, config.durationSeconds, watched);
  return { result: lastJsonLine<LoadResult>(r.stdout, 'autocannon load generator'), cpu: r.cpu };
}

interface WrkOutput {
  requests: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
}

async function runWrk(place: Placement, config: LoadConfig, watched: Watched): Promise<{ result: LoadResult; cpu: CpuUse }> {
  const dir = tempDir('cxone-bench-wrk-');
  try {
    const pool = signedPool({ count: config.pool, newRatio: config.newRatio, repeats: config.repeats, shape: config.shape, secret: config.secret, tag: config.tag });
    const file = path.join(dir, 'requests.tsv');
    writeFileSync(file, pool.bodies.map((b, i) => `${pool.signatures[i]}\t${b}\n`).join(''));
    const script = path.join(ROOT, 'bench', 'wrk', 'signed.lua');
    const wrkArgs = ['-t1', `-c${config.connections}`, `-d${config.durationSeconds}s`, '--timeout', '10s', '-s', script, config.url, '--', file, config.path];
    const [cmd, argv] = pinned(place.generator, 'wrk', wrkArgs);
    const r = await runChild(cmd, argv, (config.durationSeconds + 120) * 1000, config.durationSeconds, watched);
    const w = lastJsonLine<WrkOutput>(r.stdout, 'wrk');
    const seconds = w.durationUs / 1e6;
    const us = (v: number) => v / 1000;
    const errors = w.errors.connect + w.errors.read + w.errors.write + w.errors.timeout;
    const result: LoadResult = {
      generator: 'wrk',
      requests: w.requests,
      durationSeconds: seconds,
      requestsPerSecond: w.requests / seconds,
      latencyMs: {
        count: w.requests,
        mean: us(w.latencyUs.mean),
        p50: us(w.latencyUs.p50),
        p90: us(w.latencyUs.p90),
        p99: us(w.latencyUs.p99),
        p999: us(w.latencyUs.p999),
        max: us(w.latencyUs.max),
      },
      // wrk counts responses with status > 399; the daemon's own counters (below) are the cross-check.
      non2xx: w.errors.status,
      statusCodes: {},
      errors,
      timeouts: w.errors.timeout,
      cpuCores: r.cpu.generator,
      pool: { bodies: pool.bodies.length, newIds: pool.newIds, repeats: pool.repeats },
    };
    return { result, cpu: r.cpu };
  } finally {
    removeTempDir(dir);
  }
}

/** Open loop at `rate` requests/s with the raw paced generator (bench/loadgen-raw.ts). */
async function runPaced(
  place: Placement,
  server: ServerProcess,
  mix: Mix,
  rate: number,
  pipeline: boolean,
  watched: Watched,
): Promise<{ result: LoadResult; cpu: CpuUse; maxSendLagMs: number; latencyFromSendMs: LatencySummaryMs; waitedForConnection?: number }> {
  const config: RawLoadConfig = {
    port: server.port,
    path: WEBHOOK_PATH,
    secret: BENCH_SECRET,
    tag: randomBytes(6).toString('hex'),
    newRatio: mix.newRatio,
    repeats: mix.repeats,
    shape: mix.shape,
    connections,
    mode: 'paced',
    rate,
    pipeline,
    durationSeconds,
  };
  const [cmd, argv] = pinned(place.generator, process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'loadgen-raw.ts'), JSON.stringify(config)]);
  const r = await runChild(cmd, argv, (durationSeconds + 120) * 1000, durationSeconds, watched);
  const raw = lastJsonLine<RawLoadResult>(r.stdout, 'paced load generator');
  return {
    result: {
      generator: 'raw-paced',
      requests: raw.answered,
      durationSeconds: raw.durationSeconds,
      requestsPerSecond: raw.requestsPerSecond,
      latencyMs: raw.latencyMs,
      non2xx: raw.non2xx,
      statusCodes: raw.statusCodes,
      errors: raw.errors,
      timeouts: 0,
      unanswered: (raw.scheduled ?? raw.sent) - raw.answered - raw.errors,
      cpuCores: r.cpu.generator,
      pool: { bodies: raw.sent, newIds: 0, repeats: 0 },
    },
    cpu: r.cpu,
    maxSendLagMs: raw.maxSendLagMs,
    latencyFromSendMs: raw.latencyFromSendMs,
    ...(raw.waitedForConnection !== undefined ? { waitedForConnection: raw.waitedForConnection } : {}),
  };
}

function loadConfig(server: ServerProcess, mix: Mix, seconds: number, pool: number, tag: string, overallRate?: number): LoadConfig {
  return {
    url: server.url,
    path: WEBHOOK_PATH,
    connections,
    durationSeconds: seconds,
    pool,
    newRatio: mix.newRatio,
    repeats: mix.repeats,
    shape: mix.shape,
    secret: BENCH_SECRET,
    tag,
    ...(overallRate ? { overallRate } : {}),
  };
}

function targetName(rig: Rig): string {
  return rig.kind === 'bare' ? 'bare uWS.js' : rig.variant ? `daemon (${rig.variant.name})` : 'daemon';
}

/** How a paced run sends: several requests in flight per connection, or one at a time. */
type Pacing = 'pipelined' | 'one per connection';

async function measure(rig: Rig, mix: Mix, generator: Generator, place: Placement, phase: Phase, overallRate?: number, pacing: Pacing = 'pipelined'): Promise<Run> {
  const { server } = rig;
  const target = targetName(rig);
  const watched: Watched = { server: server.pid, helpers: rig.helpers };
  const config = loadConfig(server, mix, durationSeconds, poolSize, randomBytes(6).toString('hex'), overallRate);
  const paced = generator === 'raw-paced';
  process.stderr.write(
    `e2e: ${mix.name}, ${target}, ${generator}, ${phase}${overallRate ? ` at ${fmtRate(overallRate)}` : ''}${paced ? `, ${pacing}` : ''}, ${connections} connections, ${durationSeconds} s…\n`,
  );
  const before: StatsDoc | undefined = rig.kind === 'daemon' ? await readStats(server) : undefined;
  const redisBefore = rig.redis ? await rig.redis.commands() : undefined;
  const downstreamBefore = rig.downstream ? ((await getJson(`${rig.downstream.url}/count`)) as { requests: number }).requests : undefined;
  let sendLagMs: number | undefined;
  let fromSend: LatencySummaryMs | undefined;
  let waited: number | undefined;
  let load: { result: LoadResult; cpu: CpuUse };
  if (paced) {
    const r = await runPaced(place, server, mix, overallRate ?? 1000, pacing === 'pipelined', watched);
    sendLagMs = r.maxSendLagMs;
    fromSend = r.latencyFromSendMs;
    waited = r.waitedForConnection;
    load = r;
  } else {
    load = generator === 'wrk' ? await runWrk(place, config, watched) : await runAutocannon(place, config, watched);
  }
  const { result, cpu } = load;
  const perWebhook = (c: number) => (c / result.requestsPerSecond) * 1e6;
  const helpersUs: Record<string, number> = {};
  for (const [name, c] of Object.entries(cpu.helpers)) helpersUs[name] = perWebhook(c);
  const run: Run = {
    mix: mix.name,
    newRatio: mix.newRatio,
    phase,
    target,
    server: rig.kind,
    variant: rig.variant?.name ?? null,
    generator,
    connections,
    offeredRate: overallRate ?? null,
    requestsPerSecond: result.requestsPerSecond,
    requests: result.requests,
    latencyMs: result.latencyMs,
    non2xx: result.non2xx,
    errors: result.errors,
    unanswered: result.unanswered ?? 0,
    generatorCpuCores: cpu.generator,
    serverCpuCores: cpu.server,
    helpersCpuCores: cpu.helpers,
    othersCpuCores: cpu.others,
    cpuUsPerWebhook: { server: perWebhook(cpu.server), helpers: helpersUs },
    ...(paced ? { pacing } : {}),
    ...(sendLagMs !== undefined ? { maxSendLagMs: sendLagMs } : {}),
    ...(fromSend !== undefined ? { latencyFromSendMs: fromSend } : {}),
    ...(waited !== undefined ? { waitedForConnection: waited } : {}),
  };
  if (before) {
    const after = await readStats(server);
    run.daemon = countsBetween(before, after);
    // Every rejection but 'aborted' (the client hung up mid-upload, so nothing was answered: the
    // generator counts those as unanswered) is a non-2xx answer: trust the daemon's count.
    run.non2xx = Math.max(run.non2xx, run.daemon.rejected - (run.daemon.rejectedByReason.aborted ?? 0));
    if (rig.variant?.sink) run.delivery = deliveryBetween(before, after, rig.variant.sink);
  }
  if (rig.redis && redisBefore !== undefined) {
    const redisAfter = await rig.redis.commands();
    const commands = redisAfter.total - redisBefore.total;
    const scripts = redisAfter.scripts - redisBefore.scripts;
    const streamLength = rig.variant?.sink === 'redis-stream' ? await rig.redis.streamLength(BENCH_STREAM) : undefined;
    // Per webhook the daemon counted (the generator's count misses its start-up and tail).
    const webhooks = (run.daemon?.processed ?? 0) + (run.daemon?.deduplicated ?? 0) || result.requests;
    run.redis = {
      commands,
      scripts,
      commandsPerWebhook: commands / webhooks,
      scriptsPerWebhook: scripts / webhooks,
      ...(streamLength !== undefined ? { streamLength } : {}),
    };
    // A build that ignored the variant's settings would have measured the plain daemon under its name.
    const processed = run.daemon?.processed ?? 0;
    if (processed > 0 && !(commands >= processed * 0.5)) {
      throw new Error(`${target}: redis-server ran ${commands} commands for ${processed} new events: the daemon is not using Redis (${rig.variant!.settings.join(', ')} ignored?)`);
    }
    if (streamLength !== undefined && processed > 0 && !(streamLength > 0)) throw new Error(`${target}: stream ${BENCH_STREAM} is empty after ${processed} new events`);
  }
  if (rig.downstream && downstreamBefore !== undefined) {
    run.downstreamReceived = ((await getJson(`${rig.downstream.url}/count`)) as { requests: number }).requests - downstreamBefore;
  }
  if (run.non2xx > 0 || run.errors > 0) {
    process.stderr.write(
      `\n!!!!!!!! e2e: ${mix.name}, ${target} answered ${run.non2xx} non-2xx responses and ${run.errors} connection errors — the numbers below are NOT valid ` +
        `${run.daemon ? `(daemon rejections: ${JSON.stringify(run.daemon.rejectedByReason)})` : ''} !!!!!!!!\n\n`,
    );
  }
  if (run.unanswered > 0) {
    process.stderr.write(`e2e: ${mix.name}, ${target} fell behind the offered rate: ${run.unanswered} requests still unanswered 10 s after the run (overload, see the table)\n`);
  }
  return run;
}

async function warmUp(rig: Rig, mix: Mix, generator: Generator, place: Placement): Promise<void> {
  const config = loadConfig(rig.server, mix, warmupSeconds, 20_000, `warm-${randomBytes(4).toString('hex')}`);
  const watched: Watched = { server: rig.server.pid, helpers: rig.helpers };
  if (generator === 'wrk') await runWrk(place, config, watched);
  else await runAutocannon(place, config, watched);
}

/** Starts the server (with its variant's helpers), warms it up with `warmWith`, measures, stops everything. */
function oneRun(
  kind: 'bare' | 'daemon',
  variant: VariantSpec | null,
  mix: Mix,
  generator: Generator,
  warmWith: Generator,
  place: Placement,
  phase: Phase,
  rate?: number,
  pacing?: Pacing,
): Promise<Run> {
  return withRig(kind, variant, place, async (rig) => {
    await warmUp(rig, mix, warmWith, place);
    return measure(rig, mix, generator, place, phase, rate, pacing);
  });
}

// ---- the whole run --------------------------------------------------------------------------

/** Where the helpers go on this machine, and why (printed under the tables). */
function helperPlacement(place: Placement): string {
  if (!place.pinned) return 'The downstream and redis-server are not pinned either.';
  return (
    `The downstream and redis-server are pinned to the load generator's CPU ${place.generator}, not the daemon's: in production they run ` +
    "elsewhere, so the daemon's requests/s and CPU-µs stay its own; their CPU is measured and counted in the client core, which is flagged when it saturates."
  );
}

/** The filesystem type under the http-sink's OUTBOX_DIR (fsync costs differ between ext4, xfs, tmpfs, overlay). */
function outboxFilesystem(): string | null {
  const dir = tempDir('cxone-bench-fs-');
  try {
    const r = spawnSync('df', ['--output=fstype', dir], { encoding: 'utf8', timeout: 5000 });
    const type = r.status === 0 ? r.stdout.trim().split('\n').pop()?.trim() : undefined;
    return type ? `${type} (${path.dirname(dir)})` : null;
  } finally {
    removeTempDir(dir);
  }
}

async function main(): Promise<void> {
  stopAllOnExit('bench/e2e.ts');
  const place = placement();
  process.stderr.write(`e2e: ${place.note}\n`);
  if (!place.pinned) process.stderr.write('e2e: WARNING: without taskset the generator and the server compete for the same CPUs\n');
  for (const s of build.skipped) process.stderr.write(`e2e: variant ${s.variant}: ${s.reason} (${s.detail})\n`);
  const haveWrk = wrkAvailable();
  if (generatorChoice === 'wrk' && !haveWrk) throw new Error('--generator wrk: wrk is not installed (Debian: apt-get install wrk)');
  let variants = [...build.run];
  const skipped = [...build.skipped];
  const planned = plan(haveWrk, variants);
  progress = new Progress('e2e', planned);
  // Every part is bounded; this bounds the whole, whatever hangs.
  const budgetSeconds = Math.max(900, 3 * planned.reduce((a, p) => a + p.seconds, 0));
  setTimeout(() => {
    process.stderr.write(`\n!!!!!!!! e2e: still running after ${Math.round(budgetSeconds)} s (3× the plan): stopping everything !!!!!!!!\n`);
    process.exit(1);
  }, budgetSeconds * 1000).unref();

  const runs: Run[] = [];
  const summary: MixSummary[] = [];
  let finalGenerator: Generator | undefined;
  let generatorNote = '';

  /** Runs a variant's part, or records why it could not run (and stops trying it). */
  const variantRun = async (v: VariantSpec, fn: () => Promise<Run>): Promise<Run | undefined> => {
    try {
      return await fn();
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      if (err instanceof NotInBuild) {
        if (variantsExplicit) {
          process.stderr.write(`bench/e2e.ts: --variants ${v.name}: not in this build (${message})\n`);
          process.exit(USAGE_EXIT);
        }
        skipped.push({ variant: v.name, reason: 'not in this build', detail: message });
      } else {
        process.stderr.write(`\n!!!!!!!! e2e: variant ${v.name} failed: ${message} !!!!!!!!\n\n`);
        skipped.push({ variant: v.name, reason: 'failed', detail: message.split('\n')[0]!.slice(0, 300) });
      }
      variants = variants.filter((x) => x !== v);
      return undefined;
    }
  };

  for (const [i, mix] of mixes.entries()) {
    // Saturation: bare and plain daemon; on the first mix, the generator is chosen.
    let bare: Run;
    let daemon: Run;
    const saturation = async (g: Generator) => {
      progress.next();
      const b = await oneRun('bare', null, mix, g, g, place, 'saturation');
      progress.next();
      const d = await oneRun('daemon', null, mix, g, g, place, 'saturation');
      runs.push(b, d);
      return { bare: b, daemon: d };
    };
    if (i > 0 && finalGenerator !== undefined) {
      ({ bare, daemon } = await saturation(finalGenerator));
    } else if (generatorChoice === 'wrk') {
      ({ bare, daemon } = await saturation('wrk'));
      finalGenerator = 'wrk';
      generatorNote = 'chosen with --generator wrk.';
    } else {
      const ac = await saturation('autocannon');
      ({ bare, daemon } = ac);
      finalGenerator = 'autocannon';
      const acSaturated = ac.bare.generatorCpuCores >= SATURATED;
      generatorNote = `on the ${mix.name} mix, autocannon used ${Math.round(ac.bare.generatorCpuCores * 100)} % of its CPU for ${fmtInt(ac.bare.requestsPerSecond)} requests/s against the bare server${acSaturated ? ' (saturated: that ceiling is its own)' : ''}`;
      if (generatorChoice === 'auto' && haveWrk) {
        // Always measured with wrk too: on a shared machine autocannon can be starved without
        // looking saturated. The generator that drew the higher ceiling from the bare server wins.
        const wrk = await saturation('wrk');
        generatorNote += `; wrk (C, one thread) used ${Math.round(wrk.bare.generatorCpuCores * 100)} % of its CPU for ${fmtInt(wrk.bare.requestsPerSecond)} requests/s`;
        if (wrk.bare.requestsPerSecond > ac.bare.requestsPerSecond) {
          ({ bare, daemon } = wrk);
          finalGenerator = 'wrk';
          generatorNote += ", the higher ceiling, so the final figures (every mix's and variant's) are wrk's.";
        } else {
          generatorNote += "; autocannon drew the higher ceiling, so the final figures (every mix's and variant's) are autocannon's.";
        }
      } else if (generatorChoice === 'auto') {
        generatorNote += acSaturated ? '; wrk is not installed (apt-get install wrk), so the ceiling is understated and the ratio flatters the daemon.' : '; wrk is not installed.';
      } else {
        generatorNote += ' (--generator autocannon).';
      }
    }
    const g = finalGenerator!;

    // Each variant at saturation, with the final generator.
    const variantSat = new Map<VariantName, Run>();
    for (const v of [...variants]) {
      progress.next();
      const r = await variantRun(v, () => oneRun('daemon', v, mix, g, g, place, 'saturation'));
      if (r) {
        runs.push(r);
        variantSat.set(v.name, r);
      }
    }

    // Latency at half the bare ceiling's rate, open loop: neither autocannon (its rate limit sends
    // each second's quota in a burst) nor wrk can pace, so the raw generator does.
    const offered = Math.round(bare.requestsPerSecond * 0.5);
    let atTarget: Run | undefined;
    const variantPaced = new Map<VariantName, Run>();
    if (pacedChoice !== 'none') {
      progress.next(`${fmtRate(offered)} offered`);
      atTarget = await oneRun('daemon', null, mix, 'raw-paced', g, place, 'target load', offered);
      runs.push(atTarget);
      if (!quick) {
        // And at half of what the daemon itself carried at saturation: its latency at a sustainable load.
        const half = Math.round(daemon.requestsPerSecond * 0.5);
        progress.next(`${fmtRate(half)} offered`);
        runs.push(await oneRun('daemon', null, mix, 'raw-paced', g, place, 'half its own max', half));
      }
      // The sink variants answer each webhook once its event is durable, later than the plain
      // daemon; the daemon drops a connection that pipelines requests to them (see bench/README.md),
      // so they are paced one request per connection at a time, next to the plain daemon paced so too.
      const sinks = variants.filter(pacedVariant);
      if (sinks.length > 0) {
        progress.next(`${fmtRate(offered)} offered`);
        runs.push(await oneRun('daemon', null, mix, 'raw-paced', g, place, 'target load', offered, 'one per connection'));
      }
      for (const v of sinks) {
        progress.next(`${fmtRate(offered)} offered`);
        const r = await variantRun(v, () => oneRun('daemon', v, mix, 'raw-paced', g, place, 'target load', offered, 'one per connection'));
        if (r) {
          runs.push(r);
          variantPaced.set(v.name, r);
        }
      }
    }

    summary.push({
      mix: mix.name,
      about: mix.about,
      newRatio: mix.newRatio,
      meanBodyBytes: meanBytes(signedPool({ count: 2000, newRatio: mix.newRatio, repeats: mix.repeats, shape: mix.shape, secret: BENCH_SECRET, tag: 'size00000000' }).bodies),
      bareRequestsPerSecond: bare.requestsPerSecond,
      daemonRequestsPerSecond: daemon.requestsPerSecond,
      daemonVsBare: daemon.requestsPerSecond / bare.requestsPerSecond,
      daemonCpuUsPerWebhook: daemon.cpuUsPerWebhook.server,
      bareCpuUsPerWebhook: bare.cpuUsPerWebhook.server,
      daemonVsBareByCpu: bare.cpuUsPerWebhook.server / daemon.cpuUsPerWebhook.server,
      pacedP99Ms: atTarget ? atTarget.latencyMs.p99 : null,
      pacedOnePerConnectionP99Ms: runs.find((r) => r.mix === mix.name && r.variant === null && r.pacing === 'one per connection')?.latencyMs.p99 ?? null,
      variants: [...variantSat].map(([name, r]) => {
        // Delivered events can include the warm-up's backlog, hence the cap at 1.
        const share = r.delivery && r.daemon && r.daemon.processed > 0 ? Math.min(1, r.delivery.delivered / r.daemon.processed) : null;
        const sustained = r.requestsPerSecond * (share ?? 1);
        return {
          variant: name,
          requestsPerSecond: r.requestsPerSecond,
          deliveredShare: share !== null && Number.isFinite(share) ? share : null,
          sustainedPerSecond: sustained,
          vsDaemon: sustained / daemon.requestsPerSecond,
          vsBare: sustained / bare.requestsPerSecond,
          pacedP99Ms: variantPaced.get(name)?.latencyMs.p99 ?? null,
        };
      }),
    });
  }

  const targets = buildTargets(summary, runs, finalGenerator!);
  const data: E2eData = {
    placement: place,
    helperPlacement: helperPlacement(place),
    outboxFilesystem: build.run.some((v) => v.sink === 'http') ? outboxFilesystem() : null,
    durationSeconds,
    connections,
    poolSize,
    mixes: mixes.map((m) => m.name),
    variantsRequested,
    variantsExplicit,
    variantsRun: [...new Set(runs.map((r) => r.variant).filter((v): v is VariantName => v !== null))],
    skipped,
    paced: pacedChoice,
    runs,
    finalGenerator: finalGenerator!,
    generatorNote,
    summary,
    targets,
  };
  const markdown = renderE2e(data);
  process.stdout.write(`\n${markdown}\n\nMachine: ${machineLine(machineFacts())}\n`);
  mergeSection('e2e', { quick, markdown, data });
  progress.done();
  if (runs.some((r) => r.non2xx + r.errors > 0)) {
    process.stderr.write('\n!!!!!!!! e2e: some requests were not answered 2xx: see the table !!!!!!!!\n');
    process.exitCode = 1;
  }
  if (skipped.some((s) => s.reason === 'failed')) {
    process.stderr.write(`\n!!!!!!!! e2e: variants failed: ${skipped.filter((s) => s.reason === 'failed').map((s) => s.variant).join(', ')} !!!!!!!!\n`);
    process.exitCode = 1;
  }
}

/** Issue 12's and issue 10's targets, each a ratio measured side by side in this run. */
function buildTargets(summary: MixSummary[], runs: Run[], g: Generator): E2eData['targets'] {
  const targets: E2eData['targets'] = [];
  const share: Record<MixName, number> = { '50/50': 0.75, '70/30': 0.6 };
  for (const s of summary) {
    targets.push({
      target: `${s.mix}: daemon ≥ ${share[s.mix] * 100} % of the bare uWS.js requests/s (issue 12)`,
      value: `${(s.daemonVsBare * 100).toFixed(1)} % (${fmtInt(s.daemonRequestsPerSecond)} vs ${fmtInt(s.bareRequestsPerSecond)} /s, ${g})`,
      met: s.daemonVsBare >= share[s.mix],
    });
  }
  for (const s of summary) {
    const at = runs.find((r) => r.mix === s.mix && r.variant === null && r.phase === 'target load' && r.pacing === 'pipelined');
    if (!at) continue;
    const offered = at.offeredRate ?? Number.NaN;
    targets.push({
      target: `${s.mix}: p99 ≤ 2 ms at half the bare ceiling (${fmtRate(offered)} offered, issue 12)`,
      value:
        `p99 ${fmtMs(at.latencyMs.p99)} (p50 ${fmtMs(at.latencyMs.p50)}) at ${fmtInt(at.requestsPerSecond)} /s achieved` +
        `${at.requestsPerSecond < offered * 0.95 ? ' (below the offered rate: the daemon cannot carry it)' : ''}, scheduler lag ≤ ${fmtMs(at.maxSendLagMs ?? Number.NaN)}`,
      met: at.latencyMs.p99 <= 2 && at.requestsPerSecond >= offered * 0.95,
    });
  }
  for (const s of summary) {
    for (const v of s.variants) {
      const spec = variantSpec(v.variant);
      if (!spec.target) continue;
      targets.push({
        target: `${s.mix}: daemon with ${v.variant} ≥ ${spec.target.share * 100} % of the plain daemon's requests/s (${spec.target.issue})`,
        value:
          `${(v.vsDaemon * 100).toFixed(1)} % (${fmtInt(v.sustainedPerSecond)} vs ${fmtInt(s.daemonRequestsPerSecond)} /s` +
          `${v.deliveredShare !== null && v.deliveredShare < 1 ? `: ${fmtInt(v.requestsPerSecond)} answered, ${(v.deliveredShare * 100).toFixed(0)} % of it delivered` : ''})`,
        met: v.vsDaemon >= spec.target.share,
      });
    }
  }
  targets.push({ target: 'no non-2xx answers', value: fmtInt(runs.reduce((a, r) => a + r.non2xx + r.errors, 0)), met: runs.every((r) => r.non2xx + r.errors === 0) });
  return targets;
}

main().catch((err: unknown) => {
  process.stderr.write(`e2e benchmark failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
